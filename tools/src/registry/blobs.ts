// GET, HEAD and DELETE of blobs, with single byte ranges (RFC 9110 §14).
// https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#pulling-blobs
import { pipeline } from 'node:stream/promises';
import type { RequestContext } from './context.js';
import { RegistryError } from '../oci/errors.js';
import { formatDigest, parseDigest } from '../oci/digest.js';
import { sendEmpty } from './respond.js';

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
  const size = await store.blobs.statInRepo(name, d);
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
  // A HEAD usually means "may I skip this upload?": refresh the blob so an online gc spares it.
  if (req.method === 'HEAD') await store.blobs.touch(d);
  if (req.method === 'HEAD' || length === 0) {
    res.writeHead(status, headers);
    res.end();
    return;
  }
  const stream = store.blobs.open(d, range ?? undefined);
  // Open before answering, so a blob collected under us is a 404, not a truncated 200.
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', reject);
  }).catch(() => {
    throw new RegistryError('BLOB_UNKNOWN', `blob ${digestText} content is missing`);
  });
  res.writeHead(status, headers);
  // The download is counted as its last chunk goes out, not when the response's 'finish' fires:
  // by then the client may already have read everything and asked /metrics.
  let sent = 0;
  const countLast = async function* (source: AsyncIterable<Buffer>) {
    for await (const chunk of source) {
      sent += chunk.length;
      if (sent === length) ctx.events.publish('blobDownload', { repository: name, bytes: length });
      yield chunk;
    }
  };
  try {
    await pipeline(stream, countLast, res);
  } catch {
    stream.destroy();
    res.destroy();
  }
}

/** deleteBlob unlinks a blob from a repository (gc reclaims the content). */
export async function deleteBlob(ctx: RequestContext, name: string, digestText: string): Promise<void> {
  const d = parseDigest(digestText);
  if (!(await ctx.store.blobs.unlink(name, d))) throw new RegistryError('BLOB_UNKNOWN', `blob ${digestText} unknown in ${name}`);
  sendEmpty(ctx.res, 202, { 'Docker-Content-Digest': formatDigest(d) });
}
