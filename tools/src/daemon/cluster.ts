// `serve --workers N`: the primary process. It serves no request itself: it composes once (so the
// PKI and the default user are made, and a problem is told, before any worker starts), forks N
// workers that run the registry on the same port (node:cluster deals the connections out to them
// in turn), and holds what must be one for the whole registry:
//
//   - the PID file and the instance record, with its own PID: `stop` signals one process, which
//     drains every worker and waits for them; a worker whose primary dies ends with it
//     (node:cluster closes the channel);
//   - the workers themselves: one that dies is replaced in its slot (after a pause that grows when
//     it keeps dying), while the others serve on; an acknowledged upload is on disk, so nothing is
//     lost with it;
//   - a lock per upload session, so its operations run one at a time whichever worker each reaches
//     (storage/uploads.ts SessionLocks); a dead worker's locks are let go;
//   - the login limiter (auth/limiter.ts), so its budgets count every worker's guesses, and the key
//     credentials are MACed under, with word of each one verified passed on to the other workers
//     (a credential verified on one passes at once on all: auth/controller.ts);
//   - /metrics: the worker asked gets every worker's metrics added up here (prom-client's
//     AggregatorRegistry; counters summed, storage totals the largest, registry/metrics.ts);
//   - word of a push or delete, passed on to the other workers (their storage totals are stale);
//   - the webhooks: every worker hands its manifest events here, and one sender per endpoint
//     delivers them in order, each once, from one bounded queue (registry/webhooks.ts);
//   - the mDNS announcement.
//
// Why processes and not threads: on 2 cores, 4 concurrent pushes of 1 GiB ran at 1.0x with one
// process and the hashing alone (27% of the server's CPU per GiB, the most a hashing thread could
// take off the event loop) bounds threads at 1.37x; see docs/benchmarks.md (bench/cores.mjs).
import cluster, { type Worker } from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { HelperError } from '../errors/helper-error.js';
import type { ErrorCode } from '../errors/codes.js';
import { FailureLimiter, type LoginAttempt } from '../auth/limiter.js';
import type { MdnsAnnouncement } from '../registry/mdns.js';
import type { ManifestEvent } from '../registry/events.js';
import type { Notifier } from '../registry/webhooks.js';
import { threadPoolSize } from '../storage/bulk-reads.js';
import { composeServer, holdInstance, type ServeConfig } from './serve.js';
import { WORKER_ENV, isOurs, type ToPrimary, type ToWorker } from './cluster-messages.js';

/** WORKER_THREAD_POOL is libuv's pool size in a worker unless UV_THREADPOOL_SIZE says otherwise (see bulk-reads.ts). */
export const WORKER_THREAD_POOL = 8;

/** GATHER_TIMEOUT_MS bounds the wait for every worker's metrics (a worker that does not answer is left out). */
const GATHER_TIMEOUT_MS = 5000;

interface Listening {
  url: string;
  host: string;
  port: number;
}

/** runPrimary runs `c.workers` workers until SIGTERM or SIGINT, then drains them all. */
export async function runPrimary(c: ServeConfig, say: (line: string) => void): Promise<void> {
  const { options, notes } = await composeServer(c);
  for (const note of notes) say(note);
  const instanceId = randomBytes(8).toString('hex');
  const primary = new Primary(c, instanceId, say);
  const at = await primary.start();
  const endpoints = options.services?.notifications ?? [];
  let notifier: Notifier | undefined;
  if (endpoints.length > 0) {
    const [{ webhookMetrics }, { Notifier }, { RegistryEvents }] = await Promise.all([
      import('../registry/metrics.js'),
      import('../registry/webhooks.js'),
      import('../registry/events.js'),
    ]);
    const delivery = webhookMetrics();
    const events = new RegistryEvents();
    notifier = new Notifier(endpoints, { addr: `${at.host}:${at.port}`, instanceID: instanceId }, delivery, options.services?.log ?? say);
    notifier.subscribe(events);
    primary.sendWebhooks(
      (e) => events.publish('manifest', e),
      () => delivery.registry.getMetricsAsJSON() as Promise<unknown[]>,
    );
  }
  let mdns: MdnsAnnouncement | undefined;
  const m = options.services?.mdns;
  if (m) {
    const log = options.services?.log ?? say;
    try {
      const { announceMdns } = await import('../registry/mdns.js');
      mdns = await announceMdns({ ...m, port: at.port, tls: options.tls !== undefined, log });
      log(`mDNS: announcing ${mdns.hostname()} (_oci-registry._tcp, port ${at.port})`);
    } catch (err) {
      log(`mDNS: cannot announce ${m.name}: ${(err as Error).message}`);
    }
  }
  await holdInstance(
    c,
    say,
    { ...at, tls: options.tls !== undefined, instanceId, workers: c.workers },
    async (timeoutMs) => {
      await primary.drain(timeoutMs);
      // After the drain: the last requests' events still go out; then goodbye on mDNS.
      await Promise.all([notifier?.close(), mdns?.stop().catch(() => {})]);
    },
    () => primary.storageChanged(),
  );
}

