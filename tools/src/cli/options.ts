// Options shared by commands: the storage directory and the listen address, from flags or the
// environment the generated script exports (CONTAINER_REGISTRY_*).
import { resolve } from 'node:path';
import type { Argv } from 'yargs';
import { HelperError } from '../errors/helper-error.js';
import { readRegistryUrl } from '../settings/registry-url.js';
import { readString } from '../settings/values.js';
import { settingOption } from './setting-options.js';

/** DEFAULT_PORT is the reference's port (localhost:5000). */
export const DEFAULT_PORT = 5000;

/** ListenAddress is where the server binds. */
export interface ListenAddress {
  host: string;
  port: number;
}

/** storageOption adds `--storage` (CONTAINER_REGISTRY_STORAGE, default ./container-registry). */
export function storageOption<T>(y: Argv<T>) {
  return y.option('storage', settingOption('CONTAINER_REGISTRY_STORAGE'));
}

/** resolveStorage makes the storage path absolute. */
export function resolveStorage(storage: string): string {
  if (!storage) throw new HelperError('usage', '--storage must not be empty');
  return resolve(storage);
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
