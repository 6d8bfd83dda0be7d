// serve, start, stop, status: the server's lifecycle. Thin: the work is in registry/.
import type { CommandModule } from 'yargs';
import { mkdir, writeFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { HelperError } from '../../errors/helper-error.js';
import { listenOption, parseListen, resolveStorage, storageOption } from '../options.js';
import { numberOption, settingOption } from '../setting-options.js';
import { rawSetting } from '../../settings/values.js';
import { startRegistry, type RegistryOptions } from '../../registry/server.js';
import { StateDir } from '../../state/state-dir.js';
import { removePidFileIfOurs, writePidFile } from '../../registry/pidfile.js';
import { serverState, startDetached, stopServer } from '../../registry/lifecycle.js';
import { resolveSecureMode } from '../secure.js';
import { ACCESS_MODES, type AccessMode } from '../../auth/policy.js';
import { resolveServiceOptions, serviceOptions, type ServiceArgs } from '../services.js';
import { fetchReadiness } from '../../registry/readiness-probe.js';
import { withMdnsSan } from '../../registry/mdns.js';
import { tuneHeapForStreaming } from '../../registry/heap.js';
import { guardProcess, writeLine } from '../../registry/process-guards.js';

interface ServeArgs extends ServiceArgs {
  storage: string;
  listen: string;
  'drain-timeout': number;
  tls: boolean;
  auth: boolean;
  pull?: AccessMode;
  push?: AccessMode;
}

/** secureOptions adds `--tls`, `--auth`, `--pull` and `--push` (secure mode; see cli/secure.ts). */
function secureOptions<T>(y: import('yargs').Argv<T>) {
  return y
    // The variables are read by resolveSecureMode (cli/secure.ts), with the flags.
    .option('tls', settingOption('CONTAINER_REGISTRY_SECURE', { default: false }))
    .option('auth', settingOption('CONTAINER_REGISTRY_AUTH', { default: false }))
    .option('pull', { type: 'string', choices: ACCESS_MODES, describe: 'Who may pull (over auth/access.toml)' })
    .option('push', { type: 'string', choices: ACCESS_MODES, describe: 'Who may push (over auth/access.toml)' });
}

/** checkStorageWritable fails with one clear line when the storage dir cannot be written. */
async function checkStorageWritable(dir: string): Promise<void> {
  const probe = join(dir, `.write-test-${process.pid}`);
  try {
    await mkdir(dir, { recursive: true });
    // A few blocks, synced: an empty file needs only an inode, and a full disk must show here.
    await writeFile(probe, Buffer.alloc(16 * 1024), { flush: true });
    await unlink(probe);
  } catch (err) {
    await unlink(probe).catch(() => {});
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    const hint = code === 'ENOSPC' || code === 'EDQUOT' ? ': the disk is full; free space and start again' : '';
    throw new HelperError('storage', `cannot write the storage directory ${dir} (${code})${hint}`);
  }
}

function listenError(err: unknown, host: string, port: number): HelperError {
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

/** buildServeOptions turns parsed flags and the environment into the server's options, secure mode included. */
export async function buildServeOptions(args: ServeArgs): Promise<RegistryOptions & { notes: string[] }> {
  const state = new StateDir(resolveStorage(args.storage));
  const { host, port } = parseListen(args.listen);
  await checkStorageWritable(state.dir);
  // The mDNS name goes into the server certificate's names like CONTAINER_REGISTRY_CERT_SAN entries.
  const env = args.mdns ? { ...process.env, CONTAINER_REGISTRY_CERT_SAN: withMdnsSan(rawSetting(process.env, 'CONTAINER_REGISTRY_CERT_SAN'), args['mdns-name']) } : process.env;
  const secure = await resolveSecureMode(env, { tls: args.tls, auth: args.auth, pull: args.pull, push: args.push }, state);
  return {
    state,
    host,
    port,
    tls: secure.tls,
    access: secure.access,
    accessLog: (entry) => writeLine(JSON.stringify(entry)),
    services: await resolveServiceOptions(args, state),
    notes: secure.notes,
  };
}

const serve: CommandModule<object, ServeArgs> = {
  command: 'serve',
  describe: 'Run the registry in the foreground',
  builder: (y) =>
    serviceOptions(secureOptions(listenOption(storageOption(y)))).option(
      'drain-timeout',
      numberOption('drain-timeout', { min: 0, unit: 'seconds', default: 8, describe: 'Seconds to let in-flight requests finish on SIGTERM/SIGINT' }),
    ) as never,
  handler: async (args) => {
    tuneHeapForStreaming();
    const { notes, ...options } = await buildServeOptions(args);
    for (const note of notes) process.stderr.write(`container-registry: ${note}\n`);
    const instanceId = randomBytes(8).toString('hex');
    let running;
    try {
      running = await startRegistry({ ...options, instanceId });
    } catch (err) {
      throw listenError(err, options.host, options.port);
    }
    const { state } = options;
    try {
      await writePidFile(state.pidFile(), {
        instance: instanceId,
        url: running.url,
        host: running.host,
        port: running.port,
        tls: options.tls !== undefined,
      });
    } catch (err) {
      // Serving without a PID file would make `status` and `stop` say "not running": stop instead.
      await running.close(0);
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      const hint = code === 'ENOSPC' || code === 'EDQUOT' ? ': the disk is full; free space and start again' : '';
      throw new HelperError('storage', `cannot write the PID file ${state.pidFile()} (${code})${hint}`);
    }
    guardProcess();
    process.stderr.write(`container-registry: serving ${running.url} from ${state.dir} (pid ${process.pid})\n`);
    await new Promise<void>((resolve) => {
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        process.stderr.write(`container-registry: ${signal}: draining in-flight requests\n`);
        void running.close(args['drain-timeout'] * 1000).then(resolve);
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
    await removePidFileIfOurs(state.pidFile(), process.pid);
    process.stderr.write('container-registry: stopped\n');
  },
};

/** withoutOptions drops `--name value` and `--name=value` for each name from an argv list. */
export function withoutOptions(argv: string[], names: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const name = names.find((n) => a === `--${n}` || a.startsWith(`--${n}=`));
    if (name === undefined) out.push(a);
    else if (a === `--${name}`) i++;
  }
  return out;
}

interface StartArgs extends ServeArgs {
  timeout: number;
}

const start: CommandModule<object, StartArgs> = {
  command: 'start',
  describe: 'Start the registry in the background; returns when it answers',
  builder: (y) =>
    serviceOptions(secureOptions(listenOption(storageOption(y))))
      .option('timeout', numberOption('timeout', { min: 0, unit: 'seconds', default: 20, describe: 'Seconds to wait for the registry to answer' }))
      .option('drain-timeout', numberOption('drain-timeout', { min: 0, unit: 'seconds', default: 8, describe: 'Passed to serve' })) as never,
  handler: async (args) => {
    // Secure mode's files are made here, so a problem is reported by start itself, not in the log.
    const { notes, ...options } = await buildServeOptions(args);
    for (const note of notes) process.stderr.write(`container-registry: ${note}\n`);
    const { state } = options;
    // Forward every flag as given, so options added for serve work through start too.
    const argv = process.argv.slice(2);
    const serveArgs = withoutOptions(argv.filter((a) => a !== 'start'), ['timeout', 'storage']);
    serveArgs.push('--storage', state.dir);
    const result = await startDetached({ pidFile: state.pidFile(), logFile: state.logFile(), serveArgs, timeoutMs: args.timeout * 1000 });
    if (!result.ok) {
      const tail = result.logTail ? `\n--- ${state.logFile()} (last lines) ---\n${result.logTail}` : '';
      throw new HelperError('start-failed', `${result.reason}${tail}`);
    }
    const verb = result.already ? 'already running' : 'started';
    process.stdout.write(`Registry ${verb}: ${result.record.url} (pid ${result.record.pid}, storage ${state.dir})\n`);
  },
};

const stop: CommandModule<object, { storage: string; timeout: number }> = {
  command: 'stop',
  describe: 'Stop the background registry (drain, wait, then SIGKILL)',
  builder: (y) => storageOption(y).option('timeout', numberOption('timeout', { min: 0, unit: 'seconds', default: 10, describe: 'Seconds before SIGKILL' })) as never,
  handler: async (args) => {
    const state = new StateDir(resolveStorage(args.storage));
    const result = await stopServer(state.pidFile(), args.timeout * 1000);
    if (result.stopped === 'not-running') process.stdout.write('Registry not running\n');
    else if (result.stopped === 'term') process.stdout.write(`Registry stopped (pid ${result.pid}, ${result.ms} ms)\n`);
    else process.stdout.write(`Registry killed after ${args.timeout} s (pid ${result.pid})\n`);
  },
};

const status: CommandModule<object, { storage: string; json: boolean }> = {
  command: 'status',
  describe: 'Tell whether the registry runs, answers and is ready (exit 0 running, 1 not answering, 3 stopped, 4 running but not ready)',
  builder: (y) => storageOption(y).option('json', { type: 'boolean', default: false, describe: 'Print JSON' }) as never,
  handler: async (args) => {
    const state = new StateDir(resolveStorage(args.storage));
    const st = await serverState(state.pidFile());
    const readiness = st.state === 'running' ? await fetchReadiness(st.record) : undefined;
    if (args.json) process.stdout.write(`${JSON.stringify(readiness ? { ...st, readiness } : st)}\n`);
    if (st.state === 'running') {
      if (!args.json) {
        process.stdout.write(`Registry running: ${st.record.url} (pid ${st.record.pid})\n`);
        if (readiness) {
          process.stdout.write(`Ready: ${readiness.status === 'ready' ? 'yes' : 'NO'}\n`);
          for (const c of readiness.checks) process.stdout.write(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}\n`);
        }
      }
      // Running but not ready (read-only storage, full disk, expired certificate) is exit 4.
      if (readiness && readiness.status !== 'ready') process.exitCode = 4;
      return;
    }
    if (st.state === 'not-answering') {
      if (!args.json) process.stdout.write(`Registry running but not answering: pid ${st.record.pid}, ${st.record.url}: ${st.reason}\n`);
      process.exitCode = 1;
      return;
    }
    if (!args.json) {
      const stale = st.staleRecord ? ` (stale PID file for pid ${st.staleRecord.pid})` : '';
      process.stdout.write(`Registry not running${stale}\n`);
    }
    process.exitCode = 3;
  },
};

/** serverCommands are serve, start, stop and status. */
export const serverCommands = [serve, start, stop, status];
