// Blobs as named steps: exists (HEAD) → mount or initiate (POST) → stream (PATCH) or monolithic
// PUT → commit (PUT ?digest). Content streams from disk and is reopened for each retry.
// https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#pushing-blobs
import type { Readable } from 'node:stream';
import { repositoryScope } from './auth.js';
import { RegistryHttpError } from './errors.js';
import { withRetry, type RetryOptions } from './retry.js';
import type { RegistrySession } from './session.js';
import { discard, expectStatus, type HttpResponse } from './transport.js';

/** BlobSource is content the client can open again and again (a file, a range of a tar, a buffer). */
export interface BlobSource {
  digest: string;
  size: number;
  open(): Readable;
  /** where the content lies on disk, when it does (sent without a stream: fewer allocations) */
  file?: { path: string; offset: number };
}

/** MONOLITHIC_MAX is the size up to which a blob goes in one PUT; larger ones stream in a PATCH. */
export const MONOLITHIC_MAX = 16 * 1024 * 1024;

/** BlobPushResult says what reaching the registry cost. */
export interface BlobPushResult {
  /** 'exists' (HEAD found it), 'mounted' (cross-repository), 'uploaded' */
  how: 'exists' | 'mounted' | 'uploaded';
  bytesSent: number;
}

/** BlobPushOptions tunes one blob push. */
export interface BlobPushOptions extends RetryOptions {
  /** repositories of the same registry that may hold the blob (cross-repository mount) */
  mountFrom?: string[];
  /** bytes sent so far in the current attempt (progress bars); a retry starts again from 0 */
  onProgress?: (bytesThisAttempt: number) => void;
  monolithicMax?: number;
  /** skip the HEAD (the caller already knows the blob is missing) */
  skipExists?: boolean;
}

/** blobExists asks HEAD /v2/<name>/blobs/<digest>: true on 200, false on 404. */
export async function blobExists(s: RegistrySession, repo: string, digest: string): Promise<boolean> {
  const res = await s.request({ method: 'HEAD', path: `/v2/${repo}/blobs/${digest}` }, [repositoryScope(repo, 'pull,push')]);
  await discard(res);
  if (res.status === 200) return true;
  if (res.status === 404) return false;
  await expectStatus(res, 200, 404);
  return false;
}

/** startUpload POSTs an upload (or a mount, when `from` is given): 'mounted' or the upload Location. */
export async function startUpload(s: RegistrySession, repo: string, mount?: { digest: string; from: string }): Promise<{ mounted: true } | { mounted: false; location: string }> {
  const scopes = [repositoryScope(repo, 'pull,push')];
  let path = `/v2/${repo}/blobs/uploads/`;
  if (mount) {
    path += `?mount=${encodeURIComponent(mount.digest)}&from=${encodeURIComponent(mount.from)}`;
    scopes.push(repositoryScope(mount.from, 'pull'));
  }
  const res = await s.request({ method: 'POST', path }, scopes);
  await expectStatus(res, 201, 202);
  await discard(res);
  if (res.status === 201) return { mounted: true };
  return { mounted: false, location: locationOf(res) };
}

function locationOf(res: HttpResponse): string {
  const loc = res.headers.location;
  if (!loc) throw new RegistryHttpError({ status: res.status, method: res.method, url: res.url, message: 'answer has no Location header' });
  return new URL(loc, res.url).toString();
}

function withDigest(location: string, digest: string): string {
  const u = new URL(location);
  u.searchParams.set('digest', digest);
  return u.toString();
}

function counted(open: () => Readable, onProgress: ((n: number) => void) | undefined): () => Readable {
  if (!onProgress) return open;
  return () => {
    const stream = open();
    let n = 0;
    stream.on('data', (chunk: Buffer) => {
      n += chunk.length;
      onProgress(n);
    });
    return stream;
  };
}

/** uploadContent sends a blob to an upload Location and commits it (monolithic PUT, or PATCH + PUT). */
export async function uploadContent(s: RegistrySession, repo: string, location: string, blob: BlobSource, opts: BlobPushOptions = {}): Promise<void> {
  const scopes = [repositoryScope(repo, 'pull,push')];
  const body = blob.file ? { path: blob.file.path, offset: blob.file.offset, length: blob.size, onProgress: opts.onProgress } : counted(() => blob.open(), opts.onProgress);
  const headers = { 'Content-Type': 'application/octet-stream' };
  if (blob.size <= (opts.monolithicMax ?? MONOLITHIC_MAX)) {
    const res = await s.request({ method: 'PUT', path: withDigest(location, blob.digest), headers, body, contentLength: blob.size }, scopes);
    await expectStatus(res, 201, 204);
    await discard(res);
    return;
  }
  const patch = await s.request({ method: 'PATCH', path: location, headers, body, contentLength: blob.size }, scopes);
  await expectStatus(patch, 202, 204);
  await discard(patch);
  const next = patch.headers.location ? new URL(patch.headers.location, patch.url).toString() : location;
  const put = await s.request({ method: 'PUT', path: withDigest(next, blob.digest), headers: { 'Content-Type': 'application/octet-stream' } }, scopes);
  await expectStatus(put, 201, 204);
  await discard(put);
}

/** uploadOrCancel uploads; on failure it cancels the session (best effort) so no half upload lingers until gc. */
async function uploadOrCancel(s: RegistrySession, repo: string, location: string, blob: BlobSource, opts: BlobPushOptions): Promise<void> {
  try {
    await uploadContent(s, repo, location, blob, opts);
  } catch (err) {
    s.request({ method: 'DELETE', path: location }, [repositoryScope(repo, 'pull,push')]).then(discard, () => undefined);
    throw err;
  }
}

/** pushBlob makes `blob` present in `repo`: HEAD, then mount, then upload; each retry reopens the content. */
export async function pushBlob(s: RegistrySession, repo: string, blob: BlobSource, opts: BlobPushOptions = {}): Promise<BlobPushResult> {
  if (!opts.skipExists && (await withRetry(() => blobExists(s, repo, blob.digest), opts))) return { how: 'exists', bytesSent: 0 };
  const result = await withRetry(async () => {
    for (const from of opts.mountFrom ?? []) {
      if (from === repo) continue;
      const started = await startUpload(s, repo, { digest: blob.digest, from });
      if (started.mounted) return 'mounted' as const;
      // The spec lets a registry answer a failed mount with a normal upload session: use it.
      await uploadOrCancel(s, repo, started.location, blob, { ...opts, onProgress: progress });
      return 'uploaded' as const;
    }
    const started = await startUpload(s, repo);
    if (started.mounted) return 'mounted' as const;
    await uploadOrCancel(s, repo, started.location, blob, { ...opts, onProgress: progress });
    return 'uploaded' as const;
  }, opts);
  function progress(n: number): void {
    opts.onProgress?.(n);
  }
  return { how: result, bytesSent: result === 'uploaded' ? blob.size : 0 };
}

/** getBlob opens GET /v2/<name>/blobs/<digest>, following a redirect to a storage backend. */
export async function getBlob(s: RegistrySession, repo: string, digest: string): Promise<HttpResponse> {
  let res = await s.request({ method: 'GET', path: `/v2/${repo}/blobs/${digest}` }, [repositoryScope(repo, 'pull')]);
  for (let hops = 0; [301, 302, 303, 307, 308].includes(res.status) && hops < 5; hops++) {
    const target = locationOf(res);
    await discard(res);
    // A redirect leaves the registry (S3, a CDN): its own URL authorizes, our token must not go along.
    res = await s.transport.send({ method: 'GET', url: new URL(target) });
  }
  await expectStatus(res, 200);
  return res;
}
