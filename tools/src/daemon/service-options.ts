// The services next to the API as the server is started with them: the web UI, /metrics access,
// readiness thresholds, mDNS and webhooks (config.toml and CONTAINER_REGISTRY_NOTIFY).
import { existsSync } from 'node:fs';
import { HelperError } from '../errors/helper-error.js';
import type { StateDir } from '../state/state-dir.js';
import type { ServiceOptions } from '../registry/services.js';
import { METRICS_ACCESS_MODES, type MetricsAccess } from '../registry/endpoints.js';
import { mdnsHostLabel } from '../registry/mdns.js';
import { loadNotifications, type ServerConfig } from '../registry/webhooks.js';

/** ServiceChoices are what the operator chose (flags or environment), before they are checked. */
export interface ServiceChoices {
  ui: boolean;
  metricsAccess: string;
  mdns: boolean;
  mdnsName: string;
  mdnsInterfaces?: string[];
  minFreeMib: number;
}

/** resolveServiceOptions checks the choices and reads the webhook endpoints. */
export async function resolveServiceOptions(
  c: ServiceChoices,
  state: StateDir,
  config: ServerConfig,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ServiceOptions> {
  if (!(METRICS_ACCESS_MODES as readonly string[]).includes(c.metricsAccess)) {
    throw new HelperError('usage', `--metrics-access must be one of ${METRICS_ACCESS_MODES.join(', ')}`);
  }
  if (c.mdns) {
    try {
      mdnsHostLabel(c.mdnsName);
    } catch (err) {
      throw new HelperError('usage', (err as Error).message);
    }
  }
  // A broken config.toml or CONTAINER_REGISTRY_NOTIFY is a ConfigError (code `config`).
  const notifications = loadNotifications(config, env);
  // Secure mode keeps its users here; when they exist, /readyz checks they can be read.
  const htpasswd = state.htpasswd();
  return {
    ui: c.ui,
    metricsAccess: c.metricsAccess as MetricsAccess,
    minFreeBytes: Math.max(0, c.minFreeMib) * 1024 * 1024,
    ...(existsSync(htpasswd) ? { htpasswdFile: htpasswd } : {}),
    notifications,
    ...(c.mdns ? { mdns: { name: c.mdnsName, interfaces: c.mdnsInterfaces } } : {}),
  };
}
