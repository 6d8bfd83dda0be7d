// Password comparisons off the event loop. A bcrypt comparison at cost 10 is ~55 ms of CPU in
// bcryptjs; run on the event loop, 30 clients guessing made every other request wait seconds. Here
// they run in a few worker threads, at most `size` at a time, and at most `maxWaiting` wait for a
// thread: beyond that `verify` throws VerifyQueueFull at once (the server answers 429) instead of
// queueing without end.
//
// Nothing is loaded or started before the first comparison: the worker's code (a string, see
// verify-worker-source.ts) and node:worker_threads come in then, and threads are started one by one
// as the queue needs them. An idle thread is unref'd, so it never keeps the process alive; a
// thread holds it only while it computes one comparison. A thread gets no environment (the default
// user's password may be in ours) and no execArgv.
import type { Worker } from 'node:worker_threads';
import { DUMMY_HASH, isBcryptHash } from './htpasswd.js';
import { HelperError } from '../errors/helper-error.js';
import type { VerifyResult, VerifyTask } from './verify-worker.js';

/** VerifyPoolOptions size the pool. */
export interface VerifyPoolOptions {
  /** threads; default: one less than os.availableParallelism(), at least 1, at most 4 */
  size?: number;
  /** comparisons that may wait for a thread; default 16 per thread */
  maxWaiting?: number;
}

/** VerifyQueueFull is thrown by `verify` when `maxWaiting` comparisons already wait (code `verify-queue-full`). */
export class VerifyQueueFull extends HelperError {
  constructor() {
    super('verify-queue-full', 'too many password checks are waiting');
    this.name = 'VerifyQueueFull';
  }
}

interface Job {
  task: VerifyTask;
  resolve: (ok: boolean) => void;
  reject: (err: Error) => void;
}

/** defaultPoolSize is one thread per CPU but one (the event loop's), between 1 and 4. */
async function defaultPoolSize(): Promise<number> {
  const { availableParallelism } = await import('node:os');
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}

/** VerifyPool compares passwords with bcrypt hashes in worker threads. */
export class VerifyPool {
  private readonly idle: Worker[] = [];
  private readonly busy = new Map<Worker, Job>();
  private readonly waiting: Job[] = [];
  private starting = 0;
  private nextId = 1;
  private size: number | undefined;
  private maxWaiting: number | undefined;
  private runtime: Promise<{ Worker: typeof Worker; source: string }> | undefined;

  constructor(o: VerifyPoolOptions = {}) {
    this.size = o.size;
    this.maxWaiting = o.maxWaiting ?? (o.size !== undefined ? 16 * o.size : undefined);
  }

  /**
   * verify tells whether `password` matches `hash`. An unknown user (no hash) or a hash that is not
   * bcrypt costs a comparison with a dummy hash too, so a wrong name takes as long as a wrong
   * password; both give false.
   */
  async verify(password: string, hash: string | undefined): Promise<boolean> {
    const valid = hash !== undefined && isBcryptHash(hash);
    const ok = await this.compare(password, valid ? hash : DUMMY_HASH);
    return valid && ok;
  }

  private compare(password: string, hash: string): Promise<boolean> {
    // Until the first call has sized the pool (a few ms), the bound is that of one thread.
    if (this.waiting.length >= (this.maxWaiting ?? 16)) return Promise.reject(new VerifyQueueFull());
    return new Promise<boolean>((resolve, reject) => {
      this.waiting.push({ task: { id: this.nextId++, password, hash }, resolve, reject });
      this.pump();
    });
  }

  private load(): Promise<{ Worker: typeof Worker; source: string }> {
    return (this.runtime ??= (async () => {
      const [{ Worker }, { verifyWorkerSource }, size] = await Promise.all([
        import('node:worker_threads'),
        import('./verify-worker-source.js'),
        this.size ?? defaultPoolSize(),
      ]);
      this.size = size;
      this.maxWaiting ??= 16 * size;
      return { Worker, source: await verifyWorkerSource() };
    })());
  }

  /** pump hands waiting jobs to idle threads and starts a thread when all are busy. */
  private pump(): void {
    while (this.waiting.length > 0 && this.idle.length > 0) this.assign(this.idle.pop()!, this.waiting.shift()!);
    const threads = this.idle.length + this.busy.size + this.starting;
    if (this.waiting.length > this.starting && (this.size === undefined ? threads === 0 : threads < this.size)) {
      this.starting++;
      this.start().then(
        (w) => {
          this.starting--;
          this.idle.push(w);
          this.pump();
        },
        (err: unknown) => {
          this.starting--;
          // Without any thread nothing would ever answer these: fail them (the request gets a 500).
          if (this.idle.length + this.busy.size + this.starting === 0) for (const job of this.waiting.splice(0)) job.reject(err as Error);
        },
      );
    }
  }

  private async start(): Promise<Worker> {
    const { Worker, source } = await this.load();
    const w = new Worker(source, { eval: true, env: {}, execArgv: [] });
    w.unref();
    w.on('message', (result: VerifyResult) => {
      const job = this.busy.get(w);
      if (!job || job.task.id !== result.id) return;
      this.busy.delete(w);
      w.unref();
      // A hash bcrypt could not read matches nothing.
      job.resolve(result.ok && result.error === undefined);
      this.idle.push(w);
      this.pump();
    });
    const lost = (err: Error) => {
      const job = this.busy.get(w);
      this.busy.delete(w);
      const i = this.idle.indexOf(w);
      if (i >= 0) this.idle.splice(i, 1);
      job?.reject(err);
      this.pump();
    };
    w.on('error', lost);
    w.on('exit', (code) => lost(new Error(`a password-check thread exited (code ${code})`)));
    return w;
  }

  private assign(w: Worker, job: Job): void {
    this.busy.set(w, job);
    w.ref();
    w.postMessage(job.task);
  }
}
