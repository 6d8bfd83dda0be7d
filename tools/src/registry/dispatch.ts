// One request: route, name check, access check, handler. Every failure becomes a spec error here.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ImageStore } from '../storage/store.js';
import type { AccessAction, AccessController, AccessDecision } from './access.js';
import { endpointFor, matchRoute, type RouteParams } from './router.js';
import { RegistryError } from '../oci/errors.js';
import { assertRepositoryName } from '../oci/names.js';
import { asRegistryError, isNoSpace, sendError } from './respond.js';
import { serverLog } from '../common/log.js';
import type { RequestContext, RequestTarget } from './context.js';
import { RegistryEvents, requestInfo, type AuthFailure, type RequestInfo } from './events.js';

/**
 * Authorize asks the access controller for one action; it resolves to the user (undefined when
 * anonymous) or throws the spec's error (401 with a challenge, 403, 429).
 */
export type Authorize = (action: AccessAction, repository?: string) => Promise<string | undefined>;

/** AccessCheck is the access policy as extra endpoints see it. */
export interface AccessCheck {
  /** authorize enforces: the user, or a thrown 401/403/429 (counted as an auth failure) */
  authorize: Authorize;
  /** may only asks (to show or hide a button): no error, nothing counted */
  may(action: AccessAction, repository?: string): Promise<boolean>;
  /** the peer's address */
  remoteAddress: string;
}

/** ExtraEndpoints serves paths outside /v2/ (web UI, metrics, health), checked before the router. */
export interface ExtraEndpoints {
  /** routeOf names the route kind of a path it serves, or undefined when the path is not its own */
  routeOf(pathname: string): string | undefined;
  /** serve answers one request of that kind; `access` applies the policy and records the user */
  serve(kind: string, req: IncomingMessage, res: ServerResponse, url: RequestTarget, access: AccessCheck): Promise<void>;
}

/** Dispatcher holds what every request needs. */
export interface Dispatcher {
  store: ImageStore;
  access: AccessController;
  /** events receives what handlers did; none = nobody listens */
  events?: RegistryEvents;
  /** extra endpoints (UI, metrics, health) served next to the distribution API */
  extra?: ExtraEndpoints;
  /** where an internal error is told (stderr by default) */
  log?: (line: string) => void;
  /** the pull-through cache of mirrored upstreams (cache/pull-through.ts); none = no upstreams */
  cache?: CacheHook;
  /** serving read-only: every request but GET, HEAD and OPTIONS is refused (refuseWrite) */
  readOnly?: boolean;
}

/** CacheHook is what dispatch asks of the pull-through cache. */
export interface CacheHook {
  /** repositoryFor maps the name a request uses to the repository it means (before the access check) */
  repositoryFor(name: string, request: { params: URLSearchParams; method: string; kind: string; userAgent: string | undefined }): Promise<string>;
  /** intercept runs before the route's handler; true when it answered the request itself */
  intercept(kind: string, ctx: RequestContext, params: RouteParams): Promise<boolean>;
}

/** RequestMeta is what the server knows of a request before dispatch. */
export interface RequestMeta {
  /** the peer's address, read when the request arrived */
  remoteAddress: string;
  /** names the request in the access log and in an internal error's log line and answer */
  requestId: string;
}

/** RequestOutcome is what the access log and the request metrics record of a request. */
export interface RequestOutcome {
  user: string | undefined;
  /** the route kind, a small fixed set (a metrics label) */
  route: string;
}

function failureOf(decision: Extract<AccessDecision, { allowed: false }>, authorization: string | undefined): AuthFailure {
  if (decision.status === 429) return { status: 429, reason: 'throttled' };
  if (decision.status === 403) return { status: 403, reason: 'denied' };
  return { status: 401, reason: authorization ? 'bad' : 'missing' };
}

function denied(decision: Extract<AccessDecision, { allowed: false }>): RegistryError {
  if (decision.status === 401) {
    return new RegistryError('UNAUTHORIZED', decision.message ?? 'authentication required', {
      headers: decision.challenge ? { 'WWW-Authenticate': decision.challenge } : {},
    });
  }
  if (decision.status === 429) {
    return new RegistryError('TOOMANYREQUESTS', decision.message ?? 'too many failed attempts; slow down', {
      headers: { 'Retry-After': String(decision.retryAfter ?? 1) },
    });
  }
  return new RegistryError('DENIED', decision.message ?? 'requested access to the resource is denied');
}

