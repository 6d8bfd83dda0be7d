// Paged tag listing. A repository may hold tens of thousands of tags, and resolving one costs two
// link reads, so a page is cut before anything is resolved: list the tag folders (one readdir),
// sort their names, skip to after `last`, then resolve candidates in order, a few at a time, only
// until the page is full (and one more, to know whether another page follows).
// https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#listing-tags
import type { ImageStore } from './store.js';
import { isValidTag } from '../oci/names.js';
import { compareLexical } from './manifests.js';
import { takeInOrder } from '../common/bounded.js';

/** TagPageRequest is the spec's `n` (undefined: every tag) and `last`. */
export interface TagPageRequest {
  n: number | undefined;
  last: string | undefined;
}

/** TagPage is one page of live tags and whether more follow. */
export interface TagPage {
  tags: string[];
  more: boolean;
}

/**
 * tagFolderNames lists the names of a repository's tag folders that are valid tags, in lexical
 * order, without resolving any: a folder left half-written by a crash, or a tag whose revision is
 * gone, is among them (ManifestStore.tags drops those).
 */
export async function tagFolderNames(store: ImageStore, repo: string): Promise<string[]> {
  const names = await store.driver.list(store.paths.tagsRoot(repo));
  return names.filter((n) => isValidTag(n)).sort(compareLexical);
}

/** namesAfter keeps the names of a sorted list that sort after `last` (all of them without `last`). */
export function namesAfter(sorted: string[], last: string | undefined): string[] {
  if (last === undefined) return sorted;
  // Binary search for the first name > last: the list is sorted by compareLexical.
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareLexical(sorted[mid]!, last) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return sorted.slice(lo);
}

/**
 * pageTags answers one page of GET /v2/<name>/tags/list: the live tags after `last`, at most `n`
 * of them (every one without `n`), and whether more live tags follow (for the Link header).
 */
export async function pageTags(store: ImageStore, repo: string, page: TagPageRequest): Promise<TagPage> {
  if (page.n === 0) return { tags: [], more: false };
  const candidates = namesAfter(await tagFolderNames(store, repo), page.last);
  const limit = page.n === undefined ? undefined : page.n + 1;
  const live = await takeInOrder(candidates, limit, async (tag) => ((await store.manifests.resolve(repo, tag)) ? tag : undefined));
  if (page.n !== undefined && live.length > page.n) return { tags: live.slice(0, page.n), more: true };
  return { tags: live, more: false };
}
