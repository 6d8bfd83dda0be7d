// gc's lease on an object store: one gc at a time per bucket and prefix, and the store's own clock
// for the run's start. A filesystem needs neither (its renames are atomic, its clock is the host's).
//
// The lease is one object, `docker/registry/v2/_gc/lease`, created with If-None-Match: * (only one
// creator wins) and rewritten every RENEW_MS while the run lasts. A lease not rewritten for STALE_MS
// (by the store's clock: a probe object's time) belongs to a gc that died; the next gc takes it over.
// The run's start is the lease's Last-Modified: gc compares it with the times the store gave the
// touch records (docs/storage-s3.md "Several replicas"), never with a host's clock.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { StorageDriver } from './driver.js';
import type { StoragePaths } from './paths.js';
import { HelperError } from '../errors/helper-error.js';

/** RENEW_MS: how often a running gc rewrites its lease. */
export const RENEW_MS = 10_000;
/** STALE_MS: a lease not rewritten for this long is a dead gc's. */
export const STALE_MS = 6 * RENEW_MS;

/** GcLease is a held lease. */
export interface GcLease {
  /** when the lease was taken, by the store's clock (ms) */
  startedAt: number;
  /** check throws when the lease may have been lost (renewals failed for too long, or another gc took it) */
  check(): void;
  release(): Promise<void>;
}

interface LeaseBody {
  owner: string;
  host: string;
  pid: number;
  renewMs: number;
}

/** gcLeasePath is the lease object's path. */
export function gcLeasePath(paths: StoragePaths): string {
  return join(paths.root, '_gc', 'lease');
}

/** storeNow is the store's clock: the time it gives a probe object written now (in `dir`, `<root>/_gc` by default). */
export async function storeNow(driver: StorageDriver, paths: StoragePaths, dir = join(paths.root, '_gc')): Promise<number> {
  const probe = join(dir, `clock-${randomBytes(6).toString('hex')}`);
  await driver.writeFileAtomic(probe, '');
  try {
    return (await driver.stat(probe)).mtimeMs;
  } finally {
    await driver.deleteIfExists(probe).catch(() => false);
  }
}

async function readBody(driver: StorageDriver, path: string): Promise<LeaseBody | undefined> {
  try {
    return JSON.parse((await driver.readFile(path)).toString('utf8')) as LeaseBody;
  } catch {
    return undefined;
  }
}

/** takeGcLease takes the lease or throws `locked` naming the gc that holds it. */
export async function takeGcLease(driver: StorageDriver, paths: StoragePaths, log: (line: string) => void = () => {}): Promise<GcLease> {
  const path = gcLeasePath(paths);
  const body: LeaseBody = { owner: randomBytes(8).toString('hex'), host: hostname(), pid: process.pid, renewMs: RENEW_MS };
  const text = JSON.stringify(body);
  if (!(await driver.createExclusive(path, text))) {
    const held = await driver.stat(path).catch(() => undefined);
    const holder = await readBody(driver, path);
    const who = holder ? `${holder.host} pid ${holder.pid}` : 'another gc';
    if (held && (await storeNow(driver, paths)) - held.mtimeMs < STALE_MS) {
      throw new HelperError('locked', `another gc runs on this storage (${who}, lease renewed ${new Date(held.mtimeMs).toISOString()})`);
    }
    log(`taking over the lease of ${who}: not renewed for ${STALE_MS / 1000} s`);
    await driver.deleteIfExists(path);
    if (!(await driver.createExclusive(path, text))) throw new HelperError('locked', 'another gc took the stale gc lease first');
  }
  const startedAt = (await driver.stat(path)).mtimeMs;
  // Time since the last renewal this process saw succeed, on its own monotonic clock.
  let renewedAt = performance.now();
  let lost: string | undefined;
  let renewing: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    const sent = performance.now();
    renewing = (async () => {
      const now = await readBody(driver, path);
      if (now?.owner !== body.owner) {
        lost = 'another gc took the lease';
        return;
      }
      await driver.writeFileAtomic(path, text);
      renewedAt = sent;
    })().catch(() => {});
  }, RENEW_MS);
  timer.unref();
  return {
    startedAt,
    check() {
      // Renewals failing for half the stale limit: another gc may soon judge the lease dead.
      if (!lost && performance.now() - renewedAt > STALE_MS / 2) lost = `the lease could not be renewed for ${STALE_MS / 2000} s`;
      if (lost) throw new HelperError('storage', `gc stopped: ${lost}; nothing more is deleted`);
    },
    async release() {
      clearInterval(timer);
      await renewing;
      if ((await readBody(driver, path))?.owner === body.owner) await driver.deleteIfExists(path).catch(() => false);
    },
  };
}
