// referrers IMAGE: what refers to an image (SBOMs, provenance, signatures: OCI 1.1 referrers), and
// fetching one artifact's document. A tag holding an index is looked at per platform, since push
// attaches its artifacts to each platform's manifest (and the index's own referrers are listed too).
import { getBlob } from '../client/blobs.js';
import { getManifest } from '../client/manifests.js';
import { listReferrers } from '../client/referrers.js';
import type { RegistrySession } from '../client/session.js';
import { readBody } from '../client/transport.js';
import { HelperError } from '../errors/helper-error.js';
import { digestOf } from '../oci/digest.js';
import { parseManifest, type Descriptor } from '../oci/manifest.js';
import { isIndexMediaType } from '../oci/mediatypes.js';
import { platformKey } from '../oci/platform.js';
import { IN_TOTO_PAYLOAD_TYPE } from '../supply/provenance.js';
import { MAX_SPDX_BYTES, SPDX_ARTIFACT_TYPE } from '../supply/sbom.js';
import { TRACE_ARTIFACT_TYPE } from '../trace/events.js';

/** TYPE_ALIASES are the short names `--type` takes for the artifact types push attaches. */
export const TYPE_ALIASES: Readonly<Record<string, string>> = {
  sbom: SPDX_ARTIFACT_TYPE,
  spdx: SPDX_ARTIFACT_TYPE,
  provenance: IN_TOTO_PAYLOAD_TYPE,
  'in-toto': IN_TOTO_PAYLOAD_TYPE,
  'build-trace': TRACE_ARTIFACT_TYPE,
};

/** artifactTypeOf expands an alias (sbom, provenance, build-trace) to its media type; anything else is taken as is. */
export function artifactTypeOf(type: string): string {
  return TYPE_ALIASES[type.toLowerCase()] ?? type;
}

/** ReferrerEntry is one referrer of one subject. */
export interface ReferrerEntry {
  /** the manifest referred to */
  subject: string;
  /** its platform, for a platform of an index */
  platform: string | undefined;
  artifactType: string | undefined;
  digest: string;
  mediaType: string;
  /** the referrer manifest's size, as the listing gives it */
  size: number;
  created: string | undefined;
  annotations: Record<string, string>;
  /** how the registry told it: its referrers API, or the fallback tag schema */
  via: 'api' | 'tag';
}

/** Subject is a manifest whose referrers are asked for. */
interface Subject {
  digest: string;
  platform: string | undefined;
}

/** subjectsOf resolves `reference`: its manifest, and for an index each platform's manifest too. */
export async function subjectsOf(s: RegistrySession, repository: string, reference: string): Promise<Subject[]> {
  const top = await getManifest(s, repository, reference);
  if (!top) throw new HelperError('not-found', `${repository}${reference.includes(':') ? '@' : ':'}${reference} does not exist`);
  const out: Subject[] = [{ digest: top.digest, platform: undefined }];
  if (isIndexMediaType(top.mediaType)) {
    for (const m of parseManifest(top.body, top.mediaType).manifests) {
      if (m.platform?.architecture === 'unknown') continue;
      out.push({ digest: m.digest, platform: m.platform ? platformKey(m.platform) : undefined });
    }
  }
  return out;
}

function entry(subject: Subject, d: Descriptor, via: 'api' | 'tag'): ReferrerEntry {
  return {
    subject: subject.digest,
    platform: subject.platform,
    artifactType: d.artifactType,
    digest: d.digest,
    mediaType: d.mediaType,
    size: d.size,
    created: d.annotations?.['org.opencontainers.image.created'],
    annotations: d.annotations ?? {},
    via,
  };
}

/** referrersOfSubjects lists the referrers of each subject (optionally of one artifact type). */
export async function referrersOfSubjects(s: RegistrySession, repository: string, subjects: Subject[], artifactType?: string): Promise<ReferrerEntry[]> {
  const out: ReferrerEntry[] = [];
  for (const subject of subjects) {
    const listing = await listReferrers(s, repository, subject.digest, artifactType);
    for (const d of listing.manifests) out.push(entry(subject, d, listing.via === 'tag' ? 'tag' : 'api'));
  }
  return out;
}

/** imageReferrers lists every referrer of `repository:reference` (and of its platforms). */
export async function imageReferrers(s: RegistrySession, repository: string, reference: string, artifactType?: string): Promise<ReferrerEntry[]> {
  return referrersOfSubjects(s, repository, await subjectsOf(s, repository, reference), artifactType);
}

/**
 * chooseReferrer picks the one referrer to fetch: of the platform asked (or the only platform that
 * has one), the newest by its created annotation. Ambiguity is an error naming the choices.
 */
export function chooseReferrer(entries: ReferrerEntry[], what: string, platform?: string): ReferrerEntry {
  let pool = entries;
  if (platform) pool = pool.filter((e) => e.platform === platform);
  if (!pool.length) throw new HelperError('not-found', `no ${what}${platform ? ` for platform ${platform}` : ''}`);
  const platforms = [...new Set(pool.map((e) => e.platform ?? '(the image itself)'))];
  if (platforms.length > 1) throw new HelperError('usage', `${what} exists for several platforms (${platforms.join(', ')}): choose one with --platform`);
  return [...pool].sort((a, b) => (b.created ?? '').localeCompare(a.created ?? '') || a.digest.localeCompare(b.digest))[0]!;
}

/** FetchedDocument is one layer of an artifact, its bytes checked against its digest. */
export interface FetchedDocument {
  referrer: string;
  layer: Descriptor;
  content: Buffer;
}

/** fetchArtifactLayer reads layer `index` (default the first: the document) of the artifact manifest `digest`. */
export async function fetchArtifactLayer(s: RegistrySession, repository: string, digest: string, index = 0): Promise<FetchedDocument> {
  const m = await getManifest(s, repository, digest);
  if (!m) throw new HelperError('not-found', `${repository}@${digest} does not exist`);
  const parsed = parseManifest(m.body, m.mediaType);
  const layers = parsed.isIndex ? [] : parsed.blobs.slice(1);
  const layer = layers[index];
  if (!layer) throw new HelperError('not-found', `${repository}@${digest} has no layer ${index + 1} (it has ${layers.length})`);
  if (layer.size > MAX_SPDX_BYTES)
    throw new HelperError('registry', `${layer.digest} is ${layer.size} bytes, more than the ${MAX_SPDX_BYTES} this command reads`);
  const content = await readBody(await getBlob(s, repository, layer.digest), MAX_SPDX_BYTES);
  if (digestOf(content) !== layer.digest) throw new HelperError('registry', `the blob served for ${layer.digest} has the digest ${digestOf(content)}`);
  return { referrer: digest, layer, content };
}
