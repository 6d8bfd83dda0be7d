// The lanes for small file operations: a few worker threads, each running whole operations of the
// driver (driver.ts) with synchronous calls, so an operation costs the event loop one round trip
// however many system calls it makes.
//
// Through libuv every system call is a round trip of its own: a job in the thread pool's one FIFO
// queue, then a callback in some later turn of the event loop. An atomic write (mkdir, open, write,
// fsync, close, rename, open the folder, fsync, close) was ten of them, a push of a small image
// about 134. Under 100 blob GETs a turn took about 100 ms, so a push took over 10 s
// (bench/mixed.mjs; docs/benchmarks.md). Here an atomic write is one round trip, a push about 25,
// and the fsyncs wait in threads of their own, never behind blob reads in libuv's pool
// (bulk-reads.ts), nor blob reads behind them. Two lanes: what writes (and waits on the disk) in
// one, what only reads in the other, pipelined, so that a stat never waits behind an fsync.
//
// The threads' code is `laneThread` below, started from its own text (Function#toString): the
// helper is bundled, with no worker file beside it. So that function must be whole in itself: no
// imports, no names from this module, `require` its parameter. Threads start on the first
// operation, one by one as the queue needs them; an idle thread is unref'd and never keeps the
// process alive.
import type { Worker } from 'node:worker_threads';

/** FileInfo is what stat tells. */
export interface FileInfo {
  size: number;
  mtimeMs: number;
  isDirectory: boolean;
}

/** LaneOps are the operations a lane thread runs; each throws Node's own errors (with `code`). */
export interface LaneOps {
  /** readFile returns a (small) file's content */
  readFile(path: string): Uint8Array;
  stat(path: string): FileInfo;
  exists(path: string): boolean;
  /** list gives the names in a folder ([] when it does not exist) */
  list(path: string): string[];
  /** writeAtomic: temp file with `mode` beside `path`, write, fsync, rename, fsync of the folder (common/atomic-write.ts) */
  writeAtomic(path: string, data: Uint8Array | string, mode: number): void;
  /** move renames `from` onto `to` (making `to`'s folder) and fsyncs the folder; with `syncFirst`, fsyncs `from` before */
  move(from: string, to: string, syncFirst: boolean): void;
  /** deleteIfExists removes a file or a folder tree; false when it was not there */
  deleteIfExists(path: string): boolean;
  /** touch sets a file's times to now */
  touch(path: string): void;
  /** stamp writes an empty file into an existing folder; false when the folder is gone */
  stamp(path: string): boolean;
  mkdirp(path: string): void;
  /** createFiles makes `dir` and creates each file exclusively with its content (none of them when one fails) */
  createFiles(dir: string, files: Array<[path: string, content: string]>): void;
}

type OpName = keyof LaneOps;

interface Call {
  id: number;
  op: OpName;
  args: unknown[];
}

interface Reply {
  id: number;
  value?: unknown;
  error?: { message: string; code?: string; errno?: number; syscall?: string; path?: string };
}

interface Job {
  call: Call;
  resolve(value: unknown): void;
  reject(err: Error): void;
}

/**
 * laneThread is the body of a lane thread (see above): it answers each message with the result of
 * one operation. It runs in the thread; it is never called here.
 */
