// Which file work goes where. libuv runs every asynchronous file operation of the process in one
// thread pool, first come first served, and hands every result to the one event loop. A blob GET
// is a stream of 1 MiB reads; a push is a chain of small operations (open, write, fsync, rename,
// link) each waiting for the one before. With 100 GETs running, a FIFO queue of up to 100 blob
// reads stood before every small operation of a push, and every turn of the event loop carried up
// to 100 chunks of pull data (about 60 MiB, 100 ms under load) before it reached the next step of
// a push: 100 pushers completed no image in 20 s while 100 pullers pulled 513 MiB/s
// (bench/mixed.mjs; docs/benchmarks.md).
//
// So blob reads take turns: at most `slots` of them are in the thread pool at once, whatever the
// number of GETs, the others wait here (first come, first served among reads). The rest of the
// pool is left to uploads' writes and flushes (small operations and their fsyncs run in the file
// lane, file-lane.ts), and one turn of the event loop carries at most a few chunks. A GET whose
// client reads slowly holds no slot: its transfer stops asking (back-pressure).
import { close, open, read } from 'node:fs';

type ReadCallback = (err: NodeJS.ErrnoException | null, bytesRead: number, buffer: NodeJS.ArrayBufferView) => void;

/** BulkReads hands out turns for reads of blob content (see above). */
export class BulkReads {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly slots: number) {}

  /**
   * fs is the `fs` option of createReadStream: open and close as usual, every read in turn. It
   * keeps the stream's own read-ahead (one read at a time, up to its highWaterMark).
   */
  readonly fs = {
    open,
    close,
    read: (fd: number, buffer: NodeJS.ArrayBufferView, offset: number, length: number, position: number | null, callback: ReadCallback): void => {
      this.turn(() =>
        read(fd, buffer, offset, length, position, (err, bytesRead, buf) => {
          this.done();
          callback(err, bytesRead, buf);
        }),
      );
    },
  };

  /** inFlight is the number of reads in the pool now; queued the number waiting for a turn. */
  get inFlight(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length;
  }

  private turn(start: () => void): void {
    if (this.active < this.slots) {
      this.active++;
      start();
    } else {
      this.waiting.push(start);
    }
  }

  private done(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }
}

/** threadPoolSize is the size of libuv's pool in this process (UV_THREADPOOL_SIZE, 4 when unset). */
export function threadPoolSize(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.UV_THREADPOOL_SIZE);
  return Number.isInteger(n) && n >= 1 ? Math.min(n, 1024) : 4;
}

/**
 * BULK_READS is the process's one gate: a quarter of the thread pool (at least one thread) for blob
 * reads, the rest for uploads' writes. Under 100 pullers and 100 pushers (bench/mixed.mjs, one
 * process, pool of 4) one slot gave 43.8 pushes/s and 817 MiB/s pulled, two 29.4 and 903, four (no
 * gate) 26.3 and 641 (docs/benchmarks.md).
 */
export const BULK_READS = new BulkReads(Math.max(1, Math.floor(threadPoolSize() / 4)));
