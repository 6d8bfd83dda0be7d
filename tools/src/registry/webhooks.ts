// Event notifications: manifest push, pull and delete events POSTed to configured endpoints in the
// envelope CNCF distribution sends (https://distribution.github.io/distribution/about/notifications/),
// so receivers written for distribution work unchanged. Each endpoint has its own bounded queue and
// one sender: a slow or dead receiver delays only its own events, never a push; when the queue is
// full the oldest event is dropped and counted.
import { parse as parseToml } from 'smol-toml';
import { readFile } from 'node:fs/promises';
import type { StateDir } from '../state/state-dir.js';
import { HelperError } from '../errors/helper-error.js';
import { readList } from '../settings/values.js';
import type { ManifestAction, ManifestEvent, RegistryEvents } from './events.js';

/** EVENTS_MEDIA_TYPE is the Content-Type distribution sends its envelopes with. */
export const EVENTS_MEDIA_TYPE = 'application/vnd.docker.distribution.events.v1+json';

/** CONFIG_FILE names the server's optional configuration in the storage directory (StateDir.serverConfig). */
export const CONFIG_FILE = 'config.toml';

/** WebhookEndpoint is one receiver. */
export interface WebhookEndpoint {
  name: string;
  url: string;
  headers: Record<string, string>;
  /** per attempt */
  timeoutMs: number;
  /** attempts after the first */
  retries: number;
  /** first pause between attempts; doubled each time, at most a minute */
  backoffMs: number;
  /** events kept while the receiver lags */
  queue: number;
  /** events sent in one envelope at most */
  batch: number;
  actions: ManifestAction[];
}

const ACTIONS: ManifestAction[] = ['push', 'pull', 'delete'];

function endpointDefaults(name: string, url: string): WebhookEndpoint {
  return { name, url, headers: {}, timeoutMs: 5000, retries: 5, backoffMs: 1000, queue: 1000, batch: 32, actions: [...ACTIONS] };
}

/** ConfigError is a config.toml or CONTAINER_REGISTRY_NOTIFY problem, said in one line (code `config`). */
export class ConfigError extends HelperError {
  constructor(message: string) {
    super('config', message);
    this.name = 'ConfigError';
  }
}

function positive(v: unknown, what: string, fallback: number, scale = 1): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !(v >= 0) || !Number.isFinite(v)) throw new ConfigError(`${what} must be a non-negative number`);
  return Math.round(v * scale);
}

