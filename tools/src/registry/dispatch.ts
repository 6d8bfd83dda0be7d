// One request: route, name check, access check, handler. Every failure becomes a spec error here.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ImageStore } from '../storage/store.js';
import type { AccessAction, AccessController, AccessDecision } from './access.js';
import { matchRoute, type Route } from './router.js';
import { RegistryError } from '../oci/errors.js';
import { assertRepositoryName } from '../oci/names.js';
import { sendError, sendJson } from './respond.js';
import { deleteBlob, getBlob } from './blobs.js';
import { cancelUpload, finishUpload, patchUpload, startUpload, uploadStatus } from './uploads.js';
import { deleteManifest, getManifest, putManifest } from './manifests.js';
import { listCatalog, listReferrers, listTags } from './discovery.js';
import type { RequestContext, RequestTarget } from './context.js';

/** Dispatcher holds what every request needs. */
export interface Dispatcher {
  store: ImageStore;
  access: AccessController;
}

/** RequestOutcome is what the access log records of a request. */
export interface RequestOutcome {
  user: string | undefined;
}

function actionFor(route: Route, method: string): AccessAction | undefined {
  switch (route.kind) {
    case 'base':
      return 'ping';
    case 'catalog':
      return 'catalog';
    case 'tags':
    case 'referrers':
      return 'pull';
    case 'manifest':
    case 'blob':
      if (method === 'GET' || method === 'HEAD') return 'pull';
      if (method === 'DELETE') return 'delete';
      return 'push';
    case 'uploads':
    case 'upload':
      return 'push';
    default:
      return undefined;
  }
}

function methodNotAllowed(method: string): RegistryError {
  return new RegistryError('METHOD_UNKNOWN', `method ${method} is not supported for this route`);
}

async function run(ctx: RequestContext, route: Route, method: string): Promise<void> {
  switch (route.kind) {
    case 'base':
      if (method !== 'GET' && method !== 'HEAD') throw methodNotAllowed(method);
      ctx.req.resume();
      return sendJson(ctx.req, ctx.res, 200, {});
    case 'catalog':
      if (method !== 'GET' && method !== 'HEAD') throw methodNotAllowed(method);
      return listCatalog(ctx);
    case 'tags':
      if (method !== 'GET' && method !== 'HEAD') throw methodNotAllowed(method);
      return listTags(ctx, route.name);
    case 'referrers':
      if (method !== 'GET' && method !== 'HEAD') throw methodNotAllowed(method);
      return listReferrers(ctx, route.name, route.digest);
    case 'manifest':
      if (method === 'GET' || method === 'HEAD') return getManifest(ctx, route.name, route.reference);
      if (method === 'PUT') return putManifest(ctx, route.name, route.reference);
      if (method === 'DELETE') return deleteManifest(ctx, route.name, route.reference);
      throw methodNotAllowed(method);
    case 'blob':
      if (method === 'GET' || method === 'HEAD') return getBlob(ctx, route.name, route.digest);
      if (method === 'DELETE') return deleteBlob(ctx, route.name, route.digest);
      throw methodNotAllowed(method);
    case 'uploads':
      if (method === 'POST') return startUpload(ctx, route.name);
      throw methodNotAllowed(method);
    case 'upload':
      if (method === 'PATCH') return patchUpload(ctx, route.name, route.id);
      if (method === 'PUT') return finishUpload(ctx, route.name, route.id);
      if (method === 'GET' || method === 'HEAD') return uploadStatus(ctx, route.name, route.id);
      if (method === 'DELETE') return cancelUpload(ctx, route.name, route.id);
      throw methodNotAllowed(method);
    default:
      throw new RegistryError('NAME_UNKNOWN', 'no such endpoint', { status: 404 });
  }
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
export async function dispatch(d: Dispatcher, req: IncomingMessage, res: ServerResponse, url: RequestTarget): Promise<RequestOutcome> {
  const method = req.method ?? 'GET';
  const route = matchRoute(url.pathname);
  const outcome: RequestOutcome = { user: undefined };
  try {
    if ('name' in route) assertRepositoryName(route.name);
    const action = actionFor(route, method);
    const remoteAddress = req.socket.remoteAddress ?? '';
    const authorization = req.headers.authorization;
    if (action) {
      const decision = await d.access.check({ action, repository: 'name' in route ? route.name : undefined, authorization, remoteAddress });
      outcome.user = decision.user;
      if (!decision.allowed) throw denied(decision);
    }
    const ctx: RequestContext = {
      req,
      res,
      url,
      store: d.store,
      mayPull: async (repository) => (await d.access.check({ action: 'pull', repository, authorization, remoteAddress })).allowed,
    };
    await run(ctx, route, method);
  } catch (err) {
    if (!(err instanceof RegistryError) && !isClientGone(err, req)) {
      process.stderr.write(`container-registry: ${method} ${url.pathname}: ${(err as Error)?.stack ?? String(err)}\n`);
    }
    sendError(req, res, err);
  }
  return outcome;
}

function isClientGone(err: unknown, req: IncomingMessage): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return req.destroyed || code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'EPIPE';
}
