// /metrics in the Prometheus text format. Every number comes from the event bus (requests, blob
// transfers, manifest events, auth failures), from storage totals walked at most every few seconds,
// or from the gc totals file the separate gc process writes.
import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RegistryEvents } from './events.js';
import type { StatsCache, StorageStats } from '../storage/stats.js';
import { readGcStats, type GcStats } from '../state/gc-stats.js';
import type { StateDir } from '../state/state-dir.js';
import type { DeliveryCounters } from './webhooks.js';
import type { CacheCounters } from '../cache/pull-through.js';

// Label values stay a small fixed set whatever clients send.
const METHODS = new Set(['GET', 'HEAD', 'PUT', 'POST', 'PATCH', 'DELETE', 'OPTIONS']);

/** RegistryMetrics owns one prom-client registry (never the global one: two servers in a process stay apart). */
export class RegistryMetrics {
  readonly registry = new Registry();
  /** where the webhook sender counts its deliveries */
  readonly delivery: DeliveryCounters;
  /** where the pull-through cache counts hits, misses and bytes fetched */
  readonly cache: CacheCounters;

  constructor(events: RegistryEvents, stats: StatsCache, state: StateDir) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'registry_process_' });

    const requests = new Counter({
      name: 'registry_http_requests_total',
      help: 'HTTP requests by method, route kind and status',
      labelNames: ['method', 'route', 'status'] as const,
      registers,
    });
    const duration = new Histogram({
      name: 'registry_http_request_duration_seconds',
      help: 'HTTP request duration by method, route kind and status',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    });
    events.on('request', (r) => {
      const labels = { method: METHODS.has(r.method) ? r.method : 'other', route: r.route, status: String(r.status) };
      requests.inc(labels);
      duration.observe(labels, r.seconds);
    });

    const uploads = new Counter({ name: 'registry_storage_blob_upload_total', help: 'Blobs uploaded (committed)', registers });
    const uploadBytes = new Counter({ name: 'registry_storage_blob_upload_bytes_total', help: 'Bytes of blobs uploaded (committed)', registers });
    events.on('blobUpload', (b) => {
      uploads.inc();
      uploadBytes.inc(b.bytes);
      stats.invalidate();
    });
    const downloads = new Counter({ name: 'registry_storage_blob_download_total', help: 'Blob downloads served in full or in part', registers });
    const downloadBytes = new Counter({ name: 'registry_storage_blob_download_bytes_total', help: 'Bytes of blobs served', registers });
    events.on('blobDownload', (b) => {
      downloads.inc();
      downloadBytes.inc(b.bytes);
    });
    const manifests = new Counter({
      name: 'registry_manifest_events_total',
      help: 'Manifest pushes, pulls (GET) and deletes',
      labelNames: ['action'] as const,
      registers,
    });
    events.on('manifest', (e) => {
      manifests.inc({ action: e.action });
      if (e.action !== 'pull') stats.invalidate();
    });
    const authFailures = new Counter({
      name: 'registry_auth_failures_total',
      help: 'Requests the access policy turned away, by reason (missing, bad, denied, throttled)',
      labelNames: ['reason'] as const,
      registers,
    });
    events.on('authFailure', (f) => authFailures.inc({ reason: f.reason }));

    // Storage totals: every gauge asks the cache, which walks at most once at a time. With several
    // workers each reports the same storage: /metrics takes the largest (peers.ts), not the sum.
    const gauge = (name: string, help: string, pick: (s: StorageStats) => number) =>
      new Gauge({
        name,
        help,
        registers,
        aggregator: 'max',
        async collect() {
          this.set(pick(await stats.get()));
        },
      });
    gauge('registry_storage_size_bytes', 'Bytes of blob content in storage', (s) => s.bytes);
    gauge('registry_storage_blobs', 'Blobs in storage', (s) => s.blobs);
    gauge('registry_repositories', 'Repositories', (s) => s.repositories);
    gauge('registry_tags', 'Tags over all repositories', (s) => s.tags);
    gauge('registry_uploads_in_progress', 'Upload sessions open in storage', (s) => s.uploads);

    // gc totals: cumulative, kept by the gc process in a file; read at each scrape.
    const fromGc = (pick: (g: GcStats) => number) =>
      async function collect(this: Counter | Gauge) {
        const value = pick(await readGcStats(state));
        if (this instanceof Counter) {
          this.reset();
          this.inc(value);
        } else {
          this.set(value);
        }
      };
    new Counter({
      name: 'registry_gc_runs_total',
      help: 'Garbage collection runs (container-registry gc) on this storage',
      registers,
      aggregator: 'max',
      collect: fromGc((g) => g.runs),
    });
    new Counter({
      name: 'registry_gc_bytes_freed_total',
      help: 'Bytes freed by garbage collection',
      registers,
      aggregator: 'max',
      collect: fromGc((g) => g.bytesFreed),
    });
    new Counter({
      name: 'registry_gc_cache_expired_total',
      help: 'Cached manifests expired by gc (--cache-max-age, --cache-max-size)',
      registers,
      aggregator: 'max',
      collect: fromGc((g) => g.cacheExpired),
    });
    new Gauge({
      name: 'registry_gc_last_run_timestamp_seconds',
      help: 'When gc last ran (0: never)',
      registers,
      aggregator: 'max',
      collect: fromGc((g) => (g.lastRun ? Date.parse(g.lastRun) / 1000 : 0)),
    });

    this.delivery = webhookMetrics(this.registry);
    this.cache = cacheMetrics(this.registry);
  }

  /** render is the exposition text and its content type. */
  async render(): Promise<{ body: string; contentType: string }> {
    return { body: await this.registry.metrics(), contentType: this.registry.contentType };
  }
}

