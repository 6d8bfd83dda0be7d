// The referrers API's answer: manifests in a repository whose `subject` is a given digest.
// Computed from the revisions themselves (parsed once per digest), so storage written by another
// registry, or changed by gc, is answered correctly with no index to keep in step.
// https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#listing-referrers
import type { ManifestStore } from './manifests.js';
import type { BlobStore } from './blobs.js';
import type { Descriptor } from '../oci/manifest.js';
import { formatDigest, type Digest } from '../oci/digest.js';

/** listReferrers returns descriptors of the manifests in `repo` that refer to `subject`. */
export async function listReferrers(
  manifests: ManifestStore,
  blobs: BlobStore,
  repo: string,
  subject: Digest,
  artifactType?: string,
): Promise<Descriptor[]> {
  const wanted = formatDigest(subject);
  const out: Descriptor[] = [];
  for (const d of await manifests.revisions(repo)) {
    let body: Buffer;
    try {
      body = await blobs.read(d);
    } catch {
      continue; // content collected by gc: not a referrer any more
    }
    let parsed;
    try {
      parsed = manifests.parse(d, body);
    } catch {
      continue;
    }
    if (parsed.subject?.digest !== wanted) continue;
    if (artifactType !== undefined && parsed.artifactType !== artifactType) continue;
    const desc: Descriptor = { mediaType: parsed.mediaType, digest: formatDigest(d), size: body.length };
    if (parsed.artifactType !== undefined) desc.artifactType = parsed.artifactType;
    if (parsed.annotations !== undefined) desc.annotations = parsed.annotations;
    out.push(desc);
  }
  return out.sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
}
