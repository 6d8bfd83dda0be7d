// Command-line side of the services next to the API: the web UI, /metrics access, readiness
// thresholds and mDNS, as flags (or the CONTAINER_REGISTRY_* environment). daemon/service-options.ts
// checks them and reads the webhooks.
import type { Argv } from 'yargs';
import { settingOption } from './setting-options.js';
import type { ServiceChoices } from '../daemon/service-options.js';

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

/** serviceChoices maps the parsed flags to what the server is started with. */
export function serviceChoices(args: ServiceArgs): ServiceChoices {
  return {
    ui: args.ui,
    metricsAccess: args['metrics-access'],
    mdns: args.mdns,
    mdnsName: args['mdns-name'],
    mdnsInterfaces: args['mdns-interface'],
    minFreeMib: args['min-free-disk'],
  };
}
