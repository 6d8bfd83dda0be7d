// The composition root of a serving process: from the operator's choices to a running registry.
// composeServer checks the storage, decides secure mode (creating the PKI and the default user on
// first start), builds the access controller and the services' options, once; runServer starts the
// registry with them, records the PID file and the instance record (instances.ts), keeps the
// process up through stray errors, and drains on SIGTERM/SIGINT. `start` runs composeServer in the
// foreground first, so a problem is told by `start` itself rather than only in the log, and then
// the child composes its own. With `--workers N` (N > 1) this process is the primary of N worker
// processes (cluster.ts), each of which composes and serves as cluster-worker.ts says; holdInstance
// is what the single process and the primary share.
import { unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import cluster from 'node:cluster';
import { HelperError } from '../errors/helper-error.js';
import { startRegistry, type RegistryOptions } from '../registry/server.js';
import { withMdnsSan } from '../registry/mdns.js';
import { isNoSpace } from '../registry/respond.js';
import { readServerConfig } from '../registry/webhooks.js';
import { rawSetting } from '../settings/values.js';
import { formatSan, listenNames } from '../pki/sans.js';
import { writeLine } from '../common/log.js';
import { makeDirs } from '../common/make-dirs.js';
import type { StateDir } from '../state/state-dir.js';
import { resolveSecureMode, type SecureFlags } from './secure-mode.js';
import { resolveServiceOptions, type ServiceChoices } from './service-options.js';
import { removePidFileIfOurs, writePidFile, type PidRecord } from './pidfile.js';
import { instanceOnPort, instancesDir, portUsedByUs, removeInstanceRecord, writeInstanceRecord } from './instances.js';
import { guardProcess } from './process-guards.js';
import { formatObjectStoreUrl } from '../storage/object-store-url.js';
import { onStorageChanged } from './storage-notice.js';
import { tuneHeapForStreaming } from './heap.js';
import type { SharedLogins } from '../auth/limiter.js';
import type { BackupSchedule } from '../backup/schedule-config.js';
import { loadUpstreams, type CacheChoices } from '../cache/config.js';

/** ServeConfig is everything a serving process is started from. */
export interface ServeConfig {
  state: StateDir;
  host: string;
  port: number;
  /** processes serving together (cluster.ts); 1 (or absent) serves in this process alone */
  workers?: number;
  secure: SecureFlags;
  services: ServiceChoices;
  /** how long in-flight requests may finish on SIGTERM/SIGINT */
  drainTimeoutMs: number;
  env?: NodeJS.ProcessEnv;
  /** scheduled backups, run by the process that holds the PID file (backup/schedule.ts) */
  backup?: BackupSchedule;
  /** upstreams mirrored as a pull-through cache (with config.toml's [[cache.upstreams]]) */
  cache?: CacheChoices;
  /** serve read-only (`--read-only`): writes get 405 UNSUPPORTED, the PID file says so */
  readOnly?: boolean;
}

/** ComposedServer is the registry's options, and lines for the log (never a secret). */
export interface ComposedServer {
  options: RegistryOptions;
  notes: string[];
}

function diskFullHint(err: unknown): string {
  return isNoSpace(err) ? ': the disk is full; free space and start again' : '';
}

/** checkStorageWritable fails with one clear line when the storage dir cannot be written. */
async function checkStorageWritable(dir: string): Promise<void> {
  const probe = join(dir, `.write-test-${process.pid}`);
  try {
    await makeDirs(dir);
    // A few blocks, synced: an empty file needs only an inode, and a full disk must show here.
    await writeFile(probe, Buffer.alloc(16 * 1024), { flush: true });
    await unlink(probe);
  } catch (err) {
    await unlink(probe).catch(() => {});
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new HelperError('storage', `cannot write the storage directory ${dir} (${code})${diskFullHint(err)}`);
  }
}

/** listenError says why host:port could not be listened on. */
export function listenError(err: unknown, host: string, port: number): HelperError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') {
    return new HelperError('port-in-use', `${host}:${port} is already in use (another registry? try \`container-registry status\` or --listen)`);
  }
  if (code === 'EACCES') return new HelperError('port-denied', `not allowed to listen on ${host}:${port} (ports below 1024 need privileges)`);
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new HelperError('bad-address', `cannot listen on ${host}:${port}: no such local address`);
  }
  return new HelperError('listen', `cannot listen on ${host}:${port}: ${(err as Error).message}`);
}

/**
 * clientUrls are URLs a client can use for a server listening on `host`: the server's own for a
 * loopback address; for a wildcard (0.0.0.0, ::) the host name's and each interface address's
 * (pki/sans.ts listenNames), never 0.0.0.0.
 */
export function clientUrls(serverUrl: string, host: string, port: number): string[] {
  const scheme = serverUrl.startsWith('https:') ? 'https' : 'http';
  const hosts = listenNames(host).hosts;
  if (!hosts.length) return [serverUrl];
  return hosts.map((h) => `${scheme}://${h.includes(':') ? `[${h}]` : h}:${port}`);
}

/**
 * composeServer builds what the registry is started with, secure mode and services included;
 * `logins` is what a worker of several shares with the others about logins (cluster-worker.ts).
 */
