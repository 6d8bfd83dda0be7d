// Options shared by commands: the storage directory and the listen address, from flags or the
// environment the generated script exports (CONTAINER_REGISTRY_*); which storage a command works
// on, and the registry of ours a client command talks to when none is named.
import { stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Argv, Options } from 'yargs';
import { HelperError } from '../errors/helper-error.js';
import { clientAddress, instanceOnPort, runningInstances } from '../daemon/instances.js';
import { readRegistryUrl } from '../settings/registry-url.js';
import { rawSetting, readString } from '../settings/values.js';
import { StateDir } from '../state/state-dir.js';
import { makeDirs } from '../common/make-dirs.js';
import { isObjectStoreUrl, parseObjectStoreUrl, type ObjectStoreLocation } from '../storage/object-store-url.js';
import { isLoopbackHost, parseHostPort, type HostPort } from '../oci/reference.js';
import { settingOption, type SettingOptionOverrides } from './setting-options.js';
import { SCRIPT_ENV, shellQuote } from '../script/render.js';

/**
 * commandName is the command a hint tells the user to run: the generated script, as it was run,
 * when it runs us (it exports SCRIPT_ENV), else `container-registry`.
 */
export function commandName(env: NodeJS.ProcessEnv = process.env): string {
  const script = env[SCRIPT_ENV];
  if (!script) return 'container-registry';
  return /^[A-Za-z0-9_./+-]+$/.test(script) ? script : shellQuote(script);
}

/** DEFAULT_PORT is the reference's port (localhost:5000). */
export const DEFAULT_PORT = 5000;

/** ListenAddress is where the server binds. */
export interface ListenAddress {
  host: string;
  port: number;
}

/**
 * storageFlag is the `--storage` option. It has no default of its own, so a command can tell a
 * storage the user named (the flag, or CONTAINER_REGISTRY_STORAGE) from the per-user default
 * (storageChoice).
 */
export function storageFlag(): Options {
  return {
    ...settingOption('CONTAINER_REGISTRY_STORAGE', { fromEnv: false }),
    defaultDescription: '$CONTAINER_REGISTRY_STORAGE or $XDG_DATA_HOME/container-registry (~/.local/share/container-registry)',
  };
}

/** stateDirFlag is the `--state-dir` option (CONTAINER_REGISTRY_STATE_DIR, read only with an s3:// storage). */
export function stateDirFlag(): Options {
  return {
    ...settingOption('CONTAINER_REGISTRY_STATE_DIR', { fromEnv: false }),
    defaultDescription: '$CONTAINER_REGISTRY_STATE_DIR or $XDG_DATA_HOME/container-registry/s3/BUCKET/PREFIX',
  };
}

/**
 * useStateDirFlag makes `--state-dir` the CONTAINER_REGISTRY_STATE_DIR of this process (absolute):
 * storageChoice reads the variable wherever a command picks its storage, and a detached server or
 * a subprocess inherits it, so the flag wins over the variable everywhere at once.
 */
export function useStateDirFlag(argv: { 'state-dir'?: unknown }): void {
  const flag = argv['state-dir'];
  if (typeof flag !== 'string') return;
  if (!flag.trim()) throw new HelperError('usage', '--state-dir must not be empty');
  process.env.CONTAINER_REGISTRY_STATE_DIR = resolve(flag);
}

/** storageOption adds `--storage` (CONTAINER_REGISTRY_STORAGE, default $XDG_DATA_HOME/container-registry) and `--state-dir`. */
export function storageOption<T>(y: Argv<T>) {
  return y.option('storage', storageFlag()).option('state-dir', stateDirFlag()).middleware(useStateDirFlag, true);
}

/** resolveStorage makes the storage path absolute. */
export function resolveStorage(storage: string): string {
  if (!storage) throw new HelperError('usage', '--storage must not be empty');
  return resolve(storage);
}

