// The distribution API as one table: each route's path pattern, and per method the access action
// it needs and the handler that serves it. A repository name may hold '/', so each route is matched
// from its fixed suffix; digests, tags and upload ids never hold '/'.
// https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#endpoints
import type { AccessAction } from './access.js';
import type { RequestContext } from './context.js';
import { RegistryError } from '../oci/errors.js';
import { deleteBlob, getBlob } from './blobs.js';
import { cancelUpload, finishUpload, patchUpload, startUpload, uploadStatus } from './uploads.js';
import { deleteManifest, getManifest, putManifest } from './manifests.js';
import { listCatalog, listReferrers, listTags } from './discovery.js';
import { sendJson } from './respond.js';

/** RouteParams are the parts a path names; `name` is the repository (checked before any handler runs). */
export interface RouteParams {
  name?: string;
  reference?: string;
  digest?: string;
  id?: string;
}

/** Endpoint is one method of one route: what the access policy must allow, and who answers. */
export interface Endpoint {
  /** undefined: no check at all */
  action: AccessAction | undefined;
  serve(ctx: RequestContext, p: RouteParams): Promise<void>;
}

/** RouteDef is one row of the table. */
export interface RouteDef {
  /** the route kind (a metrics label) */
  kind: string;
  pattern: RegExp;
  params(m: RegExpExecArray): RouteParams;
  methods: Readonly<Record<string, Endpoint>>;
  /** the action checked before a method the route does not serve is answered 405 */
  otherMethods: AccessAction;
}

const base: Endpoint = {
  action: 'ping',
  async serve(ctx) {
    ctx.req.resume();
    sendJson(ctx.req, ctx.res, 200, {});
  },
};

/** readable serves GET and HEAD alike. */
function readable(e: Endpoint): Record<string, Endpoint> {
  return { GET: e, HEAD: e };
}

/** ROUTES is every route of the distribution API, in match order. */
export const ROUTES: readonly RouteDef[] = [
  { kind: 'base', pattern: /^\/v2\/?$/, params: () => ({}), methods: readable(base), otherMethods: 'ping' },
  {
    kind: 'catalog',
    pattern: /^\/v2\/_catalog$/,
    params: () => ({}),
    methods: readable({ action: 'catalog', serve: (ctx) => listCatalog(ctx) }),
    otherMethods: 'catalog',
  },
  {
    kind: 'tags',
    pattern: /^\/v2\/(.+)\/tags\/list$/,
    params: (m) => ({ name: m[1]! }),
    methods: readable({ action: 'pull', serve: (ctx, p) => listTags(ctx, p.name!) }),
    otherMethods: 'pull',
  },
  {
    kind: 'manifest',
    pattern: /^\/v2\/(.+)\/manifests\/([^/]+)$/,
    params: (m) => ({ name: m[1]!, reference: m[2]! }),
    methods: {
      ...readable({ action: 'pull', serve: (ctx, p) => getManifest(ctx, p.name!, p.reference!) }),
      PUT: { action: 'push', serve: (ctx, p) => putManifest(ctx, p.name!, p.reference!) },
      DELETE: { action: 'delete', serve: (ctx, p) => deleteManifest(ctx, p.name!, p.reference!) },
    },
    otherMethods: 'push',
  },
  {
    kind: 'uploads',
    pattern: /^\/v2\/(.+)\/blobs\/uploads\/?$/,
    params: (m) => ({ name: m[1]! }),
    methods: { POST: { action: 'push', serve: (ctx, p) => startUpload(ctx, p.name!) } },
    otherMethods: 'push',
  },
  {
    kind: 'upload',
    pattern: /^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/,
    params: (m) => ({ name: m[1]!, id: m[2]! }),
    methods: {
      PATCH: { action: 'push', serve: (ctx, p) => patchUpload(ctx, p.name!, p.id!) },
      PUT: { action: 'push', serve: (ctx, p) => finishUpload(ctx, p.name!, p.id!) },
      ...readable({ action: 'push', serve: (ctx, p) => uploadStatus(ctx, p.name!, p.id!) }),
      DELETE: { action: 'push', serve: (ctx, p) => cancelUpload(ctx, p.name!, p.id!) },
    },
    otherMethods: 'push',
  },
  {
    kind: 'blob',
    pattern: /^\/v2\/(.+)\/blobs\/([^/]+)$/,
    params: (m) => ({ name: m[1]!, digest: m[2]! }),
    methods: {
      ...readable({ action: 'pull', serve: (ctx, p) => getBlob(ctx, p.name!, p.digest!) }),
      DELETE: { action: 'delete', serve: (ctx, p) => deleteBlob(ctx, p.name!, p.digest!) },
    },
    otherMethods: 'push',
  },
  {
    kind: 'referrers',
    pattern: /^\/v2\/(.+)\/referrers\/([^/]+)$/,
    params: (m) => ({ name: m[1]!, digest: m[2]! }),
    methods: readable({ action: 'pull', serve: (ctx, p) => listReferrers(ctx, p.name!, p.digest!) }),
    otherMethods: 'pull',
  },
];

/** RouteMatch is a route and what its path named. */
export interface RouteMatch {
  def: RouteDef;
  params: RouteParams;
}

/** matchRoute maps a URL path (no query) to its route, or undefined for no route of the API. */
export function matchRoute(path: string): RouteMatch | undefined {
  for (const def of ROUTES) {
    const m = def.pattern.exec(path);
    if (m) return { def, params: def.params(m) };
  }
  return undefined;
}

/** endpointFor is the route's endpoint for `method`, or one that checks the route's action and answers 405. */
export function endpointFor(def: RouteDef, method: string): Endpoint {
  if (Object.hasOwn(def.methods, method)) return def.methods[method]!;
  return {
    action: def.otherMethods,
    serve: async (ctx) => {
      ctx.req.resume();
      throw new RegistryError('METHOD_UNKNOWN', `method ${method} is not supported for this route`);
    },
  };
}
