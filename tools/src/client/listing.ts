// Tags and catalog, following Link pagination to the end.
// https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#content-discovery
import { CATALOG_SCOPE, repositoryScope } from './auth.js';
import type { RegistrySession } from './session.js';
import { discard, expectStatus, readBody } from './transport.js';

/** nextLink reads `<url>; rel="next"` from a Link header. */
export function nextLink(link: string | string[] | undefined): string | undefined {
  if (!link) return undefined;
  for (const part of (Array.isArray(link) ? link.join(',') : link).split(/,(?=\s*<)/)) {
    const m = /<([^>]*)>\s*;(.*)$/.exec(part.trim());
    if (m && /rel="?next"?/i.test(m[2]!)) return m[1];
  }
  return undefined;
}

async function paged<T>(s: RegistrySession, first: string, scopes: string[], field: string, maxPages = 10_000): Promise<T[] | undefined> {
  const out: T[] = [];
  let path: string | undefined = first;
  for (let page = 0; path && page < maxPages; page++) {
    const res = await s.request({ method: 'GET', path, headers: { Accept: 'application/json' } }, scopes);
    if (res.status === 404 && page === 0) {
      await discard(res);
      return undefined;
    }
    await expectStatus(res, 200);
    const doc = JSON.parse((await readBody(res)).toString('utf8')) as Record<string, unknown>;
    const items = doc[field];
    if (Array.isArray(items)) out.push(...(items as T[]));
    const next = nextLink(res.headers.link);
    path = next ? new URL(next, res.url).toString() : undefined;
  }
  return out;
}

/** listTags lists every tag of `repo` (undefined when the repository is unknown). */
export async function listTags(s: RegistrySession, repo: string, pageSize = 1000): Promise<string[] | undefined> {
  return paged<string>(s, `/v2/${repo}/tags/list?n=${pageSize}`, [repositoryScope(repo, 'pull')], 'tags');
}

/** catalog lists every repository the registry shows. */
export async function catalog(s: RegistrySession, pageSize = 1000): Promise<string[]> {
  return (await paged<string>(s, `/v2/_catalog?n=${pageSize}`, [CATALOG_SCOPE], 'repositories')) ?? [];
}
