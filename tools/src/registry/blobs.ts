// GET, HEAD and DELETE of blobs, with single byte ranges (RFC 9110 §14).
// https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#pulling-blobs
import type { ServerResponse } from 'node:http';
import type { RequestContext } from './context.js';
import { RegistryError } from '../oci/errors.js';
import { formatDigest, parseDigest } from '../oci/digest.js';
import { sendEmpty } from './respond.js';
import type { FileReader } from '../storage/driver.js';

/** parseRange reads `bytes=a-b`, `bytes=a-` or `bytes=-n` against `size`; null = ignore the header. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | null {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null; // malformed or multi-range: serve the whole blob
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== '' && Number(m[2]) < start) return null;
  }
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

/** getBlob answers GET and HEAD of a blob. */
export async function getBlob(ctx: RequestContext, name: string, digestText: string): Promise<void> {
  const { req, res, store } = ctx;
  const d = parseDigest(digestText);
  // A HEAD usually means "may I skip this upload?": claim the blob so an online gc spares it.
  const size = req.method === 'HEAD' ? await store.blobs.claim(name, d) : await store.blobs.statInRepo(name, d);
  if (size === undefined) throw new RegistryError('BLOB_UNKNOWN', `blob ${digestText} unknown in ${name}`);
  const digest = formatDigest(d);
  const headers: Record<string, string> = {
    'Content-Type': 'application/octet-stream',
    'Docker-Content-Digest': digest,
    ETag: `"${digest}"`,
    'Accept-Ranges': 'bytes',
    'Cache-Control': 'max-age=31536000',
  };
  const range = parseRange(req.headers.range, size);
  if (range === 'unsatisfiable') {
    throw new RegistryError('RANGE_INVALID', `range ${req.headers.range} not satisfiable for ${size} bytes`, {
      status: 416,
      headers: { 'Content-Range': `bytes */${size}` },
    });
  }
  const status = range ? 206 : 200;
  const length = range ? range.end - range.start + 1 : size;
  headers['Content-Length'] = String(length);
  if (range) headers['Content-Range'] = `bytes ${range.start}-${range.end}/${size}`;
  if (req.method === 'HEAD' || length === 0) {
    res.writeHead(status, headers);
    res.end();
    return;
  }
  // Where the storage says so (an s3:// URL with redirect=true), the client fetches the object from
  // the store itself: only a blob this store holds, found above, ever gets a presigned URL.
  const redirect = store.driver.redirectUrl && (await store.driver.redirectUrl(store.paths.blobData(d)));
  if (redirect) {
    res.writeHead(307, { Location: redirect, 'Docker-Content-Digest': digest, 'Content-Length': '0', 'Cache-Control': 'no-store' });
    res.end();
    ctx.events.publish('blobDownload', { repository: name, bytes: length });
    return;
  }
  // Open before answering, so a blob collected under us is a 404, not a truncated 200.
  const reader = await store.blobs.openReader(d).catch(() => {
    throw new RegistryError('BLOB_UNKNOWN', `blob ${digestText} content is missing`);
  });
  try {
    res.writeHead(status, headers);
    // The download is counted as its last chunk is read, not when the response's 'finish' fires:
    // by then the client may already have read everything and asked /metrics.
    await sendFileRange(res, reader, range?.start ?? 0, length, () => ctx.events.publish('blobDownload', { repository: name, bytes: length }));
  } catch {
    res.destroy();
  } finally {
    await reader.close().catch(() => {});
  }
}

/** SEND_CHUNK is the size of one read of a blob GET (two such buffers per transfer). */
const SEND_CHUNK = 1024 * 1024;

/**
 * sendFileRange writes `length` bytes of `reader` from `start` to `res` and ends it; `onLast` runs
 * when the last bytes are read, before they are written.
 *
 * Two buffers, allocated once per transfer, take turns: one is read into while the other is being
 * written. A ReadStream piped into the response allocated a fresh 1 MiB buffer per read instead:
 * 1,024 per GiB, each faulted in and zeroed by the kernel (`clear_page_erms`, ~6% of the server's
 * CPU pulling a layer in `perf record`), then collected by V8. A buffer is reused only once its
 * write's callback has run, that is once the kernel holds its bytes. Rejects when the client goes
 * away or the file ends early (the response is then destroyed by the caller).
 */
export async function sendFileRange(res: ServerResponse, reader: FileReader, start: number, length: number, onLast: () => void): Promise<void> {
  const size = Math.min(SEND_CHUNK, length);
  let buffer = Buffer.allocUnsafeSlow(size);
  let spare = Buffer.allocUnsafeSlow(size);
  let writing: Promise<void> | undefined;
  let position = start;
  let left = length;
  while (left > 0) {
    const n = await reader.read(buffer, Math.min(size, left), position);
    if (n === 0) throw new Error(`file ended ${left} bytes early`);
    position += n;
    left -= n;
    if (left === 0) onLast();
    // The other buffer's write must be done before this one goes out (and before the next read into it).
    await writing;
    writing = writeChunk(res, n === size ? buffer : buffer.subarray(0, n));
    // Handled now: it may reject (the client left) while the next read is in flight, and is awaited after it.
    writing.catch(() => {});
    [buffer, spare] = [spare, buffer];
  }
  await writing;
  res.end();
}

/** writeChunk writes one chunk to the response; resolves once the kernel has it, rejects when the response closes first. */
function writeChunk(res: ServerResponse, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const closed = () => reject(new Error('the response closed before the chunk was written'));
    res.once('close', closed);
    res.write(chunk, (err) => {
      res.off('close', closed);
      if (err) reject(err);
      else resolve();
    });
  });
}

/** deleteBlob unlinks a blob from a repository (gc reclaims the content). */
export async function deleteBlob(ctx: RequestContext, name: string, digestText: string): Promise<void> {
  const d = parseDigest(digestText);
  if (!(await ctx.store.blobs.unlink(name, d))) throw new RegistryError('BLOB_UNKNOWN', `blob ${digestText} unknown in ${name}`);
  sendEmpty(ctx.res, 202, { 'Docker-Content-Digest': formatDigest(d) });
}