/**
 * webhookMetrics makes the webhook delivery metrics in `registry` (a server's, or with several
 * workers the primary's, which sends every webhook) and returns what a Notifier counts into.
 */
export function webhookMetrics(registry: Registry = new Registry()): DeliveryCounters & { registry: Registry } {
  const registers = [registry];
  const notifications = new Counter({
    name: 'registry_notifications_total',
    help: 'Webhook deliveries by endpoint and outcome (sent, failed: retries exhausted, dropped: queue full)',
    labelNames: ['endpoint', 'outcome'] as const,
    registers,
  });
  const queue = new Gauge({
    name: 'registry_notifications_queue_length',
    help: 'Events waiting to be sent, by endpoint',
    labelNames: ['endpoint'] as const,
    registers,
  });
  return {
    registry,
    outcome: (endpoint, outcome, n) => notifications.inc({ endpoint, outcome }, n),
    queueLength: (endpoint, n) => queue.set({ endpoint }, n),
  };
}

/** cacheMetrics makes the pull-through cache's metrics in `registry` and returns what the cache counts into. */
export function cacheMetrics(registry: Registry): CacheCounters {
  const registers = [registry];
  const hits = new Counter({
    name: 'registry_cache_hits_total',
    help: 'Pull-through cache reads answered from storage, by kind (manifest, blob)',
    labelNames: ['kind'] as const,
    registers,
  });
  const misses = new Counter({
    name: 'registry_cache_misses_total',
    help: 'Pull-through cache reads that went to the upstream, by kind (manifest, blob)',
    labelNames: ['kind'] as const,
    registers,
  });
  const fetched = new Counter({ name: 'registry_cache_upstream_bytes_total', help: 'Bytes received from upstreams by the pull-through cache', registers });
  return {
    hit: (kind) => hits.inc({ kind }),
    miss: (kind) => misses.inc({ kind }),
    fetched: (n) => fetched.inc(n),
  };
}

/**
 * sumMetrics adds up several processes' metrics (each as getMetricsAsJSON gives them) the way each
 * metric says: counters and histograms summed, storage and gc figures the largest (every worker
 * reports the same storage), prom-client's own process metrics as it sets them.
 */
export async function sumMetrics(parts: unknown[][]): Promise<{ body: string; contentType: string }> {
  const sum = AggregatorRegistry.aggregate(parts as Parameters<typeof AggregatorRegistry.aggregate>[0]);
  return { body: await sum.metrics(), contentType: sum.contentType };
}
