// Liveness and readiness. /healthz answers 200 while the process serves; /readyz runs named checks
// (storage writable, free disk, TLS certificate validity, htpasswd readable) and answers 503 when
// one fails (a pull-through cache's upstream is shown, up or down, but never fails it), so a supervisor or `container-registry status` can tell "up" from "able to take a push".
// The checks cost a synced write, so one result serves every caller for READINESS_MAX_AGE_MS and
// concurrent callers share the check in progress; callers who may not see paths get names and flags.
// Storage is checked through its driver (a probe write and the free space: on S3 a PUT and a DELETE,
// and no free-space limit); the certificate and the users file are the helper's own local files.
import { X509Certificate } from 'node:crypto';
import { access, constants, readFile } from 'node:fs/promises';
import type { StorageDriver } from '../storage/driver.js';
import type { UpstreamState } from '../cache/upstream.js';

/** DEFAULT_MIN_FREE_BYTES is the free disk below which the registry reports not ready (256 MiB). */
export const DEFAULT_MIN_FREE_BYTES = 256 * 1024 * 1024;

/** ReadinessOptions say what to check. */
export interface ReadinessOptions {
  storageDir: string;
  /** the storage's driver, which does the probe write and tells the free space */
  driver: StorageDriver;
  /** free space the storage filesystem must keep */
  minFreeBytes?: number;
  /** the server certificate, when serving HTTPS */
  certFile?: string;
  /** the users file, when logins are checked */
  htpasswdFile?: string;
  /** the pull-through cache's upstreams: one check each, which never makes the registry not ready (it serves what is cached) */
  upstreams?: () => UpstreamState[];
  /** serving read-only: no probe write (the storage may be read-only too); /readyz says read-only */
  readOnly?: boolean;
}

/** ReadinessCheck is one named result; `detail` says why in a few words. */
export interface ReadinessCheck {
  name: string;
  ok: boolean;
  detail: string;
}

/** Readiness is the /readyz body. */
export interface Readiness {
  status: 'ready' | 'not-ready';
  /** `read-only`: ready to serve pulls, refusing writes (`serve --read-only`) */
  mode?: 'read-only';
  checks: ReadinessCheck[];
}

async function storageWritable(driver: StorageDriver, dir: string): Promise<ReadinessCheck> {
  // A real write, synced: a read-only remount, a full disk or a bucket refusing writes shows here, not at the next push.
  try {
    await driver.checkWritable(dir);
    return { name: 'storage-writable', ok: true, detail: dir };
  } catch (err) {
    return { name: 'storage-writable', ok: false, detail: `${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
  }
}

async function freeDisk(driver: StorageDriver, dir: string, min: number): Promise<ReadinessCheck> {
  try {
    const free = await driver.freeBytes(dir);
    if (free === undefined) return { name: 'disk-free', ok: true, detail: `${driver.kind}: no free-space limit to check` };
    const mib = (n: number) => `${Math.floor(n / 1024 / 1024)} MiB`;
    return { name: 'disk-free', ok: free >= min, detail: `${mib(free)} free, ${mib(min)} required` };
  } catch (err) {
    return { name: 'disk-free', ok: false, detail: (err as Error).message };
  }
}

async function certificate(file: string): Promise<ReadinessCheck> {
  try {
    const cert = new X509Certificate(await readFile(file));
    const days = Math.floor((Date.parse(cert.validTo) - Date.now()) / 86_400_000);
    const notYet = Date.parse(cert.validFrom) > Date.now();
    const ok = days >= 0 && !notYet;
    return { name: 'tls-certificate', ok, detail: notYet ? `not valid before ${cert.validFrom}` : `${days} day(s) left (until ${cert.validTo})` };
  } catch (err) {
    return { name: 'tls-certificate', ok: false, detail: `${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
  }
}

async function readable(name: string, file: string): Promise<ReadinessCheck> {
  try {
    await access(file, constants.R_OK);
    return { name, ok: true, detail: file };
  } catch (err) {
    return { name, ok: false, detail: `${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
  }
}

/** PublicReadinessCheck is a check as anyone may see it: no detail (paths, file names). */
export interface PublicReadinessCheck {
  name: string;
  ok: boolean;
}

/** PublicReadiness is the /readyz body for callers who may not see details. */
export interface PublicReadiness {
  status: Readiness['status'];
  mode?: Readiness['mode'];
  checks: PublicReadinessCheck[];
}

/** withoutDetails drops every check's detail (absolute paths, the users file's name). */
export function withoutDetails(r: Readiness): PublicReadiness {
  return { status: r.status, ...(r.mode ? { mode: r.mode } : {}), checks: r.checks.map((c) => ({ name: c.name, ok: c.ok })) };
}

/** READINESS_MAX_AGE_MS is how long one result of the checks answers /readyz. */
export const READINESS_MAX_AGE_MS = 2000;

/**
 * ReadinessCache hands out a result of checkReadiness at most `maxAgeMs` old (counted from when
 * the check finished) and runs at most one check at a time: callers meanwhile share it.
 */
export class ReadinessCache {
  private last: { result: Readiness; at: number } | undefined;
  private running: Promise<Readiness> | undefined;

  constructor(
    private readonly o: ReadinessOptions,
    private readonly maxAgeMs = READINESS_MAX_AGE_MS,
  ) {}

  /** get returns a fresh-enough result. */
  async get(): Promise<Readiness> {
    if (this.last && Date.now() - this.last.at < this.maxAgeMs) return this.last.result;
    this.running ??= checkReadiness(this.o)
      .then((result) => {
        this.last = { result, at: Date.now() };
        return result;
      })
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }
}

/** READ_ONLY_CHECK stands for the write probes of a registry serving read-only: it writes nothing, so it needs no writable storage. */
const READ_ONLY_CHECK: ReadinessCheck = { name: 'read-only', ok: true, detail: 'serving read-only (serve --read-only): pulls only, writes refused' };

/** checkReadiness runs every applicable check (concurrently) and sums them up. */
export async function checkReadiness(o: ReadinessOptions): Promise<Readiness> {
  const checks = await Promise.all([
    o.readOnly ? Promise.resolve(READ_ONLY_CHECK) : storageWritable(o.driver, o.storageDir),
    ...(o.readOnly ? [] : [freeDisk(o.driver, o.storageDir, o.minFreeBytes ?? DEFAULT_MIN_FREE_BYTES)]),
    ...(o.certFile ? [certificate(o.certFile)] : []),
    ...(o.htpasswdFile ? [readable('htpasswd-readable', o.htpasswdFile)] : []),
  ]);
  const ready = checks.every((c) => c.ok);
  for (const u of o.upstreams?.() ?? []) {
    // `unknown` (nothing asked yet) is not a failure: the first pull tells.
    const detail = u.state === 'down' ? `${u.url}: down since ${u.since} (${u.reason})` : u.state === 'up' ? `${u.url}: up` : `${u.url}: not asked yet`;
    checks.push({ name: `upstream ${u.host}`, ok: u.state !== 'down', detail });
  }
  return { status: ready ? 'ready' : 'not-ready', ...(o.readOnly ? { mode: 'read-only' as const } : {}), checks };
}
