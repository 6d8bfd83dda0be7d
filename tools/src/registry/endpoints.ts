// The endpoints next to the distribution API: the web UI (/ui/), its JSON API (/ui/api/),
// /metrics, /healthz and /readyz. Dispatch asks `routeOf` before its /v2/ router, so these never
// shadow a repository path (every /v2/ path stays the API's).
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ImageStore } from '../storage/store.js';
import type { StatsCache } from '../storage/stats.js';
import type { AccessCheck, ExtraEndpoints } from './dispatch.js';
import type { RequestTarget } from './context.js';
import type { RegistryEvents } from './events.js';
import type { RegistryMetrics } from './metrics.js';
import { RegistryError } from '../oci/errors.js';
import { ReadinessCache, withoutDetails, type ReadinessOptions } from './health.js';
import { serveUiApi } from './ui-api.js';
import { UI_ASSETS } from './ui-assets.js';
import { sendJson } from './respond.js';

/** METRICS_ACCESS_MODES are the settings of `--metrics-access`. */
export const METRICS_ACCESS_MODES = ['loopback', 'policy', 'anonymous', 'off'] as const;

/**
 * MetricsAccess says who may read /metrics: `loopback` (default) anyone on this machine without
 * credentials and others as the access policy's `metrics` action decides; `policy` everyone as the
 * policy decides; `anonymous` everyone; `off` nobody (404).
 */
export type MetricsAccess = (typeof METRICS_ACCESS_MODES)[number];

/** EndpointOptions wire the extra endpoints to the server's pieces. */
export interface EndpointOptions {
  store: ImageStore;
  stats: StatsCache;
  events: RegistryEvents;
  /** what /metrics answers: this process's metrics, or every worker's together (peers.ts) */
  metrics: Pick<RegistryMetrics, 'render'>;
  metricsAccess: MetricsAccess;
  ui: boolean;
  readiness: ReadinessOptions;
}

/** isLoopback tells whether a peer address is this machine's loopback (IPv4, IPv6 or v4-mapped). */
export function isLoopback(address: string): boolean {
  return address === '::1' || /^(::ffff:)?127\./.test(address);
}

/**
 * isThisMachine tells whether a connection comes from this machine: over loopback, or from the
 * very address it reached (`status` of a server listening on one interface's address connects so;
 * the kernel drops a packet from outside that claims one of our own addresses as its source).
 */
export function isThisMachine(socket: { remoteAddress?: string; localAddress?: string }): boolean {
  const remote = socket.remoteAddress ?? '';
  return isLoopback(remote) || (remote !== '' && remote === socket.localAddress);
}

// The page loads only its own files: no inline script, nothing from elsewhere.
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

// A Map, not the object: a request for /ui/constructor or /ui/__proto__ must find nothing, where an
// object lookup finds Object.prototype's members.
const ASSETS = new Map(
  Object.entries(UI_ASSETS).map(([name, a]) => [name, { ...a, etag: `"${createHash('sha256').update(a.body).digest('hex').slice(0, 16)}"` }]),
);

function serveAsset(req: IncomingMessage, res: ServerResponse, name: string): void {
  const asset = ASSETS.get(name);
  if (!asset) throw new RegistryError('UNSUPPORTED', 'no such page', { status: 404 });
  const etag = asset.etag;
  const headers: Record<string, string> = { 'Content-Type': asset.type, ETag: etag, 'Cache-Control': 'no-cache', 'Content-Security-Policy': CSP };
  req.resume();
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const body = Buffer.from(asset.body);
  res.writeHead(200, { ...headers, 'Content-Length': String(body.length) });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function readOnly(req: IncomingMessage): void {
  const m = req.method ?? 'GET';
  if (m !== 'GET' && m !== 'HEAD') throw new RegistryError('METHOD_UNKNOWN', `method ${m} is not supported for this route`);
}

/**
 * mayReadDetails tells whether a /readyz caller sees the checks' details (storage path, users
 * file): one on this machine, or a user who logs in and whom the policy lets read /metrics. Bad
 * credentials count as an auth failure but never turn /readyz into a 401.
 */
async function mayReadDetails(req: IncomingMessage, access: AccessCheck): Promise<boolean> {
  if (isThisMachine(req.socket)) return true;
  if (req.headers.authorization === undefined) return false;
  const user = await access.authorize('metrics').catch(() => undefined);
  return user !== undefined;
}

/** extraEndpoints builds the handler dispatch consults before its /v2/ router. */
export function extraEndpoints(o: EndpointOptions): ExtraEndpoints {
  const readiness = new ReadinessCache(o.readiness);
  return {
    routeOf(pathname) {
      if (pathname === '/healthz') return 'healthz';
      if (pathname === '/readyz') return 'readyz';
      if (pathname === '/metrics' && o.metricsAccess !== 'off') return 'metrics';
      if (o.ui && pathname === '/') return 'root';
      if (o.ui && (pathname === '/ui' || pathname.startsWith('/ui/'))) return pathname.startsWith('/ui/api/') ? 'ui-api' : 'ui';
      return undefined;
    },
    async serve(kind: string, req: IncomingMessage, res: ServerResponse, url: RequestTarget, access: AccessCheck) {
      switch (kind) {
        case 'healthz':
          readOnly(req);
          req.resume();
          return sendJson(req, res, 200, { status: 'ok' }, { 'Cache-Control': 'no-store' });
        case 'readyz': {
          readOnly(req);
          req.resume();
          const [r, details] = await Promise.all([readiness.get(), mayReadDetails(req, access)]);
          return sendJson(req, res, r.status === 'ready' ? 200 : 503, details ? r : withoutDetails(r), { 'Cache-Control': 'no-store' });
        }
        case 'metrics': {
          readOnly(req);
          req.resume();
          const anonymous = o.metricsAccess === 'anonymous' || (o.metricsAccess === 'loopback' && isLoopback(access.remoteAddress));
          if (!anonymous) await access.authorize('metrics');
          const { body, contentType } = await o.metrics.render();
          const data = Buffer.from(body);
          res.writeHead(200, { 'Content-Type': contentType, 'Content-Length': String(data.length), 'Cache-Control': 'no-store' });
          res.end(req.method === 'HEAD' ? undefined : data);
          return;
        }
        case 'root':
          // A browser pointed at the registry lands on the UI.
          readOnly(req);
          req.resume();
          res.writeHead(302, { Location: '/ui/', 'Content-Length': '0' });
          res.end();
          return;
        case 'ui': {
          readOnly(req);
          await access.authorize('ui');
          if (url.pathname === '/ui') {
            req.resume();
            res.writeHead(308, { Location: '/ui/', 'Content-Length': '0' });
            res.end();
            return;
          }
          const name = url.pathname.slice('/ui/'.length) || 'index.html';
          return serveAsset(req, res, name);
        }
        case 'ui-api':
          await access.authorize('ui');
          return serveUiApi({ store: o.store, stats: o.stats, events: o.events }, url.pathname.slice('/ui/api/'.length), req, res, url, access);
        default:
          throw new RegistryError('UNSUPPORTED', 'no such endpoint', { status: 404 });
      }
    },
  };
}
