// Records of the pull-through cache, written the way the serving side writes them
// (docs/cache.md; tools/src/cache/records.ts defines the format, storage/cache-expiry.ts reads it): one JSON file
// per cached manifest at `<storage>/cache/<repository>/<algorithm>/<hex>.json`. In a real storage
// the serving side produces them as it caches an upstream's manifests; gc tests write them
// themselves beside content pushed into `<prefix>/...` repositories.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** CacheRecordFields are a record's fields; the times as Dates. */
export interface CacheRecordFields {
  upstream: string;
  repository: string;
  digest: string;
  tags: string[];
  size: number;
  fetchedAt: Date;
  lastPulledAt: Date;
}

/** cacheRecordKey is a record's path relative to the storage root (an S3 key after the storage's prefix). */
export function cacheRecordKey(repository: string, digest: string): string {
  const [algorithm, hex] = digest.split(':') as [string, string];
  return ['cache', ...repository.split('/'), algorithm, `${hex}.json`].join('/');
}

/** cacheRecordFile is where the record of `repository@digest` lives in a filesystem storage. */
export function cacheRecordFile(storage: string, repository: string, digest: string): string {
  return join(storage, ...cacheRecordKey(repository, digest).split('/'));
}

/** cacheRecordText is a record's content by the documented format. */
export function cacheRecordText(r: CacheRecordFields): string {
  return `${JSON.stringify({ ...r, fetchedAt: r.fetchedAt.toISOString(), lastPulledAt: r.lastPulledAt.toISOString() })}\n`;
}

/** writeCacheRecord writes one record into a filesystem storage; returns its path. */
export async function writeCacheRecord(storage: string, r: CacheRecordFields): Promise<string> {
  const file = cacheRecordFile(storage, r.repository, r.digest);
  await mkdir(join(file, '..'), { recursive: true });
  await writeFile(file, cacheRecordText(r));
  return file;
}
