// Command-line side of the services next to the API: the web UI, /metrics access, readiness
// thresholds, mDNS and webhooks, from flags or the CONTAINER_REGISTRY_* environment.
import type { Argv } from 'yargs';
import { existsSync } from 'node:fs';
import { HelperError } from '../errors/helper-error.js';
import type { StateDir } from '../state/state-dir.js';
import type { ServiceOptions } from '../registry/services.js';
import { METRICS_ACCESS_MODES, type MetricsAccess } from '../registry/endpoints.js';
import { mdnsHostLabel } from '../registry/mdns.js';
import { settingOption } from './setting-options.js';
import { loadNotifications } from '../registry/webhooks.js';

/** ServiceArgs are the parsed flags. */
export interface ServiceArgs {
  ui: boolean;
  'metrics-access': string;
  mdns: boolean;
  'mdns-name': string;
  'mdns-interface'?: string[];
  'min-free-disk': number;
}

/** serviceOptions adds `--ui`, `--metrics-access`, `--mdns`, `--mdns-name`, `--mdns-interface` and `--min-free-disk`. */
export function serviceOptions<T>(y: Argv<T>) {
  return y
    .option('ui', settingOption('CONTAINER_REGISTRY_UI'))
    .option('metrics-access', settingOption('CONTAINER_REGISTRY_METRICS_ACCESS'))
    .option('mdns', settingOption('CONTAINER_REGISTRY_MDNS'))
    .option('mdns-name', settingOption('CONTAINER_REGISTRY_MDNS_NAME'))
    .option('mdns-interface', { type: 'string', array: true, describe: 'Interface (name or address) to announce on; repeat for more; all by default' })
    .option('min-free-disk', settingOption('CONTAINER_REGISTRY_MIN_FREE_MB'));
}

/** resolveServiceOptions checks the flags and reads the webhook endpoints (config.toml, CONTAINER_REGISTRY_NOTIFY). */
export async function resolveServiceOptions(args: ServiceArgs, state: StateDir, env: NodeJS.ProcessEnv = process.env): Promise<ServiceOptions> {
  if (!(METRICS_ACCESS_MODES as readonly string[]).includes(args['metrics-access'])) {
    throw new HelperError('usage', `--metrics-access must be one of ${METRICS_ACCESS_MODES.join(', ')}`);
  }
  if (args.mdns) {
    try {
      mdnsHostLabel(args['mdns-name']);
    } catch (err) {
      throw new HelperError('usage', (err as Error).message);
    }
  }
  // A broken config.toml or CONTAINER_REGISTRY_NOTIFY is a ConfigError (code `config`).
  const notifications = await loadNotifications(state, env);
  // Secure mode keeps its users here; when they exist, /readyz checks they can be read.
  const htpasswd = state.htpasswd();
  return {
    ui: args.ui,
    metricsAccess: args['metrics-access'] as MetricsAccess,
    minFreeBytes: Math.max(0, args['min-free-disk']) * 1024 * 1024,
    ...(existsSync(htpasswd) ? { htpasswdFile: htpasswd } : {}),
    notifications,
    ...(args.mdns ? { mdns: { name: args['mdns-name'], interfaces: args['mdns-interface'] } } : {}),
  };
}