export async function composeServer(c: ServeConfig, o: { logins?: SharedLogins } = {}): Promise<ComposedServer> {
  const env = c.env ?? process.env;
  await checkStorageWritable(c.state.dir);
  // The mDNS name, and the host name and addresses other machines reach a wildcard --listen by, go
  // into the server certificate's names like CONTAINER_REGISTRY_CERT_SAN entries.
  let certSan = rawSetting(env, 'CONTAINER_REGISTRY_CERT_SAN');
  if (c.services.mdns) certSan = withMdnsSan(certSan, c.services.mdnsName);
  const listenSans = listenNames(c.host).sans.map(formatSan);
  if (listenSans.length) certSan = [certSan, ...listenSans].filter(Boolean).join(',');
  const pkiEnv = certSan === rawSetting(env, 'CONTAINER_REGISTRY_CERT_SAN') ? env : { ...env, CONTAINER_REGISTRY_CERT_SAN: certSan };
  const secure = await resolveSecureMode(pkiEnv, c.secure, c.state, { logins: o.logins });
  const serverConfig = await readServerConfig(c.state);
  return {
    options: {
      state: c.state,
      host: c.host,
      port: c.port,
      tls: secure.tls,
      access: secure.access,
      accessLog: (entry) => writeLine(JSON.stringify(entry)),
      services: await resolveServiceOptions(c.services, c.state, serverConfig, env),
      // A broken [[cache.upstreams]] or CONTAINER_REGISTRY_MIRRORS is a ConfigError (code `config`).
      ...(c.cache ? { cache: { upstreams: loadUpstreams(serverConfig, c.cache, env) } } : {}),
      ...(c.readOnly ? { readOnly: true } : {}),
    },
    notes: c.readOnly ? [...secure.notes, 'read-only: pushes, deletes and uploads are refused (405 UNSUPPORTED)'] : secure.notes,
  };
}

/**
 * runServer serves in the foreground until SIGTERM or SIGINT, then drains and removes its PID file:
 * in this process alone, or with `workers` > 1 as the primary of that many worker processes
 * (cluster.ts), or as one of those workers when this process is one (cluster-worker.ts).
 */
export async function runServer(c: ServeConfig, say: (line: string) => void): Promise<void> {
  if (cluster.isWorker) return (await import('./cluster-worker.js')).runWorker(c, say);
  // One of ours on the port is named before anything is made (a storage folder, the PKI).
  const holder = instanceOnPort(c.host, c.port);
  if (holder) throw portUsedByUs(holder);
  if ((c.workers ?? 1) > 1) return (await import('./cluster.js')).runPrimary(c, say);
  tuneHeapForStreaming();
  const { options, notes } = await composeServer(c);
  for (const note of notes) say(note);
  const instanceId = randomBytes(8).toString('hex');
  let running;
  try {
    running = await startRegistry({ ...options, instanceId });
  } catch (err) {
    throw listenFailure(err, c);
  }
  await holdInstance(
    c,
    say,
    { url: running.url, host: running.host, port: running.port, tls: options.tls !== undefined, instanceId },
    (ms) => running.close(ms),
    () => running.services.storageChanged(),
  );
}

/** listenFailure is the error for a registry that could not listen: one of ours on the port, or why not. */
export function listenFailure(err: unknown, c: Pick<ServeConfig, 'host' | 'port'>): HelperError {
  const ours = (err as NodeJS.ErrnoException).code === 'EADDRINUSE' ? instanceOnPort(c.host, c.port) : undefined;
  return ours ? portUsedByUs(ours) : listenError(err, c.host, c.port);
}

/** Listening is where a started registry serves, and who it is. */
export interface Listening {
  url: string;
  host: string;
  port: number;
  tls: boolean;
  instanceId: string;
  /** worker processes, when several serve */
  workers?: number;
}

/**
 * holdInstance records a listening registry (PID file, instance record), says where it serves, and
 * waits for SIGTERM or SIGINT; then `close` drains it, and the records go.
 */
export async function holdInstance(
  c: ServeConfig,
  say: (line: string) => void,
  at: Listening,
  close: (timeoutMs: number) => Promise<void>,
  storageChanged?: () => void,
): Promise<void> {
  const urls = clientUrls(at.url, c.host, at.port);
  const pidFile = c.state.pidFile();
  let record: PidRecord;
  try {
    record = await writePidFile(pidFile, {
      instance: at.instanceId,
      url: urls[0]!,
      host: at.host,
      port: at.port,
      tls: at.tls,
      // backup restore reads it: a registry serving read-only may be restored into.
      ...(c.readOnly ? { readOnly: true } : {}),
    });
  } catch (err) {
    // Serving without a PID file would make `status` and `stop` say "not running": stop instead.
    await close(0);
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new HelperError('storage', `cannot write the PID file ${pidFile} (${code})${diskFullHint(err)}`);
  }
  // The instance record lets status, stop and the client commands find this server without
  // --storage; without it they still find it by its storage.
  await writeInstanceRecord(record, c.state.dir).catch((err: Error) =>
    say(`warning: cannot record this registry in ${instancesDir()} (${err.message}): status and stop need --storage ${c.state.dir}`),
  );
  guardProcess();
  const workers = at.workers ? `, ${at.workers} workers` : '';
  const from = c.state.objectStore ? `${formatObjectStoreUrl(c.state.objectStore)} (local state ${c.state.dir})` : c.state.dir;
  say(`serving ${urls[0]} from ${from} (pid ${process.pid}${workers})`);
  if (urls.length > 1) say(`also reachable as ${urls.slice(1).join(', ')}`);
  // Loaded only when asked for: a registry without scheduled backups never evaluates backup/.
  const backups = c.backup ? new (await import('../backup/schedule.js')).ScheduledBackups(c.backup, c.state, say) : undefined;
  backups?.start();
  // A restore into a registry serving read-only tells it so (storage-notice.ts; the PID file says it listens).
  const stopListening = c.readOnly && storageChanged ? onStorageChanged(storageChanged) : undefined;
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      backups?.stop();
      say(`${signal}: draining in-flight requests`);
      void close(c.drainTimeoutMs).then(resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  stopListening?.();
  await removePidFileIfOurs(pidFile, process.pid);
  removeInstanceRecord(record);
  say('stopped');
}
