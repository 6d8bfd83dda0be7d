// One worker of `serve --workers N` (the primary is cluster.ts). It composes and starts the
// registry as a single process would, on the port the primary shares out, with a WorkerLink as its
// peers (registry/peers.ts) and as what secure mode shares about logins (the limiter, the key
// credentials are MACed under, word of verified ones): all ask the primary over the IPC channel. It tells the primary when it listens (or why it could not), drains when the primary says
// so, and leaves announcing over mDNS, the PID file and the instance record to the primary.
//
// Signals: the primary is the one to signal. SIGINT (Ctrl-C reaches the whole process group) is
// left to it, and it drains everyone; a SIGTERM sent to this worker alone drains it, and the
// primary starts another. When the primary dies the channel closes and node:cluster ends the
// worker at once.
import type { Admission, SharedLogins } from '../auth/limiter.js';
import type { MetricsJson, Peers } from '../registry/peers.js';
import type { ManifestEvent } from '../registry/events.js';
import { startRegistry, type RunningRegistry } from '../registry/server.js';
import type { SessionLocks } from '../storage/uploads.js';
import { HelperError } from '../errors/helper-error.js';
import { composeServer, listenFailure, type ServeConfig } from './serve.js';
import { guardProcess } from './process-guards.js';
import { tuneHeapForStreaming } from './heap.js';
import { WORKER_ENV, isOurs, type ToPrimary, type ToWorker } from './cluster-messages.js';

/** WorkerLink is a worker's side of the IPC channel: its Peers and its SharedLogins. */
export class WorkerLink implements Peers, SharedLogins {
  private nextId = 1;
  private readonly answers = new Map<number, (m: ToWorker) => void>();
  private readonly changed: Array<() => void> = [];
  private readonly verifiedListeners: Array<(key: string) => void> = [];
  private key: Buffer | undefined;
  private local: (() => Promise<MetricsJson>) | undefined;
  private drainListener: ((timeoutMs: number) => void) | undefined;

  constructor(
    readonly worker: number,
    readonly count: number,
  ) {
    process.on('message', (m: unknown) => {
      if (isOurs<ToWorker>(m)) this.receive(m);
    });
  }

  /** send tells the primary; a channel closing under us loses the message (the process is ending). */
  send(m: ToPrimary): void {
    try {
      process.send?.(m, undefined, undefined, () => {});
    } catch {
      // ERR_IPC_CHANNEL_CLOSED: the primary is gone, and node:cluster ends this process
    }
  }

  /** onDrain names what to do when the primary asks this worker to drain and stop. */
  onDrain(listener: (timeoutMs: number) => void): void {
    this.drainListener = listener;
  }

  readonly sessionLocks: SessionLocks = {
    acquire: async (key) => {
      await this.ask((n) => ({ cr: 'lock', n, key }));
      let released = false;
      return () => {
        if (released) return;
        released = true;
        this.send({ cr: 'unlock', key });
      };
    },
  };

  storageChanged(): void {
    this.send({ cr: 'changed' });
  }

  onStorageChanged(listener: () => void): void {
    this.changed.push(listener);
  }

  notify(event: ManifestEvent): void {
    this.send({ cr: 'event', event });
  }

  provideMetrics(local: () => Promise<MetricsJson>): void {
    this.local = local;
  }

  async metrics(): Promise<{ body: string; contentType: string }> {
    const m = await this.ask((n) => ({ cr: 'gather', n }));
    if (m.cr !== 'gathered' || m.body === undefined) throw new Error(`gathering every worker's metrics: ${(m.cr === 'gathered' && m.error) || 'no answer'}`);
    return { body: m.body, contentType: m.contentType ?? 'text/plain; version=0.0.4; charset=utf-8' };
  }

