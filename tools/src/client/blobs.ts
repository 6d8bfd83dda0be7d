// Blobs as named steps: exists (HEAD) → resume a session an earlier push left, or mount or
// initiate (POST) → stream (PATCH) or monolithic PUT → commit (PUT ?digest). Content streams from
// disk and is reopened for each retry.
// https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#pushing-blobs
import type { Readable } from 'node:stream';
import { repositoryScope } from './auth.js';
import { RegistryHttpError } from './errors.js';
import { withRetry, type RetryOptions } from './retry.js';
import { isRetryable } from './errors.js';
import type { RegistrySession } from './session.js';
import { discard, expectStatus, type HttpResponse } from './transport.js';
import { expectHeadStatus } from './head.js';
import type { SavedUpload, UploadRecords } from './upload-records.js';

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
  /** bytes of the blob this push put on the wire (every attempt; less than its size after a resume) */
  bytesSent: number;
  /** the offset an earlier, interrupted push's session was resumed from (absent when none was) */
  resumedFrom?: number;
}

/** BlobPushOptions tunes one blob push. */
export interface BlobPushOptions extends RetryOptions {
  /** repositories of the same registry that may hold the blob (cross-repository mount) */
  mountFrom?: string[];
  /** how far into the blob the current attempt has got (progress bars): a retry may start again from 0, a resume from its offset */
  onProgress?: (position: number) => void;
  monolithicMax?: number;
  /** skip the HEAD (the caller already knows the blob is missing) */
  skipExists?: boolean;
  /** where streamed upload sessions are remembered across processes, to resume after a killed push */
  uploads?: UploadRecords;
}

/** Tally counts the bytes put on the wire for one blob. */
interface Tally {
  bytes: number;
}

/** UploadOptions are BlobPushOptions plus what one push of a blob shares between its requests. */
interface UploadOptions extends BlobPushOptions {
  tally?: Tally;
}

/** blobExists asks HEAD /v2/<name>/blobs/<digest>: true on 200, false on 404. */
export async function blobExists(s: RegistrySession, repo: string, digest: string): Promise<boolean> {
  const req = { method: 'HEAD', path: `/v2/${repo}/blobs/${digest}` };
  const scopes = [repositoryScope(repo, 'pull,push')];
  const res = await s.request(req, scopes);
  await discard(res);
  if (res.status === 200) return true;
  if (res.status === 404) return false;
  await expectHeadStatus(s, req, scopes, res, 200, 404);
  return false;
}

