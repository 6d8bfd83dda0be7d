// What one serving process needs of the others when several serve the same port and storage
// (`serve --workers N`; daemon/cluster.ts runs them and daemon/cluster-worker.ts implements this
// over the IPC channel to the primary). A single process has no peers: everything below is then
// already true of it alone.
//
// What the storage on disk does not already share:
//   - an upload session's operations, one at a time across processes (sessionLocks);
//   - storage totals cached for /metrics and the UI, made stale by another worker's push or delete
//     (storageChanged / onStorageChanged);
//   - /metrics, which must give the same totals whichever worker answers (metrics: the primary
//     gathers every worker's and adds them up);
//   - the login limiter, one for all (auth/limiter.ts LoginLimiter; given to secure mode).
//   - webhooks: each event is made in the one worker that served its request and handed to the
//     primary, which sends it once, from one bounded queue per endpoint as a single process does
//     (notify).
// Manifest caches need nothing: they are keyed by digest (content that never changes), and every
// tag is read from disk at each request.
import type { SessionLocks } from '../storage/uploads.js';
import type { ManifestEvent } from './events.js';

/** MetricsJson is one process's metrics as prom-client's getMetricsAsJSON gives them. */
export type MetricsJson = unknown[];

/** Peers links one worker to the others (see above). */
export interface Peers {
  /** this worker's slot, 1 to `count` (a replacement takes the slot of the one it replaces) */
  readonly worker: number;
  /** workers in all */
  readonly count: number;
  /** sessionLocks serialise each upload session's operations across processes */
  readonly sessionLocks: SessionLocks;
  /** storageChanged tells the other workers that stored content changed */
  storageChanged(): void;
  /** onStorageChanged hears another worker's storageChanged */
  onStorageChanged(listener: () => void): void;
  /** provideMetrics names what this worker contributes to the sum of everyone's metrics */
  provideMetrics(local: () => Promise<MetricsJson>): void;
  /** metrics is every worker's metrics together, in the Prometheus text format */
  metrics(): Promise<{ body: string; contentType: string }>;
  /** notify hands a manifest event to the primary's webhook sender */
  notify(event: ManifestEvent): void;
}

/** WORKER_HEADER names the worker that answered, on every response when there are several. */
export const WORKER_HEADER = 'X-Container-Registry-Worker';