/** StorageChoice is the storage directory a command works on. */
export interface StorageChoice {
  /** absolute path; for an s3:// storage, the local state directory (CONTAINER_REGISTRY_STATE_DIR) */
  dir: string;
  /** the bucket, for an s3:// storage */
  objectStore?: ObjectStoreLocation;
  /** an s3:// storage's URL as named (with its options) */
  url?: string;
  /** named by --storage or CONTAINER_REGISTRY_STORAGE; false: the per-user default */
  named: boolean;
}

/**
 * storageChoice is --storage, else CONTAINER_REGISTRY_STORAGE, else the per-user default
 * ($XDG_DATA_HOME/container-registry, else ~/.local/share/container-registry: the same registry
 * from every folder). A build always names its own (${TOPDIR}/container-registry).
 */
export function storageChoice(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): StorageChoice {
  const named = flag ?? rawSetting(env, 'CONTAINER_REGISTRY_STORAGE');
  if (named !== undefined && isObjectStoreUrl(named)) return objectStoreChoice(named, env);
  if (flag !== undefined) return { dir: resolveStorage(flag), named: true };
  return { dir: resolveStorage(named ?? readString(env, 'CONTAINER_REGISTRY_STORAGE')), named: named !== undefined };
}

/**
 * objectStoreChoice: distribution's tree in a bucket, the helper's own files (pki/, auth/, PID file,
 * log, config.toml) in CONTAINER_REGISTRY_STATE_DIR, by default one folder per bucket and prefix
 * under $XDG_DATA_HOME/container-registry/s3.
 */
function objectStoreChoice(url: string, env: NodeJS.ProcessEnv): StorageChoice {
  const objectStore = parseObjectStoreUrl(url);
  const given = rawSetting(env, 'CONTAINER_REGISTRY_STATE_DIR');
  const dir = given ?? join(readString(env, 'CONTAINER_REGISTRY_STATE_DIR'), objectStore.bucket, ...(objectStore.prefix ? objectStore.prefix.split('/') : []));
  return { dir: resolveStorage(dir), named: true, objectStore, url: url.trim() };
}

/**
 * existingStorage is the StateDir of a storage directory that exists. Only serve/start, `pki init`
 * and `script` make one: anywhere else a missing directory is a typo, refused with one line (exit 2)
 * before anything is written.
 */
