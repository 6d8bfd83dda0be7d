// Chrome trace-event JSON, the "JSON Object Format" that Perfetto (https://ui.perfetto.dev) and
// chrome://tracing open: {"traceEvents":[...],"displayTimeUnit":"ms","otherData":{...}}.
// https://docs.google.com/document/d/1CvAClvFfyA5R-PhYUmn5OOQtYMH4h6I0nSsKchNAySU
// Times are microseconds since the Unix epoch, so a build's trace and a push's line up.
import { once } from 'node:events';
import { constants, createWriteStream } from 'node:fs';
import { access, rename, unlink } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { dirname, resolve } from 'node:path';
import { tempPath } from '../common/atomic-write.js';
import { HelperError } from '../errors/helper-error.js';

/** TRACE_ARTIFACT_TYPE is the artifactType proposed for a trace attached to an image as an OCI referrer. */
export const TRACE_ARTIFACT_TYPE = 'application/vnd.container-registry.trace.v1+json';

/** TRACE_MEDIA_TYPE is the media type of a trace document's bytes (plain JSON: the viewers sniff the format). */
export const TRACE_MEDIA_TYPE = 'application/json';

/** TraceArgs are an event's arguments: what the viewers list when a slice is selected. */
export type TraceArgs = Record<string, unknown>;

/**
 * TraceEvent is one event: `X` complete (ts and dur), `M` metadata (names a process or thread),
 * `C` counter (args are the series' values), `i` instant.
 */
export interface TraceEvent {
  name: string;
  ph: 'X' | 'M' | 'C' | 'i';
  /** microseconds since the Unix epoch (0 for metadata) */
  ts: number;
  /** microseconds; `X` only */
  dur?: number;
  pid: number;
  tid: number;
  cat?: string;
  /** instants: `t` thread, `p` process, `g` global */
  s?: 't' | 'p' | 'g';
  /** chrome://tracing's reserved colour names ("terrible" for a failed task) */
  cname?: string;
  args?: TraceArgs;
}

/** TraceDocument is a whole trace in the JSON Object Format. */
export interface TraceDocument {
  traceEvents: TraceEvent[];
  displayTimeUnit: 'ms';
  otherData: Record<string, unknown>;
}

/** processName is the `M` event that names process `pid` (a track group in Perfetto). */
export function processName(pid: number, name: string): TraceEvent {
  return { name: 'process_name', ph: 'M', ts: 0, pid, tid: 0, args: { name } };
}

/** threadName is the `M` event that names thread `tid` of `pid` (one track). */
export function threadName(pid: number, tid: number, name: string): TraceEvent {
  return { name: 'thread_name', ph: 'M', ts: 0, pid, tid, args: { name } };
}

/** sortIndex is the `M` event that orders process `pid` among the others (lower first). */
export function processSortIndex(pid: number, index: number): TraceEvent {
  return { name: 'process_sort_index', ph: 'M', ts: 0, pid, tid: 0, args: { sort_index: index } };
}

/** nowMicros is the wall clock in microseconds since the epoch, at sub-millisecond resolution. */
export function nowMicros(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

/** traceBytes serializes a document (one event per line, so a diff or a grep reads it). */
export function traceBytes(doc: TraceDocument): Buffer {
  const lines = doc.traceEvents.map((e) => JSON.stringify(e));
  return Buffer.from(
    `{"traceEvents":[\n${lines.join(',\n')}\n],\n"displayTimeUnit":${JSON.stringify(doc.displayTimeUnit)},\n"otherData":${JSON.stringify(doc.otherData)}}\n`,
  );
}

/** WRITE_CHUNK is how much serialized text gathers before one write: a big trace never sits whole in memory. */
const WRITE_CHUNK = 256 * 1024;

/**
 * writeTraceStream writes `events` as a trace document to `out` while they are produced, then
 * `otherData()` (asked last, so it can count what was written). Backpressure is honoured. A reader
 * that stops early (`trace DIR | head`) ends the writing quietly: what is left is not wanted.
 */
export async function writeTraceStream(out: NodeJS.WritableStream, events: Iterable<TraceEvent>, otherData: () => Record<string, unknown>): Promise<number> {
  let pending = '{"traceEvents":[\n';
  let count = 0;
  let closed = false;
  const flush = async () => {
    if ((out as Writable).destroyed) closed = true;
    else if (!out.write(pending)) {
      try {
        await once(out as NodeJS.EventEmitter, 'drain');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EPIPE') throw err;
        closed = true;
      }
    }
    pending = '';
  };
  for (const e of events) {
    pending += `${count ? ',\n' : ''}${JSON.stringify(e)}`;
    count++;
    if (pending.length >= WRITE_CHUNK) await flush();
    if (closed) return count;
  }
  pending += `\n],\n"displayTimeUnit":"ms",\n"otherData":${JSON.stringify(otherData())}}\n`;
  await flush();
  return count;
}

/**
 * writeTraceFile streams a trace into `path` through a temp file beside it, renamed at the end: a
 * reader never sees half a trace, and a failed write leaves no file behind.
 */
export async function writeTraceFile(path: string, events: Iterable<TraceEvent>, otherData: () => Record<string, unknown>): Promise<number> {
  const tmp = tempPath(path);
  const out = createWriteStream(tmp, { flags: 'wx', mode: 0o644 });
  try {
    await once(out, 'open');
    const count = await writeTraceStream(out, events, otherData);
    out.end();
    await finished(out);
    await rename(tmp, path);
    return count;
  } catch (err) {
    out.destroy();
    await unlink(tmp).catch(() => {});
    throw err;
  }
}

/** writeTraceDocument writes a whole document to `path` (as writeTraceFile); a failure is a `trace` error naming the file. */
export async function writeTraceDocument(path: string, doc: TraceDocument): Promise<void> {
  try {
    await writeTraceFile(path, doc.traceEvents, () => doc.otherData);
  } catch (err) {
    throw new HelperError('trace', `cannot write the trace to ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** checkTraceTarget fails early, before any work, when `path` cannot be written (no such folder, not writable). */
export async function checkTraceTarget(path: string): Promise<void> {
  try {
    await access(dirname(resolve(path)), constants.W_OK);
  } catch (err) {
    throw new HelperError(
      'trace',
      `cannot write the trace to ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such folder' : (err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}
