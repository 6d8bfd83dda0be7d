// Expiry of the pull-through cache's content, the first step of a gc run given limits
// (--cache-max-age, --cache-max-size), over the records the serving side writes (cache/records.ts).
//
// Expiring a record removes its tags (those still pointing at it), its manifest revision and the
// record; the mark and sweep that follows deletes the blobs nothing references any more, so a blob
// a pushed image also uses stays. Pushed content has no record and never expires. A record that
// does not read as the format says is reported and left alone.
import { join } from 'node:path';
import type { ImageStore } from './store.js';
import type { StoragePaths } from './paths.js';
import { readLink } from './links.js';
import { formatDigest, tryParseDigest, type Digest } from '../oci/digest.js';
import { isValidRepositoryName } from '../oci/names.js';
import { CACHE_RECORDS_DIR, cacheRecordPath, parseCacheRecord, type CacheRecord } from '../cache/records.js';

/** MAX_RECORD_BYTES bounds what is read of one record (a record is a few hundred bytes). */
const MAX_RECORD_BYTES = 64 * 1024;

/** CacheLimits are gc's cache limits; either may be absent. */
export interface CacheLimits {
  /** records last pulled longer ago than this expire */
  maxAgeMs?: number | undefined;
  /** then the least recently pulled expire until the records' total is at most this */
  maxBytes?: number | undefined;
}

/** ExpiredRecord is one cached manifest gc removed (or would, in a dry run). */
export interface ExpiredRecord {
  upstream: string;
  repository: string;
  digest: string;
  /** the tags removed with it */
  tags: string[];
  size: number;
  lastPulledAt: string;
  /** which limit expired it */
  reason: 'max-age' | 'max-size';
}

/** SkippedRecord is a record gc could not use, or a manifest it kept although its record expired. */
export interface SkippedRecord {
  path: string;
  problem: string;
}

/** CacheExpiry is what the expiry step did. */
export interface CacheExpiry {
  expired: ExpiredRecord[];
  skipped: SkippedRecord[];
  /** records left, and the bytes they count */
  recordsKept: number;
  bytesKept: number;
}

/** cacheRecordsRoot is `<storage>/cache`. */
export function cacheRecordsRoot(paths: StoragePaths): string {
  return join(paths.storageDir, CACHE_RECORDS_DIR);
}

/** RecordAt is a record with where it was found and its times as numbers. */
export interface RecordAt {
  path: string;
  record: CacheRecord;
  digest: Digest;
  lastPulledMs: number;
}

/** readCacheRecords reads every record through the driver; what does not read is in `skipped`. */
export async function readCacheRecords(store: ImageStore): Promise<{ records: RecordAt[]; skipped: SkippedRecord[] }> {
  const root = cacheRecordsRoot(store.paths);
  const records: RecordAt[] = [];
  const skipped: SkippedRecord[] = [];
  for await (const f of store.driver.walk(root, (name) => name.endsWith('.json'))) {
    // <root>/<repository...>/<alg>/<hex>.json
    const parts = f.path.slice(root.length + 1).split('/');
    const shown = `${CACHE_RECORDS_DIR}/${parts.join('/')}`;
    const repository = parts.slice(0, -2).join('/');
    const digest = tryParseDigest(`${parts.at(-2)}:${parts.at(-1)!.slice(0, -'.json'.length)}`);
    if (!repository || !isValidRepositoryName(repository) || !digest || cacheRecordPath(store.paths.storageDir, repository, digest) !== f.path) {
      skipped.push({ path: shown, problem: 'not at cache/<repository>/<algorithm>/<hex>.json' });
      continue;
    }
    if (f.size > MAX_RECORD_BYTES) {
      skipped.push({ path: shown, problem: `${f.size} bytes, too large for a record` });
      continue;
    }
    try {
      const record = parseCacheRecord((await store.driver.readFile(f.path)).toString('utf8'), { repository, digest });
      records.push({ path: f.path, record, digest, lastPulledMs: Date.parse(record.lastPulledAt) });
    } catch (err) {
      // Gone since the walk (expired by another gc, or refetched): nothing to say.
      if (!(await store.driver.exists(f.path))) continue;
      skipped.push({ path: shown, problem: (err as Error).message });
    }
  }
  return { records, skipped };
}

/**
 * chooseExpired picks the records to expire: older than maxAge, then the least recently pulled
 * until the rest is within maxBytes. Oldest first; ties by repository and digest, so a run is
 * repeatable.
 */
export function chooseExpired(records: RecordAt[], limits: CacheLimits, now: number): Map<RecordAt, ExpiredRecord['reason']> {
  const chosen = new Map<RecordAt, ExpiredRecord['reason']>();
  const order = [...records].sort(
    (a, b) => a.lastPulledMs - b.lastPulledMs || a.record.repository.localeCompare(b.record.repository) || a.record.digest.localeCompare(b.record.digest),
  );
  if (limits.maxAgeMs !== undefined) for (const r of order) if (now - r.lastPulledMs > limits.maxAgeMs) chosen.set(r, 'max-age');
  if (limits.maxBytes !== undefined) {
    let total = order.filter((r) => !chosen.has(r)).reduce((n, r) => n + r.record.size, 0);
    for (const r of order) {
      if (total <= limits.maxBytes) break;
      if (chosen.has(r)) continue;
      chosen.set(r, 'max-size');
      total -= r.record.size;
    }
  }
  return chosen;
}