/** LockTable grants each key to one worker at a time, in the order asked. */
class LockTable {
  private readonly held = new Map<string, { owner: Worker; queue: Array<{ worker: Worker; n: number }> }>();

  constructor(private readonly grant: (worker: Worker, n: number) => void) {}

  acquire(worker: Worker, key: string, n: number): void {
    const lock = this.held.get(key);
    if (!lock) {
      this.held.set(key, { owner: worker, queue: [] });
      this.grant(worker, n);
    } else {
      lock.queue.push({ worker, n });
    }
  }

  release(worker: Worker, key: string): void {
    const lock = this.held.get(key);
    if (!lock || lock.owner !== worker) return;
    this.handOn(key);
  }

  /** releaseAll lets go of what a dead worker held, and forgets what it waited for. */
  releaseAll(worker: Worker): void {
    for (const [key, lock] of [...this.held]) {
      lock.queue = lock.queue.filter((w) => w.worker !== worker);
      if (lock.owner === worker) this.handOn(key);
    }
  }

  private handOn(key: string): void {
    const lock = this.held.get(key)!;
    const next = lock.queue.shift();
    if (!next) {
      this.held.delete(key);
      return;
    }
    lock.owner = next.worker;
    this.grant(next.worker, next.n);
  }
}

interface Gather {
  requester: Worker;
  n: number;
  waiting: Set<Worker>;
  parts: unknown[][];
  timer: NodeJS.Timeout;
}

/** Primary forks, replaces and drains the workers, and answers what they ask (see above). */
class Primary {
  private readonly slots: Array<Worker | undefined>;
  private readonly slotOf = new Map<Worker, number>();
  private readonly listening = new Set<Worker>();
  private readonly locks = new LockTable((worker, n) => this.send(worker, { cr: 'locked', n }));
  private readonly limiter = new FailureLimiter();
  private readonly credentialKey = randomBytes(32).toString('base64');
  private readonly attempts = new Map<number, { worker: Worker; attempt: LoginAttempt }>();
  private nextAttempt = 1;
  private readonly gathers = new Map<number, Gather>();
  private nextGather = 1;
  private readonly deaths = new Map<number, number[]>();
  private stopping = false;
  /** manifest events for the webhooks, kept until the sender is there */
  private webhook: ((e: ManifestEvent) => void) | undefined;
  private readonly early: ManifestEvent[] = [];
  private ownMetrics: (() => Promise<unknown[]>) | undefined;
  private starting: { resolve(at: Listening): void; reject(err: Error): void; at?: Listening } | undefined;

  constructor(
    c: ServeConfig,
    private readonly instanceId: string,
    private readonly say: (line: string) => void,
  ) {
    this.slots = new Array(c.workers ?? 1).fill(undefined);
    // The workers accept connections themselves from the one listening socket (the kernel hands
    // each to a worker that is waiting for one, so a busy worker takes fewer). node:cluster's
    // round-robin instead accepts here and passes each connection to a worker over IPC: one passed
    // to a worker that has just died, before its exit is seen here, is never answered nor closed.
    cluster.schedulingPolicy = cluster.SCHED_NONE;
    // The workers run this same command line (process.argv) and find they are workers.
    cluster.setupPrimary({ silent: false });
    cluster.on('message', (worker, m: unknown) => {
      if (isOurs<ToPrimary>(m)) this.receive(worker, m);
    });
    cluster.on('exit', (worker, code, signal) => this.exited(worker, code, signal));
  }

