// HTTP for the client: node:http/node:https with keep-alive agents (one TCP/TLS connection per
// parallel upload, reused across requests), bodies streamed, never buffered whole.
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { rootCertificates } from 'node:tls';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { NetworkError, RegistryHttpError, parseDiagnostics } from './errors.js';

/** TlsSettings says how to verify a registry's certificate. */
export interface TlsSettings {
  /** extra CA certificates (PEM), added to Node's bundled roots */
  ca?: Buffer[];
  /** skip verification (and allow plain HTTP): --insecure */
  insecure?: boolean;
  /** allow plain HTTP when the registry does not speak TLS, still verifying when it does (loopback) */
  allowHttp?: boolean;
}

/** HttpRequest is one request; a body is a buffer or a factory that opens a fresh stream (retries). */
export interface HttpRequest {
  method: string;
  url: URL;
  headers?: Record<string, string>;
  body?: Buffer | (() => Readable);
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
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > max) {
      res.body.destroy();
      throw new Error(`${res.method} ${res.url.pathname}: answer larger than ${max} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
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

/** expectStatus returns when `res.status` is one of `codes`; otherwise it throws RegistryHttpError. */
export async function expectStatus(res: HttpResponse, ...codes: number[]): Promise<void> {
  if (codes.includes(res.status)) return;
  let text = '';
  try {
    text = (await readBody(res, 64 * 1024)).toString('utf8');
  } catch {
    // an unreadable error body still leaves the status
  }
  throw new RegistryHttpError({ status: res.status, method: res.method, url: res.url, diagnostics: parseDiagnostics(text) });
}

/** HttpTransport sends requests over pooled keep-alive connections. */
export class HttpTransport {
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;

  constructor(readonly tls: TlsSettings = {}, maxSockets = 16) {
    this.httpAgent = new http.Agent({ keepAlive: true, maxSockets, scheduling: 'lifo' });
    this.httpsAgent = new https.Agent({
      keepAlive: true,
      maxSockets,
      scheduling: 'lifo',
      rejectUnauthorized: !tls.insecure,
      ...(tls.ca && tls.ca.length ? { ca: [...tlsRootCertificates(), ...tls.ca.map((b) => b.toString('utf8'))] } : {}),
    });
  }

  /** send performs one request; network failures become NetworkError, statuses are the caller's. */
  send(req: HttpRequest): Promise<HttpResponse> {
    const isHttps = req.url.protocol === 'https:';
    const mod = isHttps ? https : http;
    const headers: Record<string, string> = { 'User-Agent': 'container-registry', ...req.headers };
    if (Buffer.isBuffer(req.body)) headers['Content-Length'] = String(req.body.length);
    else if (req.body) headers['Content-Length'] = String(req.contentLength ?? 0);
    else if (['PUT', 'POST', 'PATCH'].includes(req.method)) headers['Content-Length'] = '0';
    return new Promise<HttpResponse>((resolve, reject) => {
      let settled = false;
      const fail = (err: unknown) => {
        if (settled) return;
        settled = true;
        reject(err instanceof RegistryHttpError || err instanceof NetworkError ? err : new NetworkError(req.method, req.url, err));
      };
      const r = mod.request(req.url, { method: req.method, headers, agent: isHttps ? this.httpsAgent : this.httpAgent, timeout: 120_000 }, (res) => {
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
      else {
        let source: Readable;
        try {
          source = req.body();
        } catch (err) {
          r.destroy();
          fail(err);
          return;
        }
        // A server may answer (an error, say) before reading the whole body: the answer wins.
        pipeline(source, r).catch((err) => {
          r.destroy();
          fail(err);
        });
      }
    });
  }

  /** close drops pooled connections (commands end promptly). */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

/** tlsRootCertificates keeps Node's public roots when a CA is added (a public registry still works). */
function tlsRootCertificates(): readonly string[] {
  return rootCertificates;
}
