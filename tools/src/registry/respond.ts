// Writing responses: the headers every answer carries, JSON bodies, and the one boundary that turns
// a thrown RegistryError into the spec's {"errors":[...]} with its status.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RegistryError } from '../oci/errors.js';

/** API_VERSION_HEADER is sent on every response; docker and containerd look for it. */
export const API_VERSION_HEADER = ['Docker-Distribution-API-Version', 'registry/2.0'] as const;

/** sendJson answers with a JSON body (no body for HEAD). */
export function sendJson(req: IncomingMessage, res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const data = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': String(data.length), ...headers });
  res.end(req.method === 'HEAD' ? undefined : data);
}

/** sendEmpty answers with no body. */
export function sendEmpty(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Length': '0', ...headers });
  res.end();
}

/** isNoSpace tells whether an error is the filesystem saying it is full (or the quota is used up). */
export function isNoSpace(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/**
 * asRegistryError gives the answer for any error: a RegistryError as it is; a full disk is 507 with
 * "no space left" (nothing stored is lost; the push can be retried once space returns); anything
 * else is a 500 that names the request id and nothing of the internals.
 */
export function asRegistryError(err: unknown, requestId?: string): RegistryError {
  if (err instanceof RegistryError) return err;
  if (isNoSpace(err)) {
    return new RegistryError('UNKNOWN', "no space left on the registry's storage; nothing was stored, retry once space is freed", { status: 507, cause: err });
  }
  return new RegistryError('UNKNOWN', 'internal server error', { cause: err, detail: requestId ? { requestId } : undefined });
}

/** sendError writes an error in the spec's form (see asRegistryError); after the headers, it cuts the connection. */
export function sendError(req: IncomingMessage, res: ServerResponse, err: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const e = asRegistryError(err);
  // The request body may still be arriving; drain it so keep-alive clients see the answer.
  if (!req.readableEnded) req.resume();
  sendJson(req, res, e.status, e.toJSON(), { ...headers, ...e.headers });
}

/** Pagination is the `n` and `last` query parameters of tags/list and _catalog. */
export interface Pagination {
  n: number | undefined;
  last: string | undefined;
}

/** readPagination parses `n` (a non-negative integer) and `last`. */
export function readPagination(params: URLSearchParams): Pagination {
  const nText = params.get('n');
  let n: number | undefined;
  if (nText !== null) {
    if (!/^\d{1,9}$/.test(nText))
      throw new RegistryError('PAGINATION_NUMBER_INVALID', `n must be a non-negative integer, not ${JSON.stringify(nText.slice(0, 20))}`);
    n = Number(nText);
  }
  return { n, last: params.get('last') ?? undefined };
}

/** paginate cuts a sorted list after `last`, to `n` entries, and says whether more follow. */
export function paginate(sorted: string[], page: Pagination): { items: string[]; more: boolean } {
  let items = page.last !== undefined ? sorted.filter((x) => x > page.last!) : sorted;
  let more = false;
  if (page.n !== undefined && items.length > page.n) {
    items = items.slice(0, page.n);
    more = page.n > 0;
  }
  return { items, more };
}

/** nextLink is the RFC 5988 Link header for the next page. */
export function nextLink(path: string, n: number, last: string): string {
  return `<${path}?n=${n}&last=${encodeURIComponent(last)}>; rel="next"`;
}