/** startUpload POSTs an upload (or a mount, when `from` is given): 'mounted' or the upload Location. */
export async function startUpload(
  s: RegistrySession,
  repo: string,
  mount?: { digest: string; from: string },
): Promise<{ mounted: true } | { mounted: false; location: string }> {
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

function counted(open: () => Readable, onProgress: (n: number) => void): () => Readable {
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

/** uploadStatus asks GET <upload location> how many bytes the registry holds (`Range: 0-<last>`). */
export async function uploadStatus(s: RegistrySession, repo: string, location: string): Promise<{ offset: number; location: string }> {
  const res = await s.request({ method: 'GET', path: location }, [repositoryScope(repo, 'pull,push')]);
  await expectStatus(res, 204);
  await discard(res);
  // distribution answers "0--1" for an empty upload
  const m = /^0-(-?\d+)$/.exec(String(res.headers.range ?? '').trim());
  if (!m)
    throw new RegistryHttpError({
      status: res.status,
      method: res.method,
      url: res.url,
      message: `upload status has no usable Range header (${res.headers.range ?? 'none'})`,
    });
  return { offset: Number(m[1]) + 1, location: nextLocation(res, location) };
}

/** nextLocation is where an upload goes on after `res`: its Location header, else where it was. */
function nextLocation(res: HttpResponse, current: string): string {
  return res.headers.location ? new URL(res.headers.location, res.url).toString() : current;
}

/** bodyOf is the blob's content from byte `from`: a file range, or (from 0 only) a fresh stream; sent bytes go to the tally. */
function bodyOf(blob: BlobSource, from: number, opts: UploadOptions) {
  let last = 0;
  const progress = (n: number) => {
    if (opts.tally) opts.tally.bytes += n - last;
    last = n;
    opts.onProgress?.(from + n);
  };
  if (!blob.file) return counted(() => blob.open(), progress);
  return { path: blob.file.path, offset: blob.file.offset + from, length: blob.size - from, onProgress: progress };
}

/**
 * uploadContent sends a blob to an upload Location and commits it (monolithic PUT, or PATCH + PUT).
 * With `from`, the session already holds the blob's first `from` bytes: only the rest goes.
 */
export async function uploadContent(s: RegistrySession, repo: string, location: string, blob: BlobSource, opts: UploadOptions = {}, from = 0): Promise<void> {
  const scopes = [repositoryScope(repo, 'pull,push')];
  const headers = { 'Content-Type': 'application/octet-stream' };
  if (from === 0 && !streamed(blob, opts)) {
    const res = await s.request(
      { method: 'PUT', path: withDigest(location, blob.digest), headers, body: bodyOf(blob, 0, opts), contentLength: blob.size },
      scopes,
    );
    await expectStatus(res, 201, 204);
    await discard(res);
    return;
  }
  const next = from >= blob.size ? location : await patchBlob(s, repo, location, blob, opts, from);
  const put = await s.request({ method: 'PUT', path: withDigest(next, blob.digest), headers }, scopes);
  await expectStatus(put, 201, 204);
  await discard(put);
}

/**
 * patchBlob streams a blob in one PATCH and returns the Location to go on with. When that is cut
 * and the content lies in a file, a registry that keeps what arrived (ours does) tells how much in
 * the upload's status: only the rest goes, with a Content-Range, instead of the whole blob again.
 * A registry that has no usable status after a cut (distribution 2.8 answers 404) gets the first
 * error back, and pushBlob's retry starts the blob over. A 416 on the rest (the status raced the
 * cut request) asks again.
 */
async function patchBlob(s: RegistrySession, repo: string, location: string, blob: BlobSource, opts: UploadOptions, from = 0): Promise<string> {
  const attempts = opts.attempts ?? 4;
  const scopes = [repositoryScope(repo, 'pull,push')];
  let at = location;
  let offset = from;
  let firstCut: unknown;
  for (let attempt = 1; ; attempt++) {
    try {
      const headers: Record<string, string> = { 'Content-Type': 'application/octet-stream' };
      if (offset > 0) headers['Content-Range'] = `${offset}-${blob.size - 1}`;
      const patch = await s.request({ method: 'PATCH', path: at, headers, body: bodyOf(blob, offset, opts), contentLength: blob.size - offset }, scopes);
      await expectStatus(patch, 202, 204);
      await discard(patch);
      return nextLocation(patch, at);
    } catch (err) {
      const refused = err instanceof RegistryHttpError && err.status === 416;
      // Only content that lies in a file can go on from the middle.
      if (!blob.file || (!isRetryable(err) && !refused) || attempt >= attempts) throw refused && firstCut ? firstCut : err;
      firstCut ??= err;
      const status = await uploadStatus(s, repo, at).catch(() => undefined);
      if (!status || status.offset > blob.size) throw firstCut;
      // Everything arrived before the cut: only the commit is left.
      if (status.offset === blob.size) return status.location;
      opts.onRetry?.(attempt + 1, err);
      offset = status.offset;
      at = status.location;
    }
  }
}

/** streamed tells whether a blob goes in PATCH (larger than the monolithic limit) rather than one PUT. */
function streamed(blob: BlobSource, opts: BlobPushOptions): boolean {
  return blob.size > (opts.monolithicMax ?? MONOLITHIC_MAX);
}

/** cancelUpload DELETEs an upload session; true when the registry no longer has it (2xx or 404). Never throws. */
async function cancelUpload(s: RegistrySession, repo: string, location: string): Promise<boolean> {
  try {
    const res = await s.request({ method: 'DELETE', path: location }, [repositoryScope(repo, 'pull,push')]);
    await discard(res);
    return (res.status >= 200 && res.status < 300) || res.status === 404;
  } catch {
    return false;
  }
}

/**
 * uploadOrCancel uploads; on failure it cancels the session (best effort) so no half upload
 * lingers until gc. A streamed session is recorded before its first byte (when `opts.uploads` is
 * given) and forgotten once committed or cancelled; a record whose cancel did not get through stays,
 * so the next push resumes the session or learns it is gone.
 */
async function uploadOrCancel(
  s: RegistrySession,
  repo: string,
  location: string,
  blob: BlobSource,
  opts: UploadOptions,
  from = 0,
  saved?: SavedUpload,
): Promise<void> {
  const records = blob.file && streamed(blob, opts) ? opts.uploads : undefined;
  saved ??= records && (await records.save({ registry: (await s.baseUrl()).origin, repository: repo, digest: blob.digest, size: blob.size, location }));
  try {
    await uploadContent(s, repo, location, blob, opts, from);
  } catch (err) {
    const cancelled = cancelUpload(s, repo, location).then((gone) => (gone ? records?.forget(saved) : undefined));
    // An error no retry mends ends the command: the session goes before it does, not left to gc.
    if (!isRetryable(err)) await cancelled;
    throw err;
  }
  await records?.forget(saved);
}

/**
 * resumeSaved goes on with a session an earlier push of this blob left behind (killed mid-upload):
 * it asks the session's status, and on 204 with a Range sends the rest from that offset and commits.
 * It returns the offset resumed from, or undefined when there was nothing to resume: no record, a
 * session the registry no longer knows (404: committed, cancelled, collected; distribution 2.8
 * answers so for any session cut mid-PATCH, "upload resumed at wrong offset"), an unusable answer,
 * or a failure on the way. The caller then starts over as without records.
 */
async function resumeSaved(s: RegistrySession, repo: string, blob: BlobSource, records: UploadRecords, opts: UploadOptions): Promise<number | undefined> {
  const registry = (await s.baseUrl()).origin;
  const record = await records.take(registry, repo, blob.digest, blob.size);
  if (!record) return undefined;
  let status: { offset: number; location: string };
  try {
    status = await uploadStatus(s, repo, record.location);
  } catch (err) {
    // Not known dead: cancel it so it does not linger (best effort; the record is gone either way).
    if (!(err instanceof RegistryHttpError && err.status === 404)) void cancelUpload(s, repo, record.location);
    return undefined;
  }
  // `0-0` means no byte or one (distribution and ours answer so for an empty session): start over.
  if (status.offset <= 1 || status.offset > blob.size) {
    void cancelUpload(s, repo, status.location);
    return undefined;
  }
  // This process owns the session now: recorded again first, so another kill resumes it too.
  const saved = await records.save({ registry, repository: repo, digest: blob.digest, size: blob.size, location: status.location });
  try {
    await uploadOrCancel(s, repo, status.location, blob, opts, status.offset, saved);
    return status.offset;
  } catch (err) {
    // A 401/403 would fail a fresh upload the same way: it goes up. Anything else (a 416 or a
    // DIGEST_INVALID on what the session held, a cut the status cannot mend) is cured by starting
    // over; a registry that is down fails that too, and pushBlob's retry takes it from there.
    if (err instanceof RegistryHttpError && (err.status === 401 || err.status === 403)) throw err;
    return undefined;
  }
}

/** pushBlob makes `blob` present in `repo`: HEAD, then resume, mount or upload; each retry reopens the content. */
export async function pushBlob(s: RegistrySession, repo: string, blob: BlobSource, opts: BlobPushOptions = {}): Promise<BlobPushResult> {
  if (!opts.skipExists && (await withRetry(() => blobExists(s, repo, blob.digest), opts))) return { how: 'exists', bytesSent: 0 };
  const upload: UploadOptions = { ...opts, tally: { bytes: 0 } };
  // Only content that lies in a file can go on from the middle, and only a streamed one is recorded.
  const records = blob.file && streamed(blob, opts) ? opts.uploads : undefined;
  let resumedFrom: number | undefined;
  const how = await withRetry(async () => {
    // Step 2a, resume: a session an earlier, killed push of this blob left (before a mount: a
    // mount source exists only for a blob this run pushed elsewhere, and this way nothing is orphaned).
    if (records) {
      resumedFrom = await resumeSaved(s, repo, blob, records, upload);
      if (resumedFrom !== undefined) return 'uploaded' as const;
    }
    for (const from of opts.mountFrom ?? []) {
      if (from === repo) continue;
      const started = await startUpload(s, repo, { digest: blob.digest, from });
      if (started.mounted) return 'mounted' as const;
      // The spec lets a registry answer a failed mount with a normal upload session: use it.
      await uploadOrCancel(s, repo, started.location, blob, upload);
      return 'uploaded' as const;
    }
    const started = await startUpload(s, repo);
    if (started.mounted) return 'mounted' as const;
    await uploadOrCancel(s, repo, started.location, blob, upload);
    return 'uploaded' as const;
  }, opts);
  if (how !== 'uploaded') return { how, bytesSent: 0 };
  return { how, bytesSent: upload.tally!.bytes, ...(resumedFrom !== undefined ? { resumedFrom } : {}) };
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
