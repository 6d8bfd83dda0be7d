// The services around the distribution API, wired in one place: the event bus, metrics, webhooks,
// the UI/metrics/health endpoints and the mDNS announcement. The server's composition root calls
// `createServices` before it listens, `started` once it has a port, and `close` after draining.
import type { ImageStore } from '../storage/store.js';
import type { StateDir } from '../state/state-dir.js';
import { StatsCache } from '../storage/stats.js';
import { RegistryEvents } from './events.js';
import { RegistryMetrics } from './metrics.js';
import { Notifier, type WebhookEndpoint } from './webhooks.js';
import { extraEndpoints, isLoopback, type MetricsAccess } from './endpoints.js';
import { announceMdns, type MdnsAnnouncement, type MdnsOptions } from './mdns.js';
import type { ExtraEndpoints } from './dispatch.js';
import type { MetricsJson, Peers } from './peers.js';
import type { UpstreamState } from '../cache/upstream.js';

/** ServiceOptions are the server's options for everything next to the distribution API. */
export interface ServiceOptions {
  /** the web UI at /ui/ (default on) */
  ui?: boolean;
  /** who may read /metrics (default `loopback`) */
  metricsAccess?: MetricsAccess;
  /** /readyz fails below this much free disk */
  minFreeBytes?: number;
  /** /readyz checks that this users file is readable (secure mode with logins) */
  htpasswdFile?: string;
  /** webhook endpoints for manifest events */
  notifications?: WebhookEndpoint[];
  /** announce the registry with mDNS */
  mdns?: MdnsOptions;
  /** one line per notable thing (mDNS renames, webhook failures) */
  log?: (line: string) => void;
}

/** Services is what the composition root holds. */
export interface Services {
  events: RegistryEvents;
  metrics: RegistryMetrics;
  extra: ExtraEndpoints;
  /** started announces over mDNS once the server listens */
  started(address: { host: string; port: number; url: string; instanceId: string }): Promise<void>;
  /** mdnsHostname is the announced name, when announcing */
  mdnsHostname(): string | undefined;
  /** close stops announcing and gives queued webhooks a moment */
  close(): Promise<void>;
  /** storageChanged: another process changed the storage (a restore); storage totals are read again */
  storageChanged(): void;
}

/**
 * createServices builds the services for one server. With `peers` (one worker of several), storage
 * totals are also made stale by the other workers' pushes and deletes, and /metrics answers for all.
 */
export function createServices(o: {
  state: StateDir;
  store: ImageStore;
  certFile?: string;
  services?: ServiceOptions;
  peers?: Peers;
  /** the pull-through cache's upstreams and their state, for /readyz */
  upstreams?: () => UpstreamState[];
  readOnly?: boolean;
}): Services {
  const s = o.services ?? {};
  const log = s.log ?? ((line: string) => process.stderr.write(`container-registry: ${line}\n`));
  const events = new RegistryEvents();
  const stats = new StatsCache(o.store);
  const metrics = new RegistryMetrics(events, stats, o.state);
  const peers = o.peers;
  if (peers) {
    peers.onStorageChanged(() => stats.invalidate());
    events.on('blobUpload', () => peers.storageChanged());
    events.on('manifest', (e) => e.action !== 'pull' && peers.storageChanged());
    peers.provideMetrics(() => metrics.registry.getMetricsAsJSON() as Promise<MetricsJson>);
  }
  const extra = extraEndpoints({
    store: o.store,
    stats,
    events,
    metrics: peers ? { render: () => peers.metrics() } : metrics,
    metricsAccess: s.metricsAccess ?? 'loopback',
    ui: s.ui ?? true,
    readiness: {
      storageDir: o.state.dir,
      driver: o.store.driver,
      minFreeBytes: s.minFreeBytes,
      certFile: o.certFile,
      htpasswdFile: s.htpasswdFile,
      upstreams: o.upstreams,
      readOnly: o.readOnly,
    },
  });
  let notifier: Notifier | undefined;
  let mdns: MdnsAnnouncement | undefined;
  return {
    events,
    metrics,
    extra,
    storageChanged: () => stats.invalidate(),
    async started(address) {
      if (s.notifications?.length && peers) {
        // With several workers the primary sends every webhook, from one queue per endpoint.
        const wanted = new Set(s.notifications.flatMap((e) => e.actions));
        events.on('manifest', (e) => wanted.has(e.action) && peers.notify(e));
      } else if (s.notifications?.length) {
        notifier = new Notifier(s.notifications, { addr: `${address.host}:${address.port}`, instanceID: address.instanceId }, metrics.delivery, log);
        notifier.subscribe(events);
      }
      if (s.mdns) {
        if (isLoopback(address.host)) {
          log(`mDNS: the server listens on ${address.host} only; other machines will find the name but not reach it (use --listen 0.0.0.0:${address.port})`);
        }
        // A registry that cannot announce still serves: the name is a convenience, the port is the contract.
        try {
          mdns = await announceMdns({ ...s.mdns, port: address.port, tls: address.url.startsWith('https:'), log });
          log(`mDNS: announcing ${mdns.hostname()} (_oci-registry._tcp, port ${address.port})`);
        } catch (err) {
          log(`mDNS: cannot announce ${s.mdns.name}: ${(err as Error).message}`);
        }
      }
    },
    mdnsHostname: () => mdns?.hostname(),
    async close() {
      await Promise.all([mdns?.stop(), notifier?.close()]);
    },
  };
}