function laneThread(require: NodeJS.Require): void {
  const fs = require('node:fs') as typeof import('node:fs');
  const path = require('node:path') as typeof import('node:path');
  const crypto = require('node:crypto') as typeof import('node:crypto');
  const { parentPort } = require('node:worker_threads') as typeof import('node:worker_threads');

  const isMissing = (err: unknown) => {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR';
  };
  const fsyncPath = (p: string, flags: string) => {
    const fd = fs.openSync(p, flags);
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  };
  // The name common/atomic-write.ts tempPath gives (TEMP_FILE there; gc removes old ones).
  const tempPath = (p: string) => path.join(path.dirname(p), `.${path.basename(p)}.tmp-${process.pid}-${crypto.randomBytes(6).toString('hex')}`);
  const writeOnce = (p: string, data: Uint8Array | string, mode: number) => {
    fs.mkdirSync(path.dirname(p), { recursive: true });
    const tmp = tempPath(p);
    const fd = fs.openSync(tmp, 'wx', mode);
    try {
      fs.writeFileSync(fd, data);
      fs.fsyncSync(fd);
    } catch (err) {
      fs.closeSync(fd);
      fs.rmSync(tmp, { force: true });
      throw err;
    }
    fs.closeSync(fd);
    try {
      fs.renameSync(tmp, p);
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      throw err;
    }
    fsyncPath(path.dirname(p), 'r');
  };

  const ops: LaneOps = {
    readFile: (p) => fs.readFileSync(p),
    stat(p) {
      const st = fs.statSync(p);
      return { size: st.size, mtimeMs: st.mtimeMs, isDirectory: st.isDirectory() };
    },
    exists(p) {
      try {
        fs.statSync(p);
        return true;
      } catch (err) {
        if (isMissing(err)) return false;
        throw err;
      }
    },
    list(p) {
      try {
        return fs.readdirSync(p);
      } catch (err) {
        if (isMissing(err)) return [];
        throw err;
      }
    },
    writeAtomic(p, data, mode) {
      // A folder that vanishes meanwhile (gc setting a revision aside) is made again and the write retried.
      for (let attempt = 1; ; attempt++) {
        try {
          writeOnce(p, data, mode);
          return;
        } catch (err) {
          if (attempt >= 3 || (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        }
      }
    },
    move(from, to, syncFirst) {
      if (syncFirst) fsyncPath(from, 'r+');
      fs.mkdirSync(path.dirname(to), { recursive: true });
      fs.renameSync(from, to);
      fsyncPath(path.dirname(to), 'r');
    },
    deleteIfExists(p) {
      if (!ops.exists(p)) return false;
      fs.rmSync(p, { recursive: true, force: true });
      return true;
    },
    touch(p) {
      const now = new Date();
      fs.utimesSync(p, now, now);
    },
    stamp(p) {
      try {
        fs.writeFileSync(p, '');
        return true;
      } catch (err) {
        if (isMissing(err)) return false;
        throw err;
      }
    },
    mkdirp(p) {
      fs.mkdirSync(p, { recursive: true });
    },
    createFiles(dir, files) {
      fs.mkdirSync(dir, { recursive: true });
      try {
        for (const [p, content] of files) fs.writeFileSync(p, content, { flag: 'wx' });
      } catch (err) {
        fs.rmSync(dir, { recursive: true, force: true });
        throw err;
      }
    },
  };

  parentPort!.on('message', (call: Call) => {
    let reply: Reply;
    try {
      const value = (ops[call.op] as (...a: unknown[]) => unknown)(...call.args);
      reply = { id: call.id, value };
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      reply = { id: call.id, error: { message: e.message, code: e.code, errno: e.errno, syscall: e.syscall, path: e.path } };
    }
    const transfer = reply.value instanceof Uint8Array && reply.value.byteOffset === 0 ? [reply.value.buffer as ArrayBuffer] : [];
    parentPort!.postMessage(reply, transfer);
  });
}

/**
 * LaneShape sizes a lane: `threads`, and `depth`, the operations handed to one thread before it
 * answers the first (it runs them in order; more than 1 only for operations that never wait on the
 * disk, so none waits behind an fsync).
 */
export interface LaneShape {
  threads: number;
  depth: number;
}

/**
 * SYNC_LANE runs the operations that write: an fsync holds its thread for 1-10 ms, and with 100
 * pushers 4 threads kept the disk's journal as busy as 8 or 16 (bench/mixed.mjs: more pulled less
 * for no more pushes).
 */
export const SYNC_LANE: LaneShape = { threads: 4, depth: 1 };

/**
 * QUICK_LANE runs the reads (stat, a link, a listing, a touch): 20-60 us of work each, which in
 * the sync lane waited 40-60 ms behind fsyncs and held a thread for a whole round trip (0.5-0.9 ms)
 * each. Two threads, 8 operations handed to each at a time.
 */
export const QUICK_LANE: LaneShape = { threads: 2, depth: 8 };

interface Thread {
  worker: Worker;
  jobs: Map<number, Job>;
}

/** FileLane runs LaneOps in worker threads (see above). */
export class FileLane {
  private readonly threads: Thread[] = [];
  private readonly waiting: Job[] = [];
  private starting = 0;
  private nextId = 1;
  private workerClass: Promise<typeof Worker> | undefined;
  private closed = false;

  constructor(private readonly shape: LaneShape = SYNC_LANE) {}

  /** run runs one operation in a lane thread. */
  run<K extends OpName>(op: K, ...args: Parameters<LaneOps[K]>): Promise<ReturnType<LaneOps[K]>> {
    if (this.closed) return Promise.reject(new Error('the file lane is closed'));
    return new Promise((resolve, reject) => {
      this.waiting.push({ call: { id: this.nextId++, op, args }, resolve: resolve as (v: unknown) => void, reject });
      this.pump();
    });
  }

  /** warm starts every thread now (a server, before its first request: a thread takes 30-50 ms to start). */
  async warm(): Promise<void> {
    const starting: Array<Promise<void>> = [];
    while (this.threads.length + this.starting < this.shape.threads) {
      this.starting++;
      starting.push(
        this.start().then(
          (t) => {
            this.starting--;
            this.threads.push(t);
            this.pump();
          },
          () => {
            this.starting--;
          },
        ),
      );
    }
    await Promise.all(starting);
  }

  /** close ends the threads (a test's teardown; a server lets them go with the process). */
  async close(): Promise<void> {
    this.closed = true;
    const all = this.threads.splice(0).map((t) => t.worker);
    await Promise.all(all.map((w) => w.terminate()));
  }

  private pump(): void {
    while (this.waiting.length > 0) {
      // The least loaded thread with room, if any.
      let best: Thread | undefined;
      for (const t of this.threads) if (t.jobs.size < this.shape.depth && (!best || t.jobs.size < best.jobs.size)) best = t;
      if (!best || (best.jobs.size > 0 && this.threads.length + this.starting < this.shape.threads)) break;
      this.assign(best, this.waiting.shift()!);
    }
    if (this.waiting.length > this.starting && this.threads.length + this.starting < this.shape.threads) {
      this.starting++;
      this.start().then(
        (t) => {
          this.starting--;
          this.threads.push(t);
          this.pump();
        },
        (err: unknown) => {
          this.starting--;
          // Without any thread nothing would ever answer these: fail them.
          if (this.threads.length + this.starting === 0) for (const job of this.waiting.splice(0)) job.reject(err as Error);
        },
      );
    }
  }

  private async start(): Promise<Thread> {
    const Worker = await (this.workerClass ??= import('node:worker_threads').then((m) => m.Worker));
    const w = new Worker(`(${laneThread.toString()})(require)`, { eval: true, env: {}, execArgv: [], stdout: false, stderr: false });
    const t: Thread = { worker: w, jobs: new Map() };
    w.on('message', (reply: Reply) => {
      const job = t.jobs.get(reply.id);
      if (!job) return;
      t.jobs.delete(reply.id);
      if (t.jobs.size === 0) w.unref();
      if (reply.error) job.reject(rebuild(reply.error, job.call));
      else job.resolve(reply.value);
      this.pump();
    });
    const lost = (err: Error) => {
      const i = this.threads.indexOf(t);
      if (i >= 0) this.threads.splice(i, 1);
      for (const job of t.jobs.values()) job.reject(err);
      t.jobs.clear();
      if (!this.closed) this.pump();
    };
    w.on('error', lost);
    w.on('exit', (code) => lost(new Error(`a file thread exited (code ${code})`)));
    // After the listeners: adding a 'message' listener refs the thread's port again, and an idle
    // thread would then keep a stopped server's process from exiting.
    w.unref();
    return t;
  }

  private assign(t: Thread, job: Job): void {
    t.jobs.set(job.call.id, job);
    // A thread at work holds the process (a CLI command waiting on it must not exit).
    t.worker.ref();
    t.worker.postMessage(job.call);
  }
}

/** rebuild turns a thread's error into an Error here, with Node's fields (code, errno, syscall, path). */
function rebuild(e: NonNullable<Reply['error']>, call: Call): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(e.message);
  if (e.code !== undefined) err.code = e.code;
  if (e.errno !== undefined) err.errno = e.errno;
  if (e.syscall !== undefined) err.syscall = e.syscall;
  if (e.path !== undefined) err.path = e.path;
  err.stack = `${err.stack}\n    in the file lane: ${call.op}`;
  return err;
}

/** FileLanes are a process's two lanes: `sync` for what writes, `quick` for what only reads. */
export interface FileLanes {
  sync: FileLane;
  quick: FileLane;
}

let shared: FileLanes | undefined;

/** fileLanes are the process's lanes, their threads started on first use. */
export function fileLanes(): FileLanes {
  return (shared ??= { sync: new FileLane(SYNC_LANE), quick: new FileLane(QUICK_LANE) });
}