function checkUrl(url: unknown, where: string): string {
  if (typeof url !== 'string') throw new ConfigError(`${where}: url is required`);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ConfigError(`${where}: ${JSON.stringify(url)} is not a URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ConfigError(`${where}: only http and https URLs are supported`);
  return url;
}

/**
 * parseNotifications reads `[[notifications.endpoints]]` tables of config.toml:
 * name, url, headers (table), timeout, backoff (seconds), retries, queue, batch, actions.
 */
export function parseNotifications(text: string, source = CONFIG_FILE): WebhookEndpoint[] {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(`${source}: ${(err as Error).message.split('\n')[0]}`);
  }
  const notifications = doc.notifications as { endpoints?: unknown } | undefined;
  const list = notifications?.endpoints;
  if (list === undefined) return [];
  if (!Array.isArray(list)) throw new ConfigError(`${source}: notifications.endpoints must be an array of tables ([[notifications.endpoints]])`);
  return list.map((raw, i) => {
    const e = raw as Record<string, unknown>;
    const where = `${source}: notifications.endpoints[${i}]`;
    const url = checkUrl(e.url, where);
    const name = typeof e.name === 'string' && e.name ? e.name : new URL(url).host;
    const out = endpointDefaults(name, url);
    if (e.headers !== undefined) {
      if (typeof e.headers !== 'object' || e.headers === null) throw new ConfigError(`${where}: headers must be a table`);
      for (const [k, v] of Object.entries(e.headers)) out.headers[k] = Array.isArray(v) ? v.map(String).join(', ') : String(v);
    }
    out.timeoutMs = positive(e.timeout, `${where}: timeout`, out.timeoutMs / 1000, 1000);
    out.backoffMs = positive(e.backoff, `${where}: backoff`, out.backoffMs / 1000, 1000);
    out.retries = positive(e.retries, `${where}: retries`, out.retries);
    out.queue = Math.max(1, positive(e.queue, `${where}: queue`, out.queue));
    out.batch = Math.max(1, positive(e.batch, `${where}: batch`, out.batch));
    if (e.actions !== undefined) {
      if (!Array.isArray(e.actions) || !e.actions.every((a) => ACTIONS.includes(a as ManifestAction))) {
        throw new ConfigError(`${where}: actions must list push, pull and/or delete`);
      }
      out.actions = e.actions as ManifestAction[];
    }
    return out;
  });
}

/**
 * ServerConfig is config.toml as read once when a server starts: every part that takes settings
 * from it (webhooks, the cache's upstreams) parses this one text. Two reads could also block
 * twice on a file that never answers (a FIFO, a dead mount) after `start` gave up on the first.
 */
export interface ServerConfig {
  file: string;
  /** undefined when there is no config.toml */
  text: string | undefined;
}

/** readServerConfig reads config.toml in the storage dir (if any); an unreadable one is a ConfigError. */
export async function readServerConfig(state: StateDir): Promise<ServerConfig> {
  const file = state.serverConfig();
  try {
    return { file, text: await readFile(file, 'utf8') };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new ConfigError(`${file}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`);
    return { file, text: undefined };
  }
}

/** loadNotifications reads config.toml's endpoints and CONTAINER_REGISTRY_NOTIFY (URLs, comma or space separated). */
export function loadNotifications(config: ServerConfig, env: NodeJS.ProcessEnv = process.env): WebhookEndpoint[] {
  const endpoints = config.text === undefined ? [] : parseNotifications(config.text, config.file);
  for (const url of readList(env, 'CONTAINER_REGISTRY_NOTIFY')) {
    endpoints.push(endpointDefaults(new URL(checkUrl(url, 'CONTAINER_REGISTRY_NOTIFY')).host, url));
  }
  return endpoints;
}

/** DeliveryCounters is where outcomes are counted (the metrics module provides them). */
export interface DeliveryCounters {
  outcome(endpoint: string, outcome: 'sent' | 'failed' | 'dropped', n: number): void;
  queueLength(endpoint: string, n: number): void;
}

/** Source is the envelope's `source`: which registry instance sent the event. */
export interface Source {
  addr: string;
  instanceID: string;
}

/** EndpointSender delivers one endpoint's events in order, batching what queued up meanwhile. */
class EndpointSender {
  private readonly queue: ManifestEvent[] = [];
  private running: Promise<void> | undefined;
  private readonly abort = new AbortController();
  private closing = false;

  constructor(
    readonly endpoint: WebhookEndpoint,
    private readonly source: Source,
    private readonly counters: DeliveryCounters,
    private readonly log: (line: string) => void,
  ) {}

  enqueue(event: ManifestEvent): void {
    if (this.closing || !this.endpoint.actions.includes(event.action)) return;
    this.queue.push({ ...event, source: this.source } as ManifestEvent);
    if (this.queue.length > this.endpoint.queue) {
      this.queue.shift();
      this.counters.outcome(this.endpoint.name, 'dropped', 1);
    }
    this.counters.queueLength(this.endpoint.name, this.queue.length);
    this.running ??= this.drain().finally(() => {
      this.running = undefined;
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && !this.abort.signal.aborted) {
      const batch = this.queue.splice(0, this.endpoint.batch);
      this.counters.queueLength(this.endpoint.name, this.queue.length);
      const error = await this.deliver(batch);
      if (error === undefined) {
        this.counters.outcome(this.endpoint.name, 'sent', batch.length);
      } else {
        this.counters.outcome(this.endpoint.name, 'failed', batch.length);
        this.log(`notifications: ${this.endpoint.name}: gave up on ${batch.length} event(s) after ${this.endpoint.retries + 1} attempt(s): ${error}`);
      }
    }
  }

  /** deliver POSTs one envelope, retrying with backoff; resolves to the last error, or undefined when sent. */
  private async deliver(events: ManifestEvent[]): Promise<string | undefined> {
    const body = JSON.stringify({ events });
    let lastError = '';
    for (let attempt = 0; attempt <= this.endpoint.retries; attempt++) {
      if (attempt > 0) {
        const pause = Math.min(60_000, this.endpoint.backoffMs * 2 ** (attempt - 1));
        if (!(await sleep(pause, this.abort.signal))) return `${lastError} (stopped)`;
      }
      try {
        const res = await fetch(this.endpoint.url, {
          method: 'POST',
          headers: { ...this.endpoint.headers, 'Content-Type': EVENTS_MEDIA_TYPE },
          body,
          signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.endpoint.timeoutMs)]),
          redirect: 'manual',
        });
        await res.arrayBuffer().catch(() => undefined);
        // distribution counts 2xx and 3xx as delivered.
        if (res.status >= 200 && res.status < 400) return undefined;
        lastError = `HTTP ${res.status}`;
      } catch (err) {
        const e = err as Error & { cause?: { code?: string } };
        lastError = e.name === 'TimeoutError' ? `timed out after ${this.endpoint.timeoutMs} ms` : (e.cause?.code ?? e.message);
      }
    }
    return lastError;
  }

  /** close lets the queue drain for up to `ms`, then abandons what is left. */
  async close(ms: number): Promise<void> {
    this.closing = true;
    if (this.running) {
      const timer = setTimeout(() => this.abort.abort(), ms);
      await this.running;
      clearTimeout(timer);
    }
    if (this.queue.length > 0) {
      this.counters.outcome(this.endpoint.name, 'dropped', this.queue.length);
      this.log(`notifications: ${this.endpoint.name}: ${this.queue.length} event(s) not sent at shutdown`);
      this.queue.length = 0;
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Notifier fans manifest events out to every endpoint. */
export class Notifier {
  private readonly senders: EndpointSender[];

  constructor(
    endpoints: WebhookEndpoint[],
    source: Source,
    counters: DeliveryCounters,
    log: (line: string) => void = (l) => process.stderr.write(`container-registry: ${l}\n`),
  ) {
    this.senders = endpoints.map((e) => new EndpointSender(e, source, counters, log));
  }

  /** subscribe listens to the server's manifest events. */
  subscribe(events: RegistryEvents): void {
    if (this.senders.length === 0) return;
    events.on('manifest', (e) => {
      for (const s of this.senders) s.enqueue(e);
    });
  }

  /** close drains every queue for up to `ms` (in parallel) and stops. */
  async close(ms = 2000): Promise<void> {
    await Promise.all(this.senders.map((s) => s.close(ms)));
  }
}
