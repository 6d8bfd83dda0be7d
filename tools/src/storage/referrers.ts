// The referrers API's answer: manifests in a repository whose `subject` is a given digest.
// Computed from the revisions themselves, so storage written by another registry, or changed by gc,
// is answered correctly with no index to keep in step. Each manifest's subject is read once and
// remembered per digest (ManifestStore.subjectOf), a few at a time, so memory stays bounded however
// many manifests are stored; the answer is paged when its descriptors would pass MAX_PAGE_BYTES.
// https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#listing-referrers
import type { ManifestStore } from './manifests.js';
import { FAN_OUT, compareLexical } from './manifests.js';
import type { BlobStore } from './blobs.js';
import type { Descriptor } from '../oci/manifest.js';
import { formatDigest, type Digest } from '../oci/digest.js';
import { MAX_MANIFEST_BYTES } from '../oci/manifest.js';
import { mapLimited } from '../common/bounded.js';

/** MAX_PAGE_BYTES: a referrers answer is an index, so it stays within what a manifest may be. */
export const MAX_PAGE_BYTES = MAX_MANIFEST_BYTES;

/** ReferrersPage is one page of the answer; `next` is the last digest given when more follow. */
export interface ReferrersPage {
  manifests: Descriptor[];
  next: string | undefined;
}

/**
 * listReferrers returns descriptors of the manifests in `repo` that refer to `subject`, in digest
 * order, starting after `after` (a digest) and at most `limit` of them or MAX_PAGE_BYTES of JSON.
 */
export async function listReferrers(
  manifests: ManifestStore,
  blobs: BlobStore,
  repo: string,
  subject: Digest,
  o: { artifactType?: string; after?: string; limit?: number } = {},
): Promise<ReferrersPage> {
  const wanted = formatDigest(subject);
  const revisions = await manifests.revisions(repo);
  const subjects = await mapLimited(revisions, FAN_OUT, (d) => manifests.subjectOf(d));
  const matching = revisions
    .filter((d, i) => subjects[i] === wanted && (o.after === undefined || compareLexical(formatDigest(d), o.after) > 0))
    .sort((a, b) => compareLexical(formatDigest(a), formatDigest(b)));
  const out: Descriptor[] = [];
  let bytes = 0;
  for (let i = 0; i < matching.length; i++) {
    if (o.limit !== undefined && out.length >= o.limit) return { manifests: out, next: out[out.length - 1]?.digest };
    const desc = await describe(manifests, blobs, matching[i]!);
    if (!desc) continue; // collected by gc meanwhile, or unreadable
    if (o.artifactType !== undefined && desc.artifactType !== o.artifactType) continue;
    const size = Buffer.byteLength(JSON.stringify(desc)) + 1;
    if (out.length > 0 && bytes + size > MAX_PAGE_BYTES) return { manifests: out, next: out[out.length - 1]!.digest };
    bytes += size;
    out.push(desc);
  }
  return { manifests: out, next: undefined };
}

async function describe(manifests: ManifestStore, blobs: BlobStore, d: Digest): Promise<Descriptor | undefined> {
  const summary = await manifests.summaryOf(d);
  if (summary?.mediaType !== undefined && !summary.annotationsInBody) {
    // Everything is remembered: no need to read (or parse) the manifest again.
    const size = await blobs.size(d);
    if (size === undefined) return undefined;
    return descriptor(summary.mediaType, d, size, summary.artifactType, summary.annotations);
  }
  let body: Buffer;
  try {
    body = await blobs.read(d);
  } catch {
    return undefined;
  }
  let parsed;
  try {
    parsed = manifests.parse(d, body);
  } catch {
    return undefined;
  }
  return descriptor(parsed.mediaType, d, body.length, parsed.artifactType, parsed.annotations);
}

function descriptor(mediaType: string, d: Digest, size: number, artifactType: string | undefined, annotations: Record<string, string> | undefined): Descriptor {
  const desc: Descriptor = { mediaType, digest: formatDigest(d), size };
  if (artifactType !== undefined) desc.artifactType = artifactType;
  if (annotations !== undefined) desc.annotations = annotations;
  return desc;
}