/** childrenOf lists an index's child manifests (none for an image manifest or what does not parse). */
async function childrenOf(store: ImageStore, d: Digest): Promise<string[]> {
  try {
    return store.manifests.parse(d, await store.blobs.read(d)).manifests.map((m) => m.digest);
  } catch {
    return [];
  }
}

/**
 * keepChildren takes out of `chosen` every manifest a kept manifest of the same repository names as
 * its child: an index stays whole while it is kept (its children's records expire with it or later).
 */
async function keepChildren(store: ImageStore, records: RecordAt[], chosen: Map<RecordAt, unknown>, skipped: SkippedRecord[]): Promise<void> {
  const byKey = new Map(records.map((r) => [`${r.record.repository}@${r.record.digest}`, r]));
  const kept = records.filter((r) => !chosen.has(r));
  while (kept.length) {
    const r = kept.pop()!;
    for (const child of await childrenOf(store, r.digest)) {
      const c = byKey.get(`${r.record.repository}@${child}`);
      if (!c || !chosen.has(c)) continue;
      chosen.delete(c);
      kept.push(c);
      skipped.push({ path: relativeRecord(store, c.path), problem: `kept: a child of ${r.record.repository}@${r.record.digest}, which stays` });
    }
  }
}

/** relativeRecord is a record's path as reports show it (`cache/...`). */
function relativeRecord(store: ImageStore, path: string): string {
  return `${CACHE_RECORDS_DIR}/${path.slice(cacheRecordsRoot(store.paths).length + 1)}`;
}

/**
 * removeCached removes one cached manifest: its tags that still point at it, its revision, then its
 * record. A record pulled again since it was read (lastPulledAt changed) stays, and so does a
 * manifest a tag outside its record points at (a tag gc cannot tell came from the cache).
 */
async function removeCached(store: ImageStore, r: RecordAt): Promise<string | undefined> {
  const { repository } = r.record;
  const key = formatDigest(r.digest);
  let now: CacheRecord;
  try {
    now = parseCacheRecord((await store.driver.readFile(r.path)).toString('utf8'), { repository, digest: r.digest });
  } catch {
    return 'gone or changed while gc ran';
  }
  if (now.lastPulledAt !== r.record.lastPulledAt) return 'pulled again while gc ran';
  const pointing: string[] = [];
  for (const tag of await store.manifests.tags(repository)) {
    const current = await readLink(store.driver, store.paths.tagCurrentLink(repository, tag));
    if (current && formatDigest(current) === key) pointing.push(tag);
  }
  const outside = pointing.find((tag) => !now.tags.includes(tag));
  if (outside !== undefined) return `kept: tag ${outside}, not in its record, points at it`;
  const removed: string[] = [];
  for (const tag of pointing) if (await store.driver.deleteIfExists(store.paths.tagDir(repository, tag))) removed.push(tag);
  r.record.tags = removed;
  await store.driver.deleteIfExists(store.paths.manifestRevisionDir(repository, r.digest));
  await store.driver.deleteIfExists(r.path);
  await store.driver.removeEmptyFolder(join(r.path, '..'));
  return undefined;
}

/**
 * expireCache applies the limits: chooses the records to expire and (unless dryRun) removes their
 * manifests, so the mark and sweep after it frees the blobs only they used.
 */
export async function expireCache(
  store: ImageStore,
  limits: CacheLimits,
  o: { now?: number; dryRun?: boolean; log?: (line: string) => void } = {},
): Promise<CacheExpiry> {
  const now = o.now ?? Date.now();
  const log = o.log ?? (() => {});
  // What is skipped is in the result (the gc command prints it as warnings), not in the log.
  const { records, skipped } = await readCacheRecords(store);
  const chosen = chooseExpired(records, limits, now);
  await keepChildren(store, records, chosen, skipped);
  const expired: ExpiredRecord[] = [];
  for (const [r, reason] of chosen) {
    const problem = o.dryRun ? undefined : await removeCached(store, r);
    if (problem) {
      chosen.delete(r);
      skipped.push({ path: relativeRecord(store, r.path), problem });
      continue;
    }
    const { upstream, repository, digest, tags, size, lastPulledAt } = r.record;
    expired.push({ upstream, repository, digest, tags, size, lastPulledAt, reason });
  }
  const left = records.filter((r) => !chosen.has(r));
  const bytesKept = left.reduce((n, r) => n + r.record.size, 0);
  log(`cache: ${records.length} record(s); ${o.dryRun ? 'would expire' : 'expired'} ${expired.length}; ${left.length} left, ${bytesKept} bytes`);
  return { expired, skipped, recordsKept: left.length, bytesKept };
}
