// The composition root of the embedded registry: storage, access and logging are handed in; this
// file wires them to node:http or node:https and owns listening and draining.
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { readFileSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';
import { openDriver } from '../storage/open-driver.js';
import { ImageStore } from '../storage/store.js';
import type { StateDir } from '../state/state-dir.js';
import { ALLOW_ALL, type AccessController } from './access.js';
import { dispatch } from './dispatch.js';
import { API_VERSION_HEADER } from './respond.js';
import type { RequestTarget } from './context.js';
import { createServices, type ServiceOptions, type Services } from './services.js';
import { serverLog } from '../common/log.js';
import { DEFAULT_PER_ADDRESS, HTTP_TIMEOUTS, RateGuard, inOrder, limitConnections, type ConnectionLimitOptions, type RateGuardOptions } from './connections.js';
import { answerPlainHttp } from './https-only.js';
import { WORKER_HEADER, type Peers } from './peers.js';
import type { UpstreamConfig } from '../cache/config.js';
import type { PullThroughCache } from '../cache/pull-through.js';

/** TlsFiles names the PEM files of the server certificate (reloaded when they change). */
export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

/** AccessLogEntry is one line of the access log; it never holds credentials. */
export interface AccessLogEntry {
  time: string;
  /** the request id, also in the log line of an internal error and in a 500's body */
  id: string;
  addr: string;
  user: string | null;
  method: string;
  path: string;
  status: number;
  bytes: number;
  ms: number;
}

/** RegistryOptions configures one server. */
export interface RegistryOptions {
  /** the storage directory: distribution's tree and the helper's own files */
  state: StateDir;
  host: string;
  port: number;
  tls?: TlsFiles;
  access?: AccessController;
  /** receives one entry per request; none = no access log */
  accessLog?: (entry: AccessLogEntry) => void;
  /** identifies this process in the instance header, so `status` can tell it from another server */
  instanceId?: string;
  /** web UI, metrics, health, webhooks and mDNS (services.ts) */
  services?: ServiceOptions;
  /** bounds on connections per address and in all */
  connections?: ConnectionLimitOptions;
  /** the minimum transfer rate of a client the server waits on */
  rateGuard?: RateGuardOptions;
  /** where internal errors and refused connections are told (stderr by default) */
  log?: (line: string) => void;
  /** the other workers serving the same port and storage, when there are several (peers.ts) */
  peers?: Peers;
  /** upstreams served as a pull-through cache (cache/config.ts); none or empty = no cache */
  cache?: { upstreams: UpstreamConfig[] };
  /** serve read-only: every write gets 405 UNSUPPORTED (dispatch.ts), /readyz says so */
  readOnly?: boolean;
}

/** RunningRegistry is a listening server. */
export interface RunningRegistry {
  url: string;
  host: string;
  port: number;
  instanceId: string;
  store: ImageStore;
  server: Server | HttpsServer;
  /** the event bus, metrics and announcements next to the API */
  services: Services;
  /** close stops accepting, lets in-flight requests finish, and cuts what remains after `timeoutMs`. */
  close(timeoutMs?: number): Promise<void>;
}

/**
 * RECONNECT_AFTER_MS: with several workers, a connection older than this is closed after its
 * current response. Workers take connections from one socket as they are free to, but a burst of
 * them (100 clients starting at once) went 72% to one worker and stayed there; reconnecting clients
 * land on the workers with time to accept, so the load evens out within a few periods.
 */
const RECONNECT_AFTER_MS = 10_000;

const CONNECTED_AT = Symbol('connectedAt');

function connectedFor(socket: Socket & { [CONNECTED_AT]?: number }): number {
  return Date.now() - (socket[CONNECTED_AT] ??= Date.now());
}

/** INSTANCE_HEADER carries the instance id on every response. */
export const INSTANCE_HEADER = 'X-Container-Registry-Instance';

function securityHeaders(tls: boolean): Record<string, string> {
  const h: Record<string, string> = {
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Resource-Policy': 'same-origin',
  };
  if (tls) h['Strict-Transport-Security'] = 'max-age=31536000';
  return h;
}

/** loadTls reads the certificate files, remembering their mtimes to notice renewals. */
function tlsLoader(files: TlsFiles): { options(): { cert: Buffer; key: Buffer }; changed(): boolean } {
  let stamp = '';
  let checkedAt = 0;
  const read = () => {
    stamp = `${statSync(files.certFile).mtimeMs}:${statSync(files.keyFile).mtimeMs}`;
    return { cert: readFileSync(files.certFile), key: readFileSync(files.keyFile) };
  };
  return {
    options: read,
    changed() {
      const now = Date.now();
      if (now - checkedAt < 1000) return false;
      checkedAt = now;
      try {
        return `${statSync(files.certFile).mtimeMs}:${statSync(files.keyFile).mtimeMs}` !== stamp;
      } catch {
        return false;
      }
    },
  };
}

/**
 * requestUrl splits the request target into path and query without resolving dot segments: WHATWG
 * URL parsing would turn `/v2/a/../b` into `/v2/b`, and a name must be judged as sent.
 */
export function requestUrl(target: string | undefined): RequestTarget {
  const raw = target ?? '/';
  const q = raw.indexOf('?');
  const path = q >= 0 ? raw.slice(0, q) : raw;
  return { pathname: path.startsWith('/') ? path : `/${path}`, searchParams: new URLSearchParams(q >= 0 ? raw.slice(q + 1) : '') };
}

/** startRegistry listens on host:port and serves the distribution API from the state directory's storage. */
export async function startRegistry(options: RegistryOptions): Promise<RunningRegistry> {
  const peers = options.peers;
  const store = new ImageStore(options.state.storage, await openDriver(options.state.dir, options.state.objectStore), peers?.sessionLocks);
  await Promise.all([store.driver.warm(), store.driver.mkdirp(store.paths.root)]);
  const access = options.access ?? ALLOW_ALL;
  const instanceId = options.instanceId ?? randomBytes(8).toString('hex');
  const log = options.log ?? serverLog;
  const readOnly = options.readOnly === true;
  let cache: PullThroughCache | undefined;
  const services = createServices({
    state: options.state,
    store,
    certFile: options.tls?.certFile,
    services: options.services,
    peers,
    upstreams: options.cache?.upstreams.length ? () => cache?.states() ?? [] : undefined,
    readOnly,
  });
  if (options.cache?.upstreams.length) {
    // Loaded only when something is mirrored: a registry without upstreams never evaluates the client.
    const { PullThroughCache } = await import('../cache/pull-through.js');
    cache = new PullThroughCache(store, options.cache.upstreams, log, services.metrics.cache);
  }
  const fixedHeaders: Record<string, string> = {
    [API_VERSION_HEADER[0]]: API_VERSION_HEADER[1],
    // Every worker sends the same instance id: `status` knows the registry, not a process.
    [INSTANCE_HEADER]: instanceId,
    ...(peers ? { [WORKER_HEADER]: String(peers.worker) } : {}),
    ...securityHeaders(options.tls !== undefined),
  };
  const rateGuard = new RateGuard({ ...options.rateGuard, log });
  const idPrefix = instanceId.slice(0, 8);
  const idSuffix = peers ? `w${peers.worker}` : '';
  let requestCount = 0;
  let inFlight = 0;
  let closing = false;
  let onIdle: (() => void) | undefined;

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const started = process.hrtime.bigint();
    // Read now: node sets req.socket to null once the response is done, before 'close' handlers run.
    const remoteAddress = req.socket.remoteAddress ?? '';
    // Unique across workers too: `w` and the worker's slot after the count.
    const requestId = `${idPrefix}-${(++requestCount).toString(36)}${idSuffix}`;
    inFlight++;
    for (const [k, v] of Object.entries(fixedHeaders)) res.setHeader(k, v);
    if (closing || (peers && connectedFor(req.socket) > RECONNECT_AFTER_MS)) res.setHeader('Connection', 'close');
    const url = requestUrl(req.url);
    let user: string | undefined;
    res.once('close', () => {
      inFlight--;
      try {
        options.accessLog?.({
          time: new Date().toISOString(),
          id: requestId,
          addr: remoteAddress,
          user: user ?? null,
          method: req.method ?? '',
          path: url.pathname,
          status: res.statusCode,
          bytes: Number(res.getHeader('content-length') ?? 0),
          ms: Number((process.hrtime.bigint() - started) / 1000n) / 1000,
        });
      } catch (err) {
        log(`access log: ${(err as Error).message}`);
      }
      if (closing && inFlight === 0) onIdle?.();
    });
    rateGuard.watch(req, res);
    inOrder(req, res, () => {
      dispatch({ store, access, events: services.events, extra: services.extra, log, cache, readOnly }, req, res, url, { remoteAddress, requestId }).then(
        (outcome) => {
          user = outcome.user;
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          services.events.publish('request', { method: req.method ?? '', route: outcome.route, status: res.statusCode, seconds });
        },
        (err: unknown) => {
          // dispatch answers every error itself; anything left is a bug in that answer: this request alone ends.
          log(`${req.method} ${url.pathname} [${requestId}]: ${(err as Error)?.stack ?? String(err)}`);
          res.destroy();
        },
      );
    });
  };

  let server: Server | HttpsServer;
  if (options.tls) {
    const tls = tlsLoader(options.tls);
    const https = createHttpsServer({ ...HTTP_TIMEOUTS, ...tls.options(), minVersion: 'TLSv1.2' }, handler);
    // Plain HTTP on this port gets a 400 that says so.
    answerPlainHttp(https);
    // A renewed certificate is picked up by the next connection, with no restart.
    https.on('connection', () => {
      if (tls.changed()) {
        try {
          https.setSecureContext({ ...tls.options(), minVersion: 'TLSv1.2' });
        } catch (err) {
          process.stderr.write(`container-registry: keeping the old certificate: ${(err as Error).message}\n`);
        }
      }
    });
    server = https;
  } else {
    server = createHttpServer({ ...HTTP_TIMEOUTS }, handler);
  }
  // Connections are dealt out to the workers in turn: each takes its share of the per-address bound.
  const perAddress = options.connections?.perAddress ?? Math.ceil(DEFAULT_PER_ADDRESS / (peers?.count ?? 1));
  limitConnections(server, { ...options.connections, perAddress, log: options.connections?.log ?? log });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: options.host, port: options.port }, () => {
      server.off('error', reject);
      // After listening, a failed accept (EMFILE) is told, never fatal.
      server.on('error', (err) => log(`server: ${(err as Error).message}`));
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const scheme = options.tls ? 'https' : 'http';
  const hostForUrl = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `${scheme}://${hostForUrl}:${address.port}`;
  try {
    await services.started({ host: address.address, port: address.port, url, instanceId });
  } catch (err) {
    server.close();
    rateGuard.close();
    await services.close().catch(() => {});
    throw err;
  }

  return {
    url,
    host: address.address,
    port: address.port,
    instanceId,
    store,
    server,
    services,
    close(timeoutMs = 10_000) {
      closing = true;
      return new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.closeAllConnections(), timeoutMs);
        timer.unref();
        server.close(() => {
          clearTimeout(timer);
          rateGuard.close();
          cache?.close();
          // After the drain: the last requests' events still reach the webhooks; then goodbye on mDNS.
          services.close().then(resolve, (err) => {
            process.stderr.write(`container-registry: stopping services: ${(err as Error).message}\n`);
            resolve();
          });
        });
        server.closeIdleConnections();
        onIdle = () => setImmediate(() => server.closeIdleConnections());
        if (inFlight === 0) server.closeIdleConnections();
      });
    },
  };
}
