// Blob uploads: POST (start, single-request with ?digest, or cross-repository mount), PATCH
// (chunked with Content-Range, or streamed), PUT (commit), GET (status), DELETE (cancel).
// https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#pushing-blobs
import type { RequestContext } from './context.js';
import { RegistryError } from '../oci/errors.js';
import { formatDigest, parseDigest } from '../oci/digest.js';
import { isValidRepositoryName } from '../oci/names.js';
import { sendEmpty } from './respond.js';
import type { ChunkRange, UploadState } from '../storage/uploads.js';

function uploadHeaders(name: string, state: UploadState): Record<string, string> {
  return {
    Location: `/v2/${name}/blobs/uploads/${state.id}`,
    // distribution answers 0-0 for an empty upload; clients parse it as "nothing yet"
    Range: `0-${Math.max(0, state.size - 1)}`,
    'Docker-Upload-UUID': state.id,
  };
}

function committedHeaders(name: string, digest: string): Record<string, string> {
  return { Location: `/v2/${name}/blobs/${digest}`, 'Docker-Content-Digest': digest };
}

/** parseContentRange reads `start-end` (the spec's form) or `bytes start-end/total`. */
export function parseContentRange(header: string | undefined): ChunkRange | undefined {
  if (header === undefined) return undefined;
  const m = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(header.trim());
  if (!m) throw new RegistryError('RANGE_INVALID', `malformed Content-Range ${JSON.stringify(header.slice(0, 60))}`, { status: 416 });
  const range = { start: Number(m[1]), end: Number(m[2]) };
  if (range.end < range.start) throw new RegistryError('RANGE_INVALID', 'Content-Range ends before it starts', { status: 416 });
  return range;
}

function hasBody(ctx: RequestContext): boolean {
  const len = ctx.req.headers['content-length'];
  if (len !== undefined) return Number(len) > 0;
  return ctx.req.headers['transfer-encoding'] !== undefined;
}

/** startUpload answers POST /v2/<name>/blobs/uploads/. */
export async function startUpload(ctx: RequestContext, name: string): Promise<void> {
  const { store, url, res, req } = ctx;
  const mount = url.searchParams.get('mount');
  const from = url.searchParams.get('from');
  if (mount !== null && from !== null) {
    const d = parseDigest(mount);
    if (isValidRepositoryName(from) && (await ctx.mayPull(from)) && (await store.blobs.claim(from, d)) !== undefined) {
      req.resume();
      await store.blobs.link(name, d, { claimed: true });
      sendEmpty(res, 201, committedHeaders(name, formatDigest(d)));
      return;
    }
    // The source lacks it (or may not be read): fall back to a normal upload, as the spec allows.
  }
  const digestParam = url.searchParams.get('digest');
  const d = digestParam === null ? undefined : parseDigest(digestParam);
  const state = await store.uploads.create(name);
  try {
    if (d) {
      const { size } = await store.uploads.commit(name, state.id, d, req, undefined, { fresh: true });
      sendEmpty(res, 201, committedHeaders(name, formatDigest(d)));
      ctx.events.publish('blobUpload', { repository: name, bytes: size });
      return;
    }
    if (hasBody(ctx)) {
      await store.uploads.append(name, state.id, req);
      sendEmpty(res, 202, uploadHeaders(name, await store.uploads.status(name, state.id)));
      return;
    }
  } catch (err) {
    // The client never learnt this session's id, so nobody can resume it: drop it now, not in 7 days.
    await store.uploads.cancel(name, state.id).catch(() => {});
    throw err;
  }
  req.resume();
  sendEmpty(res, 202, uploadHeaders(name, state));
}

/** patchUpload answers PATCH: a chunk at the end (416 when it does not start there). */
export async function patchUpload(ctx: RequestContext, name: string, id: string): Promise<void> {
  const { store, req, res } = ctx;
  const range = parseContentRange(req.headers['content-range']);
  try {
    const state = await store.uploads.append(name, id, req, range);
    sendEmpty(res, 202, uploadHeaders(name, state));
  } catch (err) {
    if (err instanceof RegistryError && err.code === 'RANGE_INVALID') {
      const state = await store.uploads.status(name, id);
      throw new RegistryError('RANGE_INVALID', err.message, { status: 416, headers: uploadHeaders(name, state) });
    }
    throw err;
  }
}

/** finishUpload answers PUT ?digest=: an optional last chunk, then verify and commit. */
export async function finishUpload(ctx: RequestContext, name: string, id: string): Promise<void> {
  const { store, req, res, url } = ctx;
  const digestParam = url.searchParams.get('digest');
  if (digestParam === null) throw new RegistryError('DIGEST_INVALID', 'digest query parameter is required');
  const d = parseDigest(digestParam);
  const range = parseContentRange(req.headers['content-range']);
  let committed: { size: number };
  if (hasBody(ctx)) {
    committed = await store.uploads.commit(name, id, d, req, range);
  } else {
    req.resume();
    committed = await store.uploads.commit(name, id, d);
  }
  sendEmpty(res, 201, committedHeaders(name, formatDigest(d)));
  ctx.events.publish('blobUpload', { repository: name, bytes: committed.size });
}

/** uploadStatus answers GET of an upload: 204 with its Range. */
export async function uploadStatus(ctx: RequestContext, name: string, id: string): Promise<void> {
  const state = await ctx.store.uploads.status(name, id);
  sendEmpty(ctx.res, 204, uploadHeaders(name, state));
}

/** cancelUpload answers DELETE of an upload. */
export async function cancelUpload(ctx: RequestContext, name: string, id: string): Promise<void> {
  await ctx.store.uploads.cancel(name, id);
  sendEmpty(ctx.res, 204);
}
