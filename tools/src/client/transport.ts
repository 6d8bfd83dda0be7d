// HTTP for the client: node:http/node:https with keep-alive agents (one TCP/TLS connection per
// parallel upload, reused across requests), bodies streamed, never buffered whole.
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import type https from 'node:https';
import { createRequire } from 'node:module';
import { open } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { BlobSourceError, NetworkError, RegistryHttpError, parseDiagnostics } from './errors.js';
import { BodyTooLarge, readBounded } from '../common/bounded.js';

/** TlsSettings says how to verify a registry's certificate. */
export interface TlsSettings {
  /** extra CA certificates (PEM), added to Node's bundled roots */
  ca?: Buffer[];
  /** skip verification (and allow plain HTTP): --insecure */
  insecure?: boolean;
  /** allow plain HTTP when the registry does not speak TLS, still verifying when it does (loopback) */
  allowHttp?: boolean;
}

/** FileBody is a byte range of a file, sent through two reused buffers (no per-chunk allocation, little GC). */
export interface FileBody {
  path: string;
  offset: number;
  length: number;
  onProgress?: (sent: number) => void;
}

/** HttpRequest is one request; a body is a buffer, a file range, or a factory that opens a fresh stream (retries). */
export interface HttpRequest {
  method: string;
  url: URL;
  headers?: Record<string, string>;
  body?: Buffer | FileBody | (() => Readable);
  /** required with a stream body (registries want Content-Length, not chunked) */
  contentLength?: number;
}

/** HttpResponse is an answer whose body has not been read yet. */
export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  method: string;
  url: URL;
  body: IncomingMessage;
}

/** MAX_TEXT_BODY bounds what the client reads of an answer into memory (errors, JSON). */
export const MAX_TEXT_BODY = 8 * 1024 * 1024;

/** readBody reads an answer into memory, up to `max` bytes (then it fails: never unbounded). */
export async function readBody(res: HttpResponse, max = MAX_TEXT_BODY): Promise<Buffer> {
  try {
    return await readBounded(res.body as AsyncIterable<Buffer>, max);
  } catch (err) {
    if (!(err instanceof BodyTooLarge)) throw err;
    res.body.destroy();
    throw new Error(`${res.method} ${res.url.pathname}: answer larger than ${max} bytes`);
  }
}

/** discard consumes an answer's body so the connection goes back to the pool. */
export async function discard(res: HttpResponse): Promise<void> {
  if (res.body.readableEnded) return;
  res.body.resume();
  await new Promise<void>((resolve) => {
    res.body.once('end', resolve);
    res.body.once('close', resolve);
    res.body.once('error', () => resolve());
  });
}

/** ERROR_BODY_MAX bounds the error body read to explain a refusal. */
export const ERROR_BODY_MAX = 64 * 1024;

/** httpError is the error for an unexpected answer `res`, with the registry's diagnostics from `body`. */
export function httpError(res: HttpResponse, body: string): RegistryHttpError {
  return new RegistryHttpError({
    status: res.status,
    method: res.method,
    url: res.url,
    diagnostics: parseDiagnostics(body),
    retryAfter: res.headers['retry-after'],
  });
}

/** expectStatus returns when `res.status` is one of `codes`; otherwise it throws RegistryHttpError. */
export async function expectStatus(res: HttpResponse, ...codes: number[]): Promise<void> {
  if (codes.includes(res.status)) return;
  let text = '';
  try {
    text = (await readBody(res, ERROR_BODY_MAX)).toString('utf8');
  } catch {
    // an unreadable error body still leaves the status
  }
  throw httpError(res, text);
}

/**
 * loadBuiltin loads node:https and node:tls when the first https:// request goes, not with this
 * module: a push to the local plain-HTTP registry never evaluates TLS (2 ms of its start-up).
 */
const loadBuiltin = createRequire(import.meta.url);

/** HttpTransport sends requests over pooled keep-alive connections. */
export class HttpTransport {
  private readonly httpAgent: http.Agent;
  private httpsAgent: https.Agent | undefined;

  /** timeoutMs: a connection silent this long is cut (ETIMEDOUT) */
  constructor(
    readonly tls: TlsSettings = {},
    private readonly maxSockets = 16,
    private readonly timeoutMs = 120_000,
  ) {
    this.httpAgent = new http.Agent({ keepAlive: true, maxSockets, scheduling: 'lifo' });
  }

  /** https gives node:https and the agent for https:// requests, made on the first. */
  private https(): { mod: typeof https; agent: https.Agent } {
    const mod = loadBuiltin('node:https') as typeof https;
    this.httpsAgent ??= new mod.Agent({
      keepAlive: true,
      maxSockets: this.maxSockets,
      scheduling: 'lifo',
      rejectUnauthorized: !this.tls.insecure,
      ...(this.tls.ca?.length ? { ca: [...tlsRootCertificates(), ...this.tls.ca.map((b) => b.toString('utf8'))] } : {}),
    });
    return { mod, agent: this.httpsAgent };
  }

