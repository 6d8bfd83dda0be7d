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

/** sendError writes a RegistryError in the spec's form; anything else is a 500 with no details. */
export function sendError(req: IncomingMessage, res: ServerResponse, err: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const e = err instanceof RegistryError ? err : new RegistryError('UNSUPPORTED', 'internal server error', { status: 500 });
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
    if (!/^\d{1,9}$/.test(nText)) throw new RegistryError('PAGINATION_NUMBER_INVALID', `n must be a non-negative integer, not ${JSON.stringify(nText.slice(0, 20))}`);
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
