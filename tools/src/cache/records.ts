// The record that marks a manifest as cached from an upstream (the format gc reads to expire cached
// content by age and size; pushed content has none). One JSON file per cached manifest, written
// through the storage driver beside distribution's tree (so it works on S3 too):
//
//   <storage>/cache/<repository>/<algorithm>/<hex>.json
//   { "upstream": "docker.io", "repository": "docker.io/library/alpine", "digest": "sha256:...",
//     "tags": ["3.20"], "size": 1234567, "fetchedAt": "ISO-8601", "lastPulledAt": "ISO-8601" }
//
// `size` is the manifest's bytes plus those of every blob it names (an index counts only itself: its
// children have records of their own). `lastPulledAt` is written at most once a minute per record.
import { join } from 'node:path';
import type { StorageDriver } from '../storage/driver.js';
import { PathNotFound } from '../storage/driver.js';
import { formatDigest, tryParseDigest, type Digest } from '../oci/digest.js';
import { isValidTag } from '../oci/names.js';

/** CACHE_RECORDS_DIR is the folder of the records under the storage root (beside `docker/`). */
export const CACHE_RECORDS_DIR = 'cache';

/** PULL_STAMP_MS is how often lastPulledAt is written at most, per record. */
export const PULL_STAMP_MS = 60_000;

/** CacheRecord is one cached manifest. */
export interface CacheRecord {
  upstream: string;
  repository: string;
  digest: string;
  tags: string[];
  size: number;
  fetchedAt: string;
  lastPulledAt: string;
}

/** cacheRecordPath is where the record of manifest `d` of `repository` lives under `storageDir`. */
export function cacheRecordPath(storageDir: string, repository: string, d: Digest): string {
  return join(storageDir, CACHE_RECORDS_DIR, ...repository.split('/'), d.algorithm, `${d.hex}.json`);
}

/** RecordFormatError says how a record's text is not the format (or not where it lies). */
export class RecordFormatError extends Error {}

const isTime = (v: unknown): v is string => typeof v === 'string' && Number.isFinite(Date.parse(v));

/**
 * parseCacheRecord checks a record's text against the format and against where it lies (its
 * repository and digest must be the path's); a problem is thrown as an Error saying what is wrong.
 */
export function parseCacheRecord(text: string, at: { repository: string; digest: Digest }): CacheRecord {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new RecordFormatError('not JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new RecordFormatError('not a JSON object');
  const r = v as Record<string, unknown>;
  if (typeof r.upstream !== 'string' || !r.upstream) throw new RecordFormatError('no "upstream"');
  if (r.repository !== at.repository) throw new RecordFormatError(`"repository" is ${JSON.stringify(r.repository)}, the path says ${at.repository}`);
  if (typeof r.digest !== 'string' || tryParseDigest(r.digest) === undefined || r.digest !== formatDigest(at.digest)) {
    throw new RecordFormatError(`"digest" is ${JSON.stringify(r.digest)}, the path says ${formatDigest(at.digest)}`);
  }
  if (!Array.isArray(r.tags) || !r.tags.every((tag) => typeof tag === 'string' && isValidTag(tag))) throw new RecordFormatError('"tags" is not a list of tags');
  if (typeof r.size !== 'number' || !Number.isSafeInteger(r.size) || r.size < 0) throw new RecordFormatError('"size" is not a byte count');
  if (!isTime(r.fetchedAt)) throw new RecordFormatError('"fetchedAt" is not an ISO-8601 time');
  if (!isTime(r.lastPulledAt)) throw new RecordFormatError('"lastPulledAt" is not an ISO-8601 time');
  return {
    upstream: r.upstream,
    repository: r.repository,
    digest: r.digest,
    tags: r.tags as string[],
    size: r.size,
    fetchedAt: r.fetchedAt,
    lastPulledAt: r.lastPulledAt,
  };
}

/** CacheRecords reads and writes the records, one change at a time per record. */
export class CacheRecords {
  private readonly queues = new Map<string, Promise<unknown>>();
  /** when this process last wrote lastPulledAt, per record */
  private readonly stamped = new Map<string, number>();

  constructor(
    private readonly driver: StorageDriver,
    private readonly storageDir: string,
  ) {}

  /** read returns a record, or undefined when there is none (or it is unreadable). */
  async read(repository: string, d: Digest): Promise<CacheRecord | undefined> {
    try {
      const text = (await this.driver.readFile(cacheRecordPath(this.storageDir, repository, d))).toString('utf8');
      return parseCacheRecord(text, { repository, digest: d });
    } catch (err) {
      if (err instanceof PathNotFound || err instanceof RecordFormatError) return undefined;
      throw err;
    }
  }

  private change(repository: string, d: Digest, edit: (r: CacheRecord | undefined) => CacheRecord | undefined): Promise<void> {
    const key = `${repository}@${formatDigest(d)}`;
    const run = (this.queues.get(key) ?? Promise.resolve()).then(async () => {
      const next = edit(await this.read(repository, d));
      if (next) await this.driver.writeFileAtomic(cacheRecordPath(this.storageDir, repository, d), `${JSON.stringify(next)}\n`);
    });
    const settled = run.catch(() => {});
    this.queues.set(key, settled);
    void settled.then(() => {
      if (this.queues.get(key) === settled) this.queues.delete(key);
    });
    return run;
  }

  /** fetched records a manifest just fetched from `upstream` (and `tag` pointing at it, when given). */
  fetched(o: { upstream: string; repository: string; digest: Digest; size: number; tag?: string }): Promise<void> {
    const now = new Date().toISOString();
    this.stamped.set(`${o.repository}@${formatDigest(o.digest)}`, Date.now());
    return this.change(o.repository, o.digest, (r) => ({
      upstream: o.upstream,
      repository: o.repository,
      digest: formatDigest(o.digest),
      tags: [...new Set([...(r?.tags ?? []), ...(o.tag ? [o.tag] : [])])].sort(),
      size: o.size,
      fetchedAt: now,
      lastPulledAt: now,
    }));
  }

  /** tagged records that `tag` now points at `d` (it came from the upstream unchanged). */
  tagged(repository: string, d: Digest, tag: string): Promise<void> {
    return this.change(repository, d, (r) => (r && !r.tags.includes(tag) ? { ...r, tags: [...r.tags, tag].sort() } : undefined));
  }

  /** untagged records that `tag` left `d` (the upstream moved it). */
  untagged(repository: string, d: Digest, tag: string): Promise<void> {
    return this.change(repository, d, (r) => (r?.tags.includes(tag) ? { ...r, tags: r.tags.filter((x) => x !== tag) } : undefined));
  }

  /** pulled refreshes lastPulledAt, at most once per PULL_STAMP_MS per record (no write per pull). */
  async pulled(repository: string, d: Digest): Promise<void> {
    const key = `${repository}@${formatDigest(d)}`;
    const last = this.stamped.get(key);
    if (last !== undefined && Date.now() - last < PULL_STAMP_MS) return;
    this.stamped.set(key, Date.now());
    if (this.stamped.size > 100_000) this.stamped.clear();
    await this.change(repository, d, (r) => {
      if (!r) return undefined;
      // Another process (a worker of several) may have stamped it meanwhile.
      if (Date.now() - Date.parse(r.lastPulledAt) < PULL_STAMP_MS) return undefined;
      return { ...r, lastPulledAt: new Date().toISOString() };
    });
  }
}