  /** send performs one request; network failures become NetworkError, statuses are the caller's. */
  send(req: HttpRequest): Promise<HttpResponse> {
    const isHttps = req.url.protocol === 'https:';
    const { mod, agent } = isHttps ? this.https() : { mod: http, agent: this.httpAgent };
    const headers: Record<string, string> = { 'User-Agent': 'container-registry', ...req.headers };
    if (Buffer.isBuffer(req.body)) headers['Content-Length'] = String(req.body.length);
    else if (isFileBody(req.body)) headers['Content-Length'] = String(req.body.length);
    else if (req.body) headers['Content-Length'] = String(req.contentLength ?? 0);
    else if (['PUT', 'POST', 'PATCH'].includes(req.method)) headers['Content-Length'] = '0';
    return new Promise<HttpResponse>((resolve, reject) => {
      let settled = false;
      const fail = (err: unknown) => {
        if (settled) return;
        settled = true;
        reject(
          err instanceof RegistryHttpError || err instanceof NetworkError || err instanceof BlobSourceError ? err : new NetworkError(req.method, req.url, err),
        );
      };
      const r = mod.request(req.url, { method: req.method, headers, agent, timeout: this.timeoutMs }, (res) => {
        if (settled) {
          res.resume();
          return;
        }
        settled = true;
        resolve({ status: res.statusCode ?? 0, headers: res.headers, method: req.method, url: req.url, body: res });
      });
      r.on('timeout', () => r.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
      r.on('error', fail);
      if (req.body === undefined) r.end();
      else if (Buffer.isBuffer(req.body)) r.end(req.body);
      else if (isFileBody(req.body)) {
        writeFileBody(r, req.body).catch((err) => {
          r.destroy();
          fail(err);
        });
      } else {
        let source: Readable;
        try {
          source = req.body();
        } catch (err) {
          r.destroy();
          fail(new BlobSourceError('the content', err));
          return;
        }
        // A failed read of the content is not the network's: it is told apart, and not retried. Only
        // an error the source meets while the request still stands counts (a request that fails
        // first hands its own error to the source through pipeline).
        let unreadable: unknown;
        let requestUp = true;
        const requestDown = () => (requestUp = false);
        r.once('error', requestDown);
        r.once('close', requestDown);
        source.once('error', (err) => {
          if (requestUp) unreadable ??= err;
        });
        // A server may answer (an error, say) before reading the whole body: the answer wins.
        pipeline(source, r).catch((err) => {
          r.destroy();
          fail(unreadable === undefined ? err : new BlobSourceError('the content', unreadable));
        });
      }
    });
  }

  /** close drops pooled connections (commands end promptly). */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent?.destroy();
  }
}

/** tlsRootCertificates keeps Node's public roots when a CA is added (a public registry still works). */
function tlsRootCertificates(): readonly string[] {
  return (loadBuiltin('node:tls') as typeof import('node:tls')).rootCertificates;
}

function isFileBody(body: HttpRequest['body']): body is FileBody {
  return typeof body === 'object' && body !== null && !Buffer.isBuffer(body) && typeof (body as FileBody).path === 'string';
}

const FILE_CHUNK = 1024 * 1024;

/**
 * writeFileBody reads the range into one buffer while the other is being written, and reuses them:
 * a buffer is refilled only after its write has been flushed to the socket.
 */
async function writeFileBody(r: http.ClientRequest, body: FileBody): Promise<void> {
  const fh = await open(body.path, 'r').catch((err) => {
    throw new BlobSourceError(body.path, err);
  });
  // A request that dies never calls its write callbacks: wait on that too.
  let abort: (err: Error) => void = () => {};
  const aborted = new Promise<never>((_, reject) => (abort = reject));
  aborted.catch(() => undefined);
  const onClose = () => abort(Object.assign(new Error('connection closed during the upload'), { code: 'ECONNRESET' }));
  r.once('close', onClose);
  r.once('error', onClose);
  try {
    const buffers = [Buffer.allocUnsafe(Math.min(FILE_CHUNK, Math.max(1, body.length))), Buffer.allocUnsafe(Math.min(FILE_CHUNK, Math.max(1, body.length)))];
    let pending: Promise<void> = Promise.resolve();
    let pos = body.offset;
    let left = body.length;
    let sent = 0;
    for (let i = 0; left > 0; i ^= 1) {
      const buf = buffers[i]!;
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, left), pos).catch((err) => {
        throw new BlobSourceError(body.path, err);
      });
      if (bytesRead <= 0) throw new BlobSourceError(body.path, new Error('shorter than expected'));
      const chunk = bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
      await Promise.race([pending, aborted]);
      if (r.destroyed) throw Object.assign(new Error('connection closed during the upload'), { code: 'ECONNRESET' });
      pending = new Promise<void>((resolve, reject) => r.write(chunk, (err) => (err ? reject(err) : resolve())));
      // Awaited on the next turn; until then a failed write must not count as unhandled.
      pending.catch(() => undefined);
      pos += bytesRead;
      left -= bytesRead;
      sent += bytesRead;
      body.onProgress?.(sent);
    }
    await Promise.race([pending, aborted]);
    r.end();
  } finally {
    r.off('close', onClose);
    r.off('error', onClose);
    await fh.close();
  }
}
