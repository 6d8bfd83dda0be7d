// Command-line side of the services next to the API: the web UI, /metrics access, readiness
// thresholds, mDNS and webhooks, from flags or the CONTAINER_REGISTRY_* environment.
import type { Argv } from 'yargs';
import { existsSync } from 'node:fs';
import { CliError } from './errors.js';
import { StoragePaths } from '../storage/paths.js';
import type { ServiceOptions } from '../registry/services.js';
import { METRICS_ACCESS_MODES, type MetricsAccess } from '../registry/endpoints.js';
import { DEFAULT_MDNS_NAME, mdnsHostLabel } from '../registry/mdns.js';
import { ConfigError, loadNotifications } from '../registry/webhooks.js';

/** ServiceArgs are the parsed flags. */
export interface ServiceArgs {
  ui: boolean;
  'metrics-access': string;
  mdns: boolean;
  'mdns-name': string;
  'mdns-interface'?: string[];
  'min-free-disk': number;
}

function envFlag(value: string | undefined, fallback: boolean): boolean {
  if (value === undefined || value.trim() === '') return fallback;
  return /^(1|true|yes|on)$/i.test(value.trim());
}

/** serviceOptions adds `--ui`, `--metrics-access`, `--mdns`, `--mdns-name`, `--mdns-interface` and `--min-free-disk`. */
export function serviceOptions<T>(y: Argv<T>) {
  const env = process.env;
  return y
    .option('ui', { type: 'boolean', default: envFlag(env.CONTAINER_REGISTRY_UI, true), describe: 'Serve the web UI at /ui/ (--no-ui to turn it off) [env CONTAINER_REGISTRY_UI=0]' })
    .option('metrics-access', {
      type: 'string',
      choices: METRICS_ACCESS_MODES as unknown as string[],
      default: env.CONTAINER_REGISTRY_METRICS_ACCESS || 'loopback',
      describe: 'Who may read /metrics: loopback (anonymous from this machine, others per the access policy), policy, anonymous, off [env CONTAINER_REGISTRY_METRICS_ACCESS]',
    })
    .option('mdns', { type: 'boolean', default: envFlag(env.CONTAINER_REGISTRY_MDNS, false), describe: 'Announce the registry on the local network with mDNS [env CONTAINER_REGISTRY_MDNS=1]' })
    .option('mdns-name', { type: 'string', default: env.CONTAINER_REGISTRY_MDNS_NAME || DEFAULT_MDNS_NAME, describe: 'Host name to announce [env CONTAINER_REGISTRY_MDNS_NAME]' })
    .option('mdns-interface', { type: 'string', array: true, describe: 'Interface (name or address) to announce on; repeat for more; all by default' })
    .option('min-free-disk', {
      type: 'number',
      default: Number(env.CONTAINER_REGISTRY_MIN_FREE_MB) || 256,
      describe: 'MiB of free disk below which /readyz reports not ready [env CONTAINER_REGISTRY_MIN_FREE_MB]',
    });
}

/** resolveServiceOptions checks the flags and reads the webhook endpoints (config.toml, CONTAINER_REGISTRY_NOTIFY). */
export async function resolveServiceOptions(args: ServiceArgs, storageDir: string, env: NodeJS.ProcessEnv = process.env): Promise<ServiceOptions> {
  if (!(METRICS_ACCESS_MODES as readonly string[]).includes(args['metrics-access'])) {
    throw new CliError('usage', `--metrics-access must be one of ${METRICS_ACCESS_MODES.join(', ')}`, { exitCode: 2 });
  }
  if (args.mdns) {
    try {
      mdnsHostLabel(args['mdns-name']);
    } catch (err) {
      throw new CliError('usage', (err as Error).message, { exitCode: 2 });
    }
  }
  let notifications;
  try {
    notifications = await loadNotifications(storageDir, env);
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError('config', err.message, { exitCode: 2 });
    throw err;
  }
  // Secure mode keeps its users here; when they exist, /readyz checks they can be read.
  const htpasswd = new StoragePaths(storageDir).htpasswd();
  return {
    ui: args.ui,
    metricsAccess: args['metrics-access'] as MetricsAccess,
    minFreeBytes: Math.max(0, args['min-free-disk']) * 1024 * 1024,
    ...(existsSync(htpasswd) ? { htpasswdFile: htpasswd } : {}),
    notifications,
    ...(args.mdns ? { mdns: { name: args['mdns-name'], interfaces: args['mdns-interface'] } } : {}),
  };
}
