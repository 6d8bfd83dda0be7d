// Referrers, client side: list the manifests whose `subject` is a given manifest with the referrers
// API, or, on a registry without it, with the referrers tag schema (an index tagged
// `<alg>-<hex>` that clients keep up to date themselves); and push a referrer so that both kinds of
// registry list it.
// https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#listing-referrers
// https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#referrers-tag-schema
import { repositoryScope } from './auth.js';
import { nextLink } from './listing.js';
import { getManifest, headManifest, putManifest } from './manifests.js';
import { withRetry } from './retry.js';
import type { RegistrySession } from './session.js';
import { discard, expectStatus, readBody } from './transport.js';
import { digestOf, parseDigest } from '../oci/digest.js';
import { MEDIA_TYPES } from '../oci/mediatypes.js';
import type { Descriptor } from '../oci/manifest.js';

/** ReferrersListing is what a subject's referrers are, and how the registry told them. */
export interface ReferrersListing {
  manifests: Descriptor[];
  /** `api`: GET /v2/<name>/referrers/<digest>; `tag`: the fallback tag schema; `none`: neither has any */
  via: 'api' | 'tag' | 'none';
}

/** MAX_REFERRERS_PAGES bounds how many pages of a referrers answer are read. */
const MAX_REFERRERS_PAGES = 100;

/**
 * referrersTag is the fallback tag for `digest`: `<alg>-<ref>`, the algorithm truncated to 32
 * characters and the reference to 64, as the spec's tag schema says (`sha256-<hex>`).
 */
export function referrersTag(digest: string): string {
  const d = parseDigest(digest);
  return `${d.algorithm.slice(0, 32)}-${d.hex.slice(0, 64)}`;
}

function parseIndex(body: Buffer): Descriptor[] {
  const doc = JSON.parse(body.toString('utf8')) as { manifests?: unknown };
  return Array.isArray(doc.manifests) ? (doc.manifests as Descriptor[]).filter((m) => m && typeof m.digest === 'string') : [];
}

/**
 * referrersFromApi asks the referrers API (every page); undefined when the registry does not
 * implement it (404, or an answer that is not an index). `artifactType` filters, on the server when
 * it says it did (OCI-Filters-Applied), else here.
 */
export async function referrersFromApi(s: RegistrySession, repo: string, subject: string, artifactType?: string): Promise<Descriptor[] | undefined> {
  const out: Descriptor[] = [];
  let path: string | undefined = `/v2/${repo}/referrers/${subject}${artifactType ? `?artifactType=${encodeURIComponent(artifactType)}` : ''}`;
  for (let page = 0; path && page < MAX_REFERRERS_PAGES; page++) {
    const current: string = path;
    const res = await withRetry(() => s.request({ method: 'GET', path: current, headers: { Accept: MEDIA_TYPES.ociIndex } }, [repositoryScope(repo, 'pull')]));
    // distribution 2.8 and other registries without the API: 404 (the route is unknown), or 400/405.
    if (page === 0 && (res.status === 404 || res.status === 400 || res.status === 405)) {
      await discard(res);
      return undefined;
    }
    await expectStatus(res, 200);
    const type = String(res.headers['content-type'] ?? '')
      .split(';')[0]!
      .trim();
    const body = await readBody(res);
    let manifests: Descriptor[];
    try {
      manifests = parseIndex(body);
    } catch {
      if (page === 0) return undefined;
      break;
    }
    if (page === 0 && type && type !== MEDIA_TYPES.ociIndex && type !== 'application/json') return undefined;
    const filtered = artifactType && !String(res.headers['oci-filters-applied'] ?? '').includes('artifactType');
    out.push(...(filtered ? manifests.filter((m) => m.artifactType === artifactType) : manifests));
    const next = nextLink(res.headers.link);
    path = next ? new URL(next, res.url).toString() : undefined;
  }
  return out;
}