  /** start forks every worker and resolves when all listen; the first failure stops them all and is thrown. */
  start(): Promise<Listening> {
    return new Promise<Listening>((resolve, reject) => {
      this.starting = { resolve, reject };
      for (let slot = 1; slot <= this.slots.length; slot++) this.fork(slot);
    });
  }

  /** sendWebhooks names where the workers' manifest events go, and the primary's own metrics (the deliveries). */
  sendWebhooks(sink: (e: ManifestEvent) => void, metrics: () => Promise<unknown[]>): void {
    this.webhook = sink;
    this.ownMetrics = metrics;
    for (const e of this.early.splice(0)) sink(e);
  }

  /** drain asks every worker to finish what it serves and stop; after `timeoutMs` (and a little), they are killed. */
  async drain(timeoutMs: number): Promise<void> {
    this.stopping = true;
    const live = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && !w.isDead());
    const gone = Promise.all(live.map((w) => new Promise<void>((r) => (w.isDead() ? r() : w.once('exit', () => r())))));
    for (const w of live) this.send(w, { cr: 'drain', timeoutMs });
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), timeoutMs + 3000)));
    if ((await Promise.race([gone, late])) === 'late') {
      for (const w of live) if (!w.isDead()) w.process.kill('SIGKILL');
      await gone;
    }
    clearTimeout(timer);
  }

  private fork(slot: number): void {
    const env: Record<string, string> = {
      [WORKER_ENV.slot]: String(slot),
      [WORKER_ENV.count]: String(this.slots.length),
      [WORKER_ENV.instance]: this.instanceId,
      // A worker's reads of blobs take a quarter of libuv's pool (bulk-reads.ts); the rest is for uploads' writes.
      UV_THREADPOOL_SIZE: String(process.env.UV_THREADPOOL_SIZE ? threadPoolSize() : WORKER_THREAD_POOL),
    };
    const worker = cluster.fork(env);
    // A send to a worker that just died is an 'error' event: its exit is handled below.
    worker.on('error', () => {});
    this.slots[slot - 1] = worker;
    this.slotOf.set(worker, slot);
  }

  /** storageChanged passes a notice from outside (a restore: daemon/storage-notice.ts) on to every worker. */
  storageChanged(): void {
    for (const w of this.listening) this.send(w, { cr: 'changed' });
  }

  private send(worker: Worker, m: ToWorker): void {
    if (worker.isDead() || !worker.isConnected()) return;
    try {
      worker.send(m);
    } catch {
      // gone in between
    }
  }

  private receive(worker: Worker, m: ToPrimary): void {
    switch (m.cr) {
      case 'listening':
        this.listening.add(worker);
        this.started(worker, { url: m.url, host: m.host, port: m.port });
        return;
      case 'failed':
        this.failedToStart(worker, new HelperError(m.code as ErrorCode, m.message));
        return;
      case 'lock':
        this.locks.acquire(worker, m.key, m.n);
        return;
      case 'unlock':
        this.locks.release(worker, m.key);
        return;
      case 'changed':
        for (const w of this.listening) if (w !== worker) this.send(w, { cr: 'changed' });
        return;
      case 'event':
        if (this.webhook) this.webhook(m.event);
        else this.early.push(m.event);
        return;
      case 'gather':
        this.gather(worker, m.n);
        return;
      case 'metrics-json':
        this.gathered(worker, m.n, m.json);
        return;
      case 'login': {
        const admission = this.limiter.begin(m.address, m.user);
        if (!admission.admitted) {
          this.send(worker, { cr: 'admission', n: m.n, retryAfter: admission.retryAfter });
          return;
        }
        const id = this.nextAttempt++;
        this.attempts.set(id, { worker, attempt: admission.attempt });
        this.send(worker, { cr: 'admission', n: m.n, attempt: id });
        return;
      }
      case 'credential-key':
        this.send(worker, { cr: 'credential-key', n: m.n, key: this.credentialKey });
        return;
      case 'verified':
        for (const w of this.listening) if (w !== worker) this.send(w, { cr: 'verified', key: m.key });
        return;
      case 'settle': {
        const a = this.attempts.get(m.attempt);
        if (!a || a.worker !== worker) return;
        this.attempts.delete(m.attempt);
        a.attempt[m.outcome]();
        return;
      }
    }
  }

  private started(worker: Worker, at: Listening): void {
    const s = this.starting;
    if (!s) {
      this.say(`worker ${this.slotOf.get(worker)} (pid ${worker.process.pid}) serving`);
      return;
    }
    s.at ??= at;
    if ([...this.slots].every((w) => w !== undefined && this.listening.has(w))) {
      this.starting = undefined;
      s.resolve(s.at);
    }
  }

  private failedToStart(worker: Worker, err: HelperError): void {
    const s = this.starting;
    if (s) {
      // The first start fails as a whole: the error is the command's.
      this.starting = undefined;
      this.stopping = true;
      for (const w of Object.values(cluster.workers ?? {})) if (w && w !== worker && !w.isDead()) w.process.kill('SIGKILL');
      s.reject(err);
      return;
    }
    this.say(`worker ${this.slotOf.get(worker)} could not start: ${err.message}`);
  }

  private exited(worker: Worker, code: number | null, signal: string | null): void {
    const slot = this.slotOf.get(worker);
    this.slotOf.delete(worker);
    this.listening.delete(worker);
    this.locks.releaseAll(worker);
    for (const [id, a] of this.attempts) {
      if (a.worker !== worker) continue;
      this.attempts.delete(id);
      a.attempt.abandoned();
    }
    for (const [id, g] of this.gathers) {
      if (g.requester === worker) {
        clearTimeout(g.timer);
        this.gathers.delete(id);
      } else if (g.waiting.delete(worker) && g.waiting.size === 0) {
        void this.finishGather(id);
      }
    }
    if (slot === undefined || this.stopping) return;
    const how = signal ? `was killed (${signal})` : `exited (code ${code})`;
    if (this.starting) {
      this.failedToStart(worker, new HelperError('start-failed', `worker ${slot} ${how} before it listened`));
      return;
    }
    // A worker that keeps dying is started again ever more slowly: 0.1 s, doubling, at most 10 s.
    const now = Date.now();
    const recent = (this.deaths.get(slot) ?? []).filter((t) => now - t < 60_000);
    recent.push(now);
    this.deaths.set(slot, recent);
    const pause = Math.min(10_000, 100 * 2 ** (recent.length - 1));
    this.say(`worker ${slot} (pid ${worker.process.pid}) ${how}; starting another in ${(pause / 1000).toFixed(1)} s`);
    setTimeout(() => {
      if (!this.stopping) this.fork(slot);
    }, pause).unref();
  }

  private gather(requester: Worker, n: number): void {
    const id = this.nextGather++;
    const waiting = new Set([...this.listening].filter((w) => w.isConnected()));
    const g: Gather = { requester, n, waiting, parts: [], timer: setTimeout(() => void this.finishGather(id), GATHER_TIMEOUT_MS) };
    this.gathers.set(id, g);
    for (const w of waiting) this.send(w, { cr: 'metrics-json', n: id });
    if (waiting.size === 0) void this.finishGather(id);
  }

  private gathered(worker: Worker, id: number, json: unknown[] | undefined): void {
    const g = this.gathers.get(id);
    if (!g?.waiting.delete(worker)) return;
    if (json) g.parts.push(json);
    if (g.waiting.size === 0) void this.finishGather(id);
  }

  private async finishGather(id: number): Promise<void> {
    const g = this.gathers.get(id);
    if (!g) return;
    this.gathers.delete(id);
    clearTimeout(g.timer);
    try {
      if (this.ownMetrics) g.parts.push(await this.ownMetrics());
      const { sumMetrics } = await import('../registry/metrics.js');
      this.send(g.requester, { cr: 'gathered', n: g.n, ...(await sumMetrics(g.parts)) });
    } catch (err) {
      this.send(g.requester, { cr: 'gathered', n: g.n, error: (err as Error).message });
    }
  }
}