export async function existingStorage(dir: string, objectStore?: ObjectStoreLocation): Promise<StateDir> {
  // The bucket is checked by its first request; the local state directory is made on first use.
  if (objectStore) {
    await makeDirs(dir, 0o700);
    return new StateDir(dir, objectStore);
  }
  let st: Stats;
  try {
    st = await stat(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new HelperError('no-storage', `the storage directory ${dir} does not exist`);
    throw new HelperError('storage', `cannot read the storage directory ${dir} (${code ?? 'error'})`);
  }
  if (!st.isDirectory()) throw new HelperError('no-storage', `the storage directory ${dir} is not a directory`);
  return new StateDir(dir);
}

/**
 * LocalRegistry is the one registry of ours running for this user, as a client command's default
 * target: its address (`localhost:PORT`), storage (secure mode's CA and password) and whether it
 * serves HTTPS.
 */
export interface LocalRegistry {
  registry: string;
  storage: string;
  tls: boolean;
}

let local: { value: LocalRegistry | undefined } | undefined;

/**
 * runningRegistry is the client commands' default target when CONTAINER_REGISTRY_URL is unset and
 * exactly one registry of ours runs (instance records, daemon/instances.ts); otherwise undefined,
 * and the default stays localhost:5000. Read once per process.
 */
export function runningRegistry(env: NodeJS.ProcessEnv = process.env): LocalRegistry | undefined {
  if (!local) {
    const running = rawSetting(env, 'CONTAINER_REGISTRY_URL') === undefined ? runningInstances(env) : [];
    const [only] = running;
    local = { value: running.length === 1 && only ? { registry: clientAddress(only), storage: only.storage, tls: only.tls } : undefined };
  }
  return local.value;
}

/**
 * parseListen reads `HOST:PORT`, `[v6]:PORT`, `:PORT` or `PORT`. The host defaults to 127.0.0.1:
 * QEMU's user network reaches the host's loopback as 10.0.2.2, so binding every interface is a
 * choice the user makes explicitly (`--listen 0.0.0.0:5000`).
 */
export function parseListen(text: string): ListenAddress {
  const fail = (why: string): never => {
    throw new HelperError('usage', `invalid --listen ${JSON.stringify(text)}: ${why}`);
  };
  let host = '127.0.0.1';
  let portText = text;
  const v6 = /^\[([0-9a-fA-F:.]+)\]:(\d+)$/.exec(text);
  if (v6) {
    host = v6[1]!;
    portText = v6[2]!;
  } else if (text.includes(':')) {
    const i = text.lastIndexOf(':');
    if (i > 0) host = text.slice(0, i);
    portText = text.slice(i + 1);
    if (host.includes(':')) fail('write IPv6 addresses in brackets, as [::1]:5000');
  }
  if (!/^\d{1,5}$/.test(portText)) fail('the port must be a number');
  const port = Number(portText);
  if (port < 1 || port > 65535) fail('the port must be between 1 and 65535');
  if (!host) fail('the host is empty');
  return { host, port };
}

/** listenOption adds `--listen` (CONTAINER_REGISTRY_LISTEN; default 127.0.0.1 and the URL's port or 5000). */
export function listenOption<T>(y: Argv<T>) {
  const listen = readString(process.env, 'CONTAINER_REGISTRY_LISTEN') ?? `127.0.0.1:${readRegistryUrl(process.env).port ?? DEFAULT_PORT}`;
  return y.option(
    'listen',
    settingOption('CONTAINER_REGISTRY_LISTEN', {
      default: listen,
      defaultDescription: '$CONTAINER_REGISTRY_LISTEN, or 127.0.0.1 and the port of $CONTAINER_REGISTRY_URL, or 5000',
    }),
  );
}

/** registryDefault is `--registry`'s default for the client commands: CONTAINER_REGISTRY_URL, else the one registry of ours running, else localhost:5000. */
export function registryDefault(env: NodeJS.ProcessEnv = process.env): SettingOptionOverrides {
  return {
    default: runningRegistry(env)?.registry ?? readString(env, 'CONTAINER_REGISTRY_URL'),
    defaultDescription: '$CONTAINER_REGISTRY_URL, else the one registry of ours running here, else localhost:5000',
  };
}

/** runningAt is the running registry of runningRegistry when `address` names it (`localhost`, 127.0.0.0/8 and ::1 on its port are one). */
export function runningAt(address: HostPort): LocalRegistry | undefined {
  const running = runningRegistry();
  if (!running) return undefined;
  const own = parseHostPort(running.registry);
  const same = own.port === address.port && (own.host === address.host.toLowerCase() || (isLoopbackHost(own.host) && isLoopbackHost(address.host)));
  return same ? running : undefined;
}

/**
 * servesPlainHttp tells whether a registry of ours listens at `address` on this machine (a loopback
 * host; its instance record, whatever CONTAINER_REGISTRY_URL says) and serves plain HTTP there.
 */
export function servesPlainHttp(address: HostPort, env: NodeJS.ProcessEnv = process.env): boolean {
  if (address.port === undefined || !isLoopbackHost(address.host)) return false;
  return instanceOnPort(address.host, address.port, env)?.tls === false;
}

/**
 * clientStorage is the local registry's storage for a client command (secure mode's CA and
 * password): the one named, which must exist; else that of the running registry the command talks
 * to; else the per-user default (which need not exist: the registry may be another machine's).
 */
export async function clientStorage(flag: string | undefined, running: LocalRegistry | undefined): Promise<string> {
  const choice = storageChoice(flag);
  if (choice.named) return (await existingStorage(choice.dir, choice.objectStore)).dir;
  return running?.storage ?? choice.dir;
}
