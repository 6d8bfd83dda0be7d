// Listing: tags of a repository, the catalog, and referrers of a manifest.
// https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#content-discovery
import type { RequestContext } from './context.js';
import { RegistryError } from '../oci/errors.js';
import { formatDigest, parseDigest } from '../oci/digest.js';
import { MEDIA_TYPES } from '../oci/mediatypes.js';
import { pageTags } from '../storage/tags.js';
import { nextLink, paginate, readPagination, sendJson } from './respond.js';

/**
 * listTags answers GET /v2/<name>/tags/list (sorted, with n, last and a Link header). The page is
 * cut from the tag folder names before any tag is resolved, so `?n=10` of 13,000 tags resolves 11.
 */
export async function listTags(ctx: RequestContext, name: string): Promise<void> {
  const { store, url, req, res } = ctx;
  const page = readPagination(url.searchParams);
  if (!(await store.manifests.exists(name))) throw new RegistryError('NAME_UNKNOWN', `repository ${name} not known to registry`);
  const { tags: items, more } = await pageTags(store, name, page);
  const headers: Record<string, string> = {};
  if (more) headers.Link = nextLink(`/v2/${name}/tags/list`, page.n!, items[items.length - 1]!);
  sendJson(req, res, 200, { name, tags: items }, headers);
}

/** listCatalog answers GET /v2/_catalog likewise, listing only repositories the requester may pull. */
export async function listCatalog(ctx: RequestContext): Promise<void> {
  const { store, url, req, res } = ctx;
  const page = readPagination(url.searchParams);
  // Only what the requester may pull: per-repository access rules must not leak private names.
  // Not a repository whose every tag was deleted and collected (storage/catalog.ts).
  const all = await store.catalog();
  const visible: string[] = [];
  for (const name of all) if (await ctx.mayPull(name)) visible.push(name);
  const { items, more } = paginate(visible, page);
  const headers: Record<string, string> = {};
  if (more) headers.Link = nextLink('/v2/_catalog', page.n!, items[items.length - 1]!);
  sendJson(req, res, 200, { repositories: items }, headers);
}

/**
 * listReferrers answers GET /v2/<name>/referrers/<digest>, optionally filtered by artifactType.
 * A long answer is paged (the spec's Link header, rel="next"; `last` is our cursor).
 */
export async function listReferrers(ctx: RequestContext, name: string, digestText: string): Promise<void> {
  const { store, url, req, res } = ctx;
  const d = parseDigest(digestText);
  const artifactType = url.searchParams.get('artifactType') ?? undefined;
  const lastText = url.searchParams.get('last');
  const after = lastText === null ? undefined : formatDigest(parseDigest(lastText));
  const page = await store.referrersPage(name, d, { artifactType, after });
  const headers: Record<string, string> = { 'Content-Type': MEDIA_TYPES.ociIndex };
  if (artifactType !== undefined) headers['OCI-Filters-Applied'] = 'artifactType';
  if (page.next !== undefined) {
    const q = new URLSearchParams({ ...(artifactType !== undefined ? { artifactType } : {}), last: page.next });
    headers.Link = `</v2/${name}/referrers/${formatDigest(d)}?${q}>; rel="next"`;
  }
  sendJson(req, res, 200, { schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: page.manifests }, headers);
}