/** dispatch serves one request and tells the access log who made it. */
export async function dispatch(d: Dispatcher, req: IncomingMessage, res: ServerResponse, url: RequestTarget, meta: RequestMeta): Promise<RequestOutcome> {
  const method = req.method ?? 'GET';
  const outcome: RequestOutcome = { user: undefined, route: 'unknown' };
  const { remoteAddress, requestId } = meta;
  const authorization = req.headers.authorization;
  const authorize: Authorize = async (action, repository) => {
    const decision = await d.access.check({ action, repository, authorization, remoteAddress });
    outcome.user = decision.user;
    if (!decision.allowed) {
      d.events?.publish('authFailure', failureOf(decision, authorization));
      throw denied(decision);
    }
    return decision.user;
  };
  try {
    refuseCrossSite(req, method);
    if (d.readOnly) refuseWrite(req, method);
    const extraKind = d.extra?.routeOf(url.pathname);
    if (extraKind !== undefined && d.extra) {
      outcome.route = extraKind;
      const may = async (action: AccessAction, repository?: string) => (await d.access.check({ action, repository, authorization, remoteAddress })).allowed;
      await d.extra.serve(extraKind, req, res, url, { authorize, may, remoteAddress });
      return outcome;
    }
    const route = matchRoute(url.pathname);
    if (!route) {
      outcome.route = 'unknown';
      throw new RegistryError('NAME_UNKNOWN', 'no such endpoint', { status: 404 });
    }
    outcome.route = route.def.kind;
    let { name } = route.params;
    if (name !== undefined) assertRepositoryName(name);
    if (name !== undefined && d.cache)
      route.params.name = name = await d.cache.repositoryFor(name, {
        params: url.searchParams,
        method,
        kind: route.def.kind,
        userAgent: req.headers['user-agent'],
      });
    const endpoint = endpointFor(route.def, method);
    if (endpoint.action) await authorize(endpoint.action, name);
    let info: RequestInfo | undefined;
    const ctx: RequestContext = {
      req,
      res,
      url,
      store: d.store,
      mayPull: async (repository) => (await d.access.check({ action: 'pull', repository, authorization, remoteAddress })).allowed,
      events: d.events ?? SILENT,
      // Read only when an event is built: most requests (blobs) never need an id.
      get request() {
        return (info ??= requestInfo(req));
      },
      user: outcome.user,
    };
    if (!(await d.cache?.intercept(route.def.kind, ctx, route.params))) await endpoint.serve(ctx, route.params);
  } catch (err) {
    const answer = asRegistryError(err, requestId);
    // A failing disk also tears the request down: a full disk is told even when the client looks gone.
    if (!(err instanceof RegistryError) && (isNoSpace(err) || !isClientGone(err, req))) {
      const log = d.log ?? serverLog;
      // A full disk is the operator's to fix, not a bug: one line without a stack.
      const what = answer.status === 507 ? answer.message : ((err as Error)?.stack ?? String(err));
      log(`${method} ${url.pathname} [${requestId}]: ${what}`);
    }
    sendError(req, res, answer);
  }
  return outcome;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
// The bodies a web page may send another site without asking first (a CORS "simple request").
const FORM_TYPES = /^(text\/plain|application\/x-www-form-urlencoded|multipart\/form-data)\b/i;

/**
 * refuseCrossSite stops a web page on another site from writing through a browser that holds
 * credentials for this registry (cached Basic credentials from the UI's login): an unsafe request
 * whose Origin is another site, or that the browser marks cross-site, or that comes from a browser
 * with a form's content type (no registry client sends those from a browser). Clients that are not
 * browsers send neither Origin nor Sec-Fetch-* headers and are not affected.
 */
function refuseCrossSite(req: IncomingMessage, method: string): void {
  if (SAFE_METHODS.has(method)) return;
  const origin = req.headers.origin;
  const site = req.headers['sec-fetch-site'];
  let foreign = site !== undefined && site !== 'same-origin' && site !== 'none';
  if (origin !== undefined) {
    let host: string | undefined;
    try {
      host = new URL(origin).host;
    } catch {
      host = undefined; // "null" (a sandboxed or opaque origin) is foreign too
    }
    foreign ||= host === undefined || host !== req.headers.host;
  }
  const fromBrowser = origin !== undefined || site !== undefined;
  if (foreign || (fromBrowser && FORM_TYPES.test(req.headers['content-type'] ?? ''))) {
    req.resume();
    throw new RegistryError('DENIED', 'cross-site request refused: a web page may not write to this registry');
  }
}

/**
 * refuseWrite answers a write to a registry serving read-only as distribution's read-only
 * maintenance mode does (registry/handlers/app.go: 405 UNSUPPORTED), before any access check, so a
 * client sees at once that no push can work here, whatever its credentials.
 */
function refuseWrite(req: IncomingMessage, method: string): void {
  if (SAFE_METHODS.has(method)) return;
  req.resume();
  throw new RegistryError(
    'UNSUPPORTED',
    `the registry is read-only (maintenance: serve --read-only); pulls work, ${method} requests (pushes, deletes, uploads) are refused`,
    {
      status: 405,
    },
  );
}

// Handlers always have a bus to emit on; with no listener an emit costs next to nothing.
const SILENT = new RegistryEvents();

function isClientGone(err: unknown, req: IncomingMessage): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return req.destroyed || code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'EPIPE';
}
