// Manifests: GET/HEAD/PUT/DELETE by tag or digest, with every manifest type in Accept.
// https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#pulling-manifests
import { repositoryScope } from './auth.js';
import { MANIFEST_MEDIA_TYPES } from '../oci/mediatypes.js';
import { digestOf } from '../oci/digest.js';
import { withRetry } from './retry.js';
import type { RegistrySession } from './session.js';
import { discard, expectStatus, readBody } from './transport.js';
import { expectHeadStatus } from './head.js';
import { RegistryHttpError } from './errors.js';

/** MANIFEST_ACCEPT asks for any manifest type as stored (no schema conversion). */
export const MANIFEST_ACCEPT = MANIFEST_MEDIA_TYPES.join(', ');

/** FetchedManifest is a manifest's bytes as the registry holds them. */
export interface FetchedManifest {
  body: Buffer;
  mediaType: string;
  digest: string;
}

/** ManifestHead is what HEAD tells of a manifest. */
export interface ManifestHead {
  digest: string | undefined;
  mediaType: string | undefined;
  size: number;
}

/** getManifest GETs a manifest; undefined when the registry does not know it (404). */
export async function getManifest(s: RegistrySession, repo: string, reference: string): Promise<FetchedManifest | undefined> {
  return withRetry(async () => {
    const res = await s.request({ method: 'GET', path: `/v2/${repo}/manifests/${reference}`, headers: { Accept: MANIFEST_ACCEPT } }, [
      repositoryScope(repo, 'pull'),
    ]);
    if (res.status === 404) {
      await discard(res);
      return undefined;
    }
    await expectStatus(res, 200);
    const body = await readBody(res);
    const computed = digestOf(body);
    if (reference.startsWith('sha256:') && computed !== reference) {
      throw new RegistryHttpError({
        status: 200,
        method: 'GET',
        url: res.url,
        message: `manifest digest is ${computed}, not the ${reference} asked for`,
        retryable: false,
      });
    }
    const contentType = String(res.headers['content-type'] ?? '')
      .split(';')[0]!
      .trim();
    return { body, mediaType: mediaTypeOf(body, contentType), digest: computed };
  });
}

/** mediaTypeOf trusts the manifest's own mediaType, then the Content-Type, then the shape. */
function mediaTypeOf(body: Buffer, contentType: string): string {
  try {
    const doc = JSON.parse(body.toString('utf8')) as { mediaType?: string; manifests?: unknown };
    if (doc.mediaType) return doc.mediaType;
    if (contentType && contentType !== 'application/json' && contentType !== 'text/plain') return contentType;
    return Array.isArray(doc.manifests) ? 'application/vnd.oci.image.index.v1+json' : 'application/vnd.oci.image.manifest.v1+json';
  } catch {
    return contentType;
  }
}

/** headManifest asks HEAD; undefined on 404. */
export async function headManifest(s: RegistrySession, repo: string, reference: string): Promise<ManifestHead | undefined> {
  return withRetry(async () => {
    const req = { method: 'HEAD', path: `/v2/${repo}/manifests/${reference}`, headers: { Accept: MANIFEST_ACCEPT } };
    const scopes = [repositoryScope(repo, 'pull')];
    const res = await s.request(req, scopes);
    await discard(res);
    if (res.status === 404) return undefined;
    await expectHeadStatus(s, req, scopes, res, 200);
    const digest = res.headers['docker-content-digest'];
    return {
      digest: typeof digest === 'string' ? digest : undefined,
      mediaType:
        String(res.headers['content-type'] ?? '')
          .split(';')[0]!
          .trim() || undefined,
      size: Number(res.headers['content-length'] ?? 0),
    };
  });
}

/** putManifest PUTs `body` as `mediaType` under a tag or its digest; returns the digest. */
export async function putManifest(s: RegistrySession, repo: string, reference: string, body: Buffer, mediaType: string): Promise<string> {
  return withRetry(async () => {
    const res = await s.request({ method: 'PUT', path: `/v2/${repo}/manifests/${reference}`, headers: { 'Content-Type': mediaType }, body }, [
      repositoryScope(repo, 'pull,push'),
    ]);
    await expectStatus(res, 201, 200, 202);
    await discard(res);
    return digestOf(body);
  });
}

/** deleteManifest DELETEs a tag or a digest. Statuses are the caller's to judge (405, 400, 404 mean different things). */
export async function deleteManifest(s: RegistrySession, repo: string, reference: string): Promise<{ status: number; error?: RegistryHttpError }> {
  const res = await s.request({ method: 'DELETE', path: `/v2/${repo}/manifests/${reference}` }, [
    repositoryScope(repo, 'delete'),
    repositoryScope(repo, 'pull,push'),
  ]);
  try {
    await expectStatus(res, 200, 202, 204);
    await discard(res);
    return { status: res.status };
  } catch (err) {
    if (err instanceof RegistryHttpError) return { status: res.status, error: err };
    throw err;
  }
}
