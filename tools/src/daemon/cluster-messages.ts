// What the primary and its workers say to each other over node:cluster's IPC channel
// (cluster.ts, cluster-worker.ts), and how many workers a `serve` runs. Every message of ours has a
// `cr` field; node's own and prom-client's have none.
import { availableParallelism } from 'node:os';
import type { ManifestEvent } from '../registry/events.js';

/** MAX_DEFAULT_WORKERS caps the default: each worker is a Node process of 60-100 MiB. */
export const MAX_DEFAULT_WORKERS = 4;

/**
 * defaultWorkers is half the CPU count, from 1 to MAX_DEFAULT_WORKERS. The other half is for the
 * clients, which on a build host are on the same machine (the build pushes, QEMU pulls): on 2 CPUs
 * a second worker made the mixed load 0.75x as many pushes/s and 4 pushes of 1 GiB to disk 0.85x
 * as fast (bench/mixed.mjs, bench/cores.mjs; docs/benchmarks.md).
 */
export function defaultWorkers(cpus: number = availableParallelism()): number {
  return Math.max(1, Math.min(MAX_DEFAULT_WORKERS, Math.floor(cpus / 2)));
}

/** WORKER_ENV names what the primary tells a worker through its environment. */
export const WORKER_ENV = {
  /** the worker's slot, 1 to count */
  slot: 'CR_WORKER_SLOT',
  count: 'CR_WORKER_COUNT',
  /** the registry's instance id (every worker sends the same) */
  instance: 'CR_INSTANCE_ID',
} as const;

/** LoginOutcome is how a login attempt the primary admitted was settled. */
export type SettleOutcome = 'succeeded' | 'failed' | 'abandoned';

/** ToPrimary is what a worker sends. */
export type ToPrimary =
  | { cr: 'listening'; url: string; host: string; port: number }
  | { cr: 'failed'; code: string; message: string }
  | { cr: 'lock'; n: number; key: string }
  | { cr: 'unlock'; key: string }
  | { cr: 'changed' }
  | { cr: 'event'; event: ManifestEvent }
  | { cr: 'gather'; n: number }
  | { cr: 'metrics-json'; n: number; json?: unknown[]; error?: string }
  | { cr: 'login'; n: number; address: string; user: string }
  | { cr: 'settle'; attempt: number; outcome: SettleOutcome }
  | { cr: 'credential-key'; n: number }
  | { cr: 'verified'; key: string };

/** ToWorker is what the primary sends. */
export type ToWorker =
  | { cr: 'locked'; n: number }
  | { cr: 'changed' }
  | { cr: 'gathered'; n: number; body?: string; contentType?: string; error?: string }
  | { cr: 'metrics-json'; n: number }
  | { cr: 'admission'; n: number; retryAfter?: number; attempt?: number }
  | { cr: 'drain'; timeoutMs: number }
  | { cr: 'credential-key'; n: number; key: string }
  | { cr: 'verified'; key: string };

/** isOurs tells our messages from node's and prom-client's. */
export function isOurs<T extends { cr: string }>(message: unknown): message is T {
  return typeof message === 'object' && message !== null && typeof (message as { cr?: unknown }).cr === 'string';
}
