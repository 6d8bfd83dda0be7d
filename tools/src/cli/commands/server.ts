// serve, start, stop, status: the server's lifecycle. Thin: the work is in daemon/ (process control
// and the composition root) and registry/ (the server).
import { existsSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { HelperError } from '../../errors/helper-error.js';
import { existingStorage, listenOption, parseListen, storageChoice, storageOption } from '../options.js';
import { numberOption, settingOption } from '../setting-options.js';
import { readSetting } from '../../settings/values.js';
import { StateDir } from '../../state/state-dir.js';
import { beforeDeadline, serverState, startDetached, stopServer, type ServerState } from '../../daemon/lifecycle.js';
import { instanceOnPort, portUsedByUs, runningInstances, type InstanceRecord } from '../../daemon/instances.js';
import type { PidRecord } from '../../daemon/pidfile.js';
import { composeServer, runServer, type ServeConfig } from '../../daemon/serve.js';
import { MAX_DEFAULT_WORKERS, defaultWorkers } from '../../daemon/cluster-messages.js';
import { ACCESS_MODES, type AccessMode } from '../../auth/policy.js';
import { serviceChoices, serviceOptions, type ServiceArgs } from '../services.js';
import { fetchReadiness } from '../../daemon/readiness-probe.js';
import { backupOptions, backupSchedule, type BackupArgs } from '../backup-options.js';
import { cacheChoices, cacheOptions, type CacheArgs } from '../cache-options.js';

interface ServeArgs extends ServiceArgs, BackupArgs, CacheArgs {
  storage?: string;
  listen: string;
  workers?: number;
  'drain-timeout': number;
  tls: boolean;
  auth: boolean;
  pull?: AccessMode;
  push?: AccessMode;
  'read-only': boolean;
}

/** secureOptions adds `--tls`, `--auth`, `--pull` and `--push` (secure mode; see daemon/secure-mode.ts). */
function secureOptions<T>(y: import('yargs').Argv<T>) {
  return (
    y
      // The variables are read by resolveSecureMode (daemon/secure-mode.ts), with the flags.
      .option('tls', settingOption('CONTAINER_REGISTRY_SECURE', { default: false }))
      .option('auth', settingOption('CONTAINER_REGISTRY_AUTH', { default: false }))
      .option('pull', { type: 'string', choices: ACCESS_MODES, describe: 'Who may pull (over auth/access.toml)' })
      .option('push', { type: 'string', choices: ACCESS_MODES, describe: 'Who may push (over auth/access.toml)' })
      .option('read-only', settingOption('CONTAINER_REGISTRY_READ_ONLY'))
  );
}

/** workersOption adds `--workers N` (daemon/cluster.ts). */
function workersOption<T>(y: import('yargs').Argv<T>) {
  const workers = (readSetting(process.env, 'CONTAINER_REGISTRY_WORKERS') as number | undefined) ?? defaultWorkers();
  return y.option(
    'workers',
    settingOption('CONTAINER_REGISTRY_WORKERS', {
      default: workers,
      defaultDescription: `$CONTAINER_REGISTRY_WORKERS, or half the CPU count, 1 to ${MAX_DEFAULT_WORKERS}`,
    }),
  );
}

/** serveConfig maps the parsed flags to what a serving process is started from. */
function serveConfig(args: ServeArgs): ServeConfig {
  const { host, port } = parseListen(args.listen);
  const choice = storageChoice(args.storage);
  return {
    state: new StateDir(choice.dir, choice.objectStore),
    host,
    port,
    workers: args.workers ?? 1,
    secure: { tls: args.tls, auth: args.auth, pull: args.pull, push: args.push },
    services: serviceChoices(args),
    drainTimeoutMs: args['drain-timeout'] * 1000,
    backup: backupSchedule(args),
    cache: cacheChoices(args),
    ...(args['read-only'] ? { readOnly: true } : {}),
  };
}

const say = (line: string) => process.stderr.write(`container-registry: ${line}\n`);

const serve: CommandModule<object, ServeArgs> = {
  command: 'serve',
  describe: 'Run the registry in the foreground',
  builder: (y) =>
    cacheOptions(backupOptions(workersOption(serviceOptions(secureOptions(listenOption(storageOption(y))))))).option(
      'drain-timeout',
      numberOption('drain-timeout', { min: 0, unit: 'seconds', default: 8, describe: 'Seconds to let in-flight requests finish on SIGTERM/SIGINT' }),
    ) as never,
  handler: async (args) => {
    const config = serveConfig(args);
    // A backup folder that cannot be one is told at start, not at the first scheduled run.
    if (config.backup) await (await import('../../backup/destination.js')).prepareFolder(config.backup.dir);
    await runServer(config, say);
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
    cacheOptions(backupOptions(workersOption(serviceOptions(secureOptions(listenOption(storageOption(y)))))))
      .option('timeout', numberOption('timeout', { min: 0, unit: 'seconds', default: 20, describe: 'Seconds to wait for the registry to answer' }))
      .option('drain-timeout', numberOption('drain-timeout', { min: 0, unit: 'seconds', default: 8, describe: 'Passed to serve' })) as never,
  handler: async (args) => {
    const config = serveConfig(args);
    if (config.backup) await (await import('../../backup/destination.js')).prepareFolder(config.backup.dir);
    // Another registry of ours on the port is named, with its storage, before anything is made.
    const holder = instanceOnPort(config.host, config.port);
    if (holder && holder.storage !== config.state.dir) throw portUsedByUs(holder);
    // Secure mode's files are made here, so a problem is reported by start itself, not in the log.
    // The whole start, this included, keeps to --timeout.
    const deadline = Date.now() + args.timeout * 1000;
    const preparing = `the registry could not be prepared within ${args.timeout} s (storage ${config.state.dir})`;
    const { notes } = await beforeDeadline(composeServer(config), deadline, preparing);
    for (const note of notes) say(note);
    const { state } = config;
    // Forward every flag as given, so options added for serve work through start too.
    const argv = process.argv.slice(2);
    const serveArgs = withoutOptions(
      argv.filter((a) => a !== 'start'),
      ['timeout', 'storage', 'state-dir'],
    );
    // The storage as an absolute folder; an s3:// storage as named, with its state folder made absolute.
    const named = storageChoice(args.storage);
    if (named.url) serveArgs.push('--storage', named.url, '--state-dir', state.dir);
    else serveArgs.push('--storage', state.dir);
    const result = await startDetached({ pidFile: state.pidFile(), logFile: state.logFile(), serveArgs, timeoutMs: Math.max(0, deadline - Date.now()) });
    if (!result.ok) {
      const tail = result.logTail ? `\n--- ${state.logFile()} (last lines) ---\n${result.logTail}` : '';
      throw new HelperError('start-failed', `${result.reason}${tail}`);
    }
    const verb = result.already ? 'already running' : 'started';
    process.stdout.write(`Registry ${verb}: ${result.record.url} (pid ${result.record.pid}, storage ${state.dir})\n`);
  },
};

/**
 * Target is the registry stop and status act on: the storage named (--storage or
 * CONTAINER_REGISTRY_STORAGE, which must exist); else the one running for this user, wherever its
 * storage (instance records); else several; else the per-user default storage, when it exists.
 */
type Target = { kind: 'one'; state: StateDir; known?: PidRecord } | { kind: 'several'; running: InstanceRecord[] } | { kind: 'none' };

async function targetOf(flag: string | undefined): Promise<Target> {
  const choice = storageChoice(flag);
  if (choice.named) return { kind: 'one', state: await existingStorage(choice.dir, choice.objectStore) };
  const running = runningInstances();
  if (running.length > 1) return { kind: 'several', running };
  const [only] = running;
  if (only) return { kind: 'one', state: new StateDir(only.storage), known: only };
  return existsSync(choice.dir) ? { kind: 'one', state: new StateDir(choice.dir) } : { kind: 'none' };
}

const stop: CommandModule<object, { storage?: string; timeout: number }> = {
  command: 'stop',
  describe: 'Stop the background registry (drain, wait, then SIGKILL); without --storage, the one running',
  builder: (y) =>
    storageOption(y).option('timeout', numberOption('timeout', { min: 0, unit: 'seconds', default: 10, describe: 'Seconds before SIGKILL' })) as never,
  handler: async (args) => {
    const target = await targetOf(args.storage);
    if (target.kind === 'several') {
      const which = target.running.map((r) => `pid ${r.pid}, storage ${r.storage}`).join('; ');
      throw new HelperError('usage', `${target.running.length} registries are running (${which}): name the one to stop with --storage`);
    }
    const result = target.kind === 'one' ? await stopServer(target.state.pidFile(), args.timeout * 1000, target.known) : { stopped: 'not-running' as const };
    if (result.stopped === 'not-running') process.stdout.write('Registry not running\n');
    else if (result.stopped === 'term') process.stdout.write(`Registry stopped (pid ${result.pid}, ${result.ms} ms)\n`);
    else process.stdout.write(`Registry killed after ${args.timeout} s (pid ${result.pid})\n`);
  },
};

/** statusLine is one registry of several: address, PID, storage, and what is wrong with it. */
function statusLine(st: ServerState, storage: string): string {
  if (st.state === 'running') return `  ${st.record.url} (pid ${st.record.pid}), storage ${storage}`;
  if (st.state === 'not-answering') return `  ${st.record.url} (pid ${st.record.pid}), storage ${storage}: running but not answering: ${st.reason}`;
  return `  storage ${storage}: stopped`;
}

const status: CommandModule<object, { storage?: string; json: boolean }> = {
  command: 'status',
  describe:
    'Tell whether the registry runs, answers and is ready (exit 0 running, 1 not answering, 3 stopped, 4 running but not ready); without --storage, every one running',
  builder: (y) => storageOption(y).option('json', { type: 'boolean', default: false, describe: 'Print JSON' }) as never,
  handler: async (args) => {
    const target = await targetOf(args.storage);
    if (target.kind === 'several') {
      const states = await Promise.all(target.running.map(async (r) => ({ ...(await serverState(new StateDir(r.storage).pidFile(), r)), storage: r.storage })));
      if (args.json) process.stdout.write(`${JSON.stringify({ instances: states })}\n`);
      else process.stdout.write(`${states.length} registries running:\n${states.map((st) => statusLine(st, st.storage)).join('\n')}\n`);
      if (states.some((st) => st.state !== 'running')) process.exitCode = 1;
      return;
    }
    const state = target.kind === 'one' ? target.state : undefined;
    const st: ServerState = state
      ? await serverState(state.pidFile(), target.kind === 'one' ? target.known : undefined)
      : { state: 'stopped', staleRecord: undefined };
    const readiness = st.state === 'running' ? await fetchReadiness(st.record) : undefined;
    if (args.json) process.stdout.write(`${JSON.stringify({ ...st, ...(readiness ? { readiness } : {}), ...(state ? { storage: state.dir } : {}) })}\n`);
    if (st.state === 'running') {
      if (!args.json) {
        process.stdout.write(`Registry running: ${st.record.url} (pid ${st.record.pid})\n`);
        process.stdout.write(`Storage: ${state!.dir}\n`);
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