/** referrersFromTag reads the fallback index of `subject` (empty when there is none). */
export async function referrersFromTag(s: RegistrySession, repo: string, subject: string, artifactType?: string): Promise<Descriptor[] | undefined> {
  const index = await getManifest(s, repo, referrersTag(subject));
  if (!index) return undefined;
  let manifests: Descriptor[];
  try {
    manifests = parseIndex(index.body);
  } catch {
    return undefined;
  }
  return artifactType ? manifests.filter((m) => m.artifactType === artifactType) : manifests;
}

/**
 * listReferrers lists what refers to `subject` in `repo`: the referrers API first, the tag schema
 * when the registry has no API (the spec's client rule), merged with it when both have entries (a
 * registry that gained the API keeps the fallback index older pushes wrote).
 */
export async function listReferrers(s: RegistrySession, repo: string, subject: string, artifactType?: string): Promise<ReferrersListing> {
  const api = await referrersFromApi(s, repo, subject, artifactType);
  if (api?.length) return { manifests: api, via: 'api' };
  const tagged = await referrersFromTag(s, repo, subject, artifactType);
  if (tagged?.length) return { manifests: tagged, via: 'tag' };
  return { manifests: [], via: api ? 'api' : 'none' };
}

/** PushedReferrer says where a referrer went and whether the fallback index had to be kept. */
export interface PushedReferrer {
  digest: string;
  /** the registry answered with OCI-Subject: it lists the referrer itself */
  registryListsIt: boolean;
  /** the fallback tag written (registries without the referrers API) */
  fallbackTag: string | undefined;
}

/**
 * putReferrer PUTs a manifest that has a `subject` by its digest. When the answer has no
 * OCI-Subject header the registry does not list referrers, and the client keeps the fallback index
 * itself: read it (empty when missing), add the descriptor unless it is there, write it back, read
 * it back (another client may have written meanwhile; then again, a few times).
 */
export async function putReferrer(
  s: RegistrySession,
  repo: string,
  manifest: Buffer,
  mediaType: string,
  subject: string,
  /** serializes this machine's read-modify-writes of the fallback index (push passes its tag lock) */
  exclusive: <T>(fn: () => Promise<T>) => Promise<T> = (fn) => fn(),
): Promise<PushedReferrer> {
  const digest = digestOf(manifest);
  const answer = await withRetry(async () => {
    const res = await s.request({ method: 'PUT', path: `/v2/${repo}/manifests/${digest}`, headers: { 'Content-Type': mediaType }, body: manifest }, [
      repositoryScope(repo, 'pull,push'),
    ]);
    await expectStatus(res, 201, 200, 202);
    await discard(res);
    return res.headers['oci-subject'];
  });
  if (typeof answer === 'string' && answer.trim()) return { digest, registryListsIt: true, fallbackTag: undefined };
  const doc = JSON.parse(manifest.toString('utf8')) as { artifactType?: string; config?: Descriptor; annotations?: Record<string, string> };
  const descriptor: Descriptor = {
    mediaType,
    digest,
    size: manifest.length,
    ...(doc.artifactType || doc.config?.mediaType ? { artifactType: doc.artifactType ?? doc.config!.mediaType } : {}),
    ...(doc.annotations ? { annotations: doc.annotations } : {}),
  };
  const tag = referrersTag(subject);
  await exclusive(() => updateFallbackIndex(s, repo, tag, descriptor));
  return { digest, registryListsIt: false, fallbackTag: tag };
}

/** updateFallbackIndex adds `descriptor` to the index tagged `tag` unless it lists it (read, add, write, read back). */
async function updateFallbackIndex(s: RegistrySession, repo: string, tag: string, descriptor: Descriptor): Promise<void> {
  const digest = descriptor.digest;
  for (let attempt = 1; ; attempt++) {
    const current = await getManifest(s, repo, tag);
    let entries: Descriptor[] = [];
    if (current) {
      try {
        entries = parseIndex(current.body);
      } catch {
        // Not an index under the schema's tag: replaced, as the spec's clients do.
      }
    }
    if (entries.some((e) => e.digest === digest)) break;
    const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: [...entries, descriptor] }));
    await putManifest(s, repo, tag, body, MEDIA_TYPES.ociIndex);
    const now = await headManifest(s, repo, tag);
    if (now?.digest === undefined || now.digest === digestOf(body) || attempt >= 4) break;
  }
}
