// Storage totals for /metrics and the web UI: bytes and count of blobs, repositories, tags and
// upload sessions. A walk of the tree costs a stat per blob, so one result serves every caller for
// a while and concurrent callers share the walk in progress.
import type { ImageStore } from './store.js';

/** StorageStats are the totals of one walk. */
export interface StorageStats {
  blobs: number;
  bytes: number;
  repositories: number;
  tags: number;
  uploads: number;
  /** when the walk finished (ms since the epoch) */
  at: number;
}

/** walkStats counts everything now. */
export async function walkStats(store: ImageStore): Promise<StorageStats> {
  let blobs = 0;
  let bytes = 0;
  for await (const f of store.driver.walk(store.paths.blobsRoot(), (name) => name === 'data')) {
    bytes += f.size;
    blobs++;
  }
  const repos = await store.repositories();
  let tags = 0;
  let uploads = 0;
  for (const repo of repos) {
    tags += (await store.manifests.tags(repo)).length;
    uploads += (await store.driver.list(store.paths.uploadsRoot(repo))).length;
  }
  return { blobs, bytes, repositories: repos.length, tags, uploads, at: Date.now() };
}

/** StatsCache hands out totals at most `maxAgeMs` old, walking at most once at a time. */
export class StatsCache {
  private last: StorageStats | undefined;
  private running: Promise<StorageStats> | undefined;

  constructor(
    private readonly store: ImageStore,
    private readonly maxAgeMs = 15_000,
  ) {}

  /** get returns fresh-enough totals. */
  async get(): Promise<StorageStats> {
    if (this.last && Date.now() - this.last.at < this.maxAgeMs) return this.last;
    this.running ??= walkStats(this.store).finally(() => {
      this.running = undefined;
    });
    this.last = await this.running;
    return this.last;
  }

  /** invalidate makes the next get walk again (after a push or delete the UI wants fresh numbers). */
  invalidate(): void {
    this.last = undefined;
  }
}