  async begin(address: string, user: string): Promise<Admission> {
    const m = await this.ask((n) => ({ cr: 'login', n, address, user }));
    if (m.cr !== 'admission' || m.attempt === undefined) return { admitted: false, retryAfter: m.cr === 'admission' ? (m.retryAfter ?? 1) : 1 };
    const attempt = m.attempt;
    let settled = false;
    const settle = (outcome: 'succeeded' | 'failed' | 'abandoned') => {
      if (settled) return;
      settled = true;
      this.send({ cr: 'settle', attempt, outcome });
    };
    return {
      admitted: true,
      attempt: { succeeded: () => settle('succeeded'), failed: () => settle('failed'), abandoned: () => settle('abandoned') },
    };
  }

  /** fetchCredentialKey asks the primary for the registry's credential key (before the access controller is made). */
  async fetchCredentialKey(): Promise<void> {
    const m = await this.ask((n) => ({ cr: 'credential-key', n }));
    if (m.cr !== 'credential-key') throw new Error('the primary did not give the credential key');
    this.key = Buffer.from(m.key, 'base64');
  }

  get credentialKey(): Buffer {
    if (!this.key) throw new Error('the credential key was not fetched');
    return this.key;
  }

  verified(key: string): void {
    this.send({ cr: 'verified', key });
  }

  onVerified(listener: (key: string) => void): void {
    this.verifiedListeners.push(listener);
  }

  private ask(message: (n: number) => ToPrimary): Promise<ToWorker> {
    const n = this.nextId++;
    return new Promise((resolve) => {
      this.answers.set(n, resolve);
      this.send(message(n));
    });
  }

  private receive(m: ToWorker): void {
    switch (m.cr) {
      case 'locked':
      case 'gathered':
      case 'admission':
      case 'credential-key': {
        const answer = this.answers.get(m.n);
        this.answers.delete(m.n);
        answer?.(m);
        return;
      }
      case 'changed':
        for (const listener of this.changed) listener();
        return;
      case 'metrics-json': {
        const reply = (json: MetricsJson | undefined, error?: string) => this.send({ cr: 'metrics-json', n: m.n, json, error });
        if (!this.local) reply([]);
        else
          this.local().then(
            (json) => reply(json),
            (err: Error) => reply(undefined, err.message),
          );
        return;
      }
      case 'drain':
        this.drainListener?.(m.timeoutMs);
        return;
      case 'verified':
        for (const listener of this.verifiedListeners) listener(m.key);
        return;
    }
  }
}

/** runWorker serves as one worker until the primary (or a SIGTERM) says to stop. */
export async function runWorker(c: ServeConfig, say: (line: string) => void): Promise<void> {
  tuneHeapForStreaming();
  const env = process.env;
  const link = new WorkerLink(Number(env[WORKER_ENV.slot] ?? 1), Number(env[WORKER_ENV.count] ?? 1));
  let running: RunningRegistry;
  try {
    // Notes (a CA made, the access policy) were said by the primary, which composed first.
    await link.fetchCredentialKey();
    const { options } = await composeServer(c, { logins: link });
    // The primary announces over mDNS: once, for the whole registry.
    const services = options.services ? { ...options.services, mdns: undefined } : undefined;
    try {
      running = await startRegistry({ ...options, services, instanceId: env[WORKER_ENV.instance], peers: link });
    } catch (err) {
      throw listenFailure(err, c);
    }
  } catch (err) {
    const failure = err instanceof HelperError ? err : new HelperError('start-failed', (err as Error)?.message ?? String(err));
    link.send({ cr: 'failed', code: failure.code, message: failure.message });
    // The primary says it; a moment for the message to leave.
    setTimeout(() => process.exit(1), 100);
    return new Promise<void>(() => {});
  }
  guardProcess();
  link.send({ cr: 'listening', url: running.url, host: running.host, port: running.port });
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (timeoutMs: number) => {
      if (stopping) return;
      stopping = true;
      void running.close(timeoutMs).then(resolve);
    };
    link.onDrain(stop);
    process.once('SIGTERM', () => {
      say(`worker ${link.worker} (pid ${process.pid}): SIGTERM: draining in-flight requests`);
      stop(c.drainTimeoutMs);
    });
    // Ctrl-C reaches the whole group: the primary drains everyone.
    process.on('SIGINT', () => {});
  });
  process.exit(0);
}
