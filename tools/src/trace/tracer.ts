// A small tracer for the helper's own work (push --trace): spans recorded as complete events.
// Off, it is not there at all: callers hold `Tracer | undefined` and write `tracer?.begin(...)`,
// so an untraced push pays one property read per span.
import { nowMicros, processName, threadName, type TraceArgs, type TraceDocument, type TraceEvent } from './events.js';

/** Span is a started span: `end` records it, `cancel` forgets it (the first call wins). */
export interface Span {
  /** when it started, microseconds since the epoch */
  readonly started: number;
  end(args?: TraceArgs): void;
  cancel(): void;
}

/** MAX_SPANS bounds what one tracer keeps (a push of a million blobs keeps its first spans). */
const MAX_SPANS = 200_000;

/** TRACER_PID is the trace's one process: this run of the helper, by its own PID (so traces of several runs can be merged). */
const TRACER_PID = process.pid;

/** Recorded is a finished span and whether it runs beside others (a lane of its own). */
interface Recorded {
  event: TraceEvent;
  lane: boolean;
}

/**
 * Tracer records spans of one run. Track 0 holds the spans that nest (the whole push, a
 * repository, a manifest); `lane: true` spans (blobs, in parallel) are spread over tracks 1, 2, ...
 * when the document is made, so that no two spans of one track overlap, as the viewers need.
 */
export class Tracer {
  private readonly spans: Recorded[] = [];
  private dropped = 0;
  private readonly started = nowMicros();

  constructor(
    readonly name: string,
    private readonly laneName = 'lane',
  ) {}

  /** begin starts a span named `name` in category `cat`; `lane` when it runs beside others of its kind. */
  begin(name: string, cat: string, args: TraceArgs = {}, opts: { lane?: boolean } = {}): Span {
    const ts = nowMicros();
    let done = false;
    return {
      started: ts,
      end: (more?: TraceArgs) => {
        if (done) return;
        done = true;
        const event: TraceEvent = { name, cat, ph: 'X', ts, dur: Math.max(0, nowMicros() - ts), pid: TRACER_PID, tid: 0, args: { ...args, ...more } };
        if (this.spans.length < MAX_SPANS) this.spans.push({ event, lane: opts.lane === true });
        else this.dropped++;
      },
      cancel: () => {
        done = true;
      },
    };
  }

  /** span runs `fn` inside a span; a failure ends it with the error's message and is thrown on. */
  async span<T>(name: string, cat: string, args: TraceArgs, fn: () => Promise<T>, opts: { lane?: boolean } = {}): Promise<T> {
    const s = this.begin(name, cat, args, opts);
    try {
      const out = await fn();
      s.end();
      return out;
    } catch (err) {
      s.end({ error: err instanceof Error ? err.message : String(err) });
      throw err;
    }
  }

  /** document is the trace so far: metadata naming the process and its tracks, then the spans in start order. */
  document(otherData: Record<string, unknown> = {}): TraceDocument {
    const ordered = [...this.spans].sort((a, b) => a.event.ts - b.event.ts || (b.event.dur ?? 0) - (a.event.dur ?? 0));
    // Lanes: each lane span takes the first track free at its start.
    const ends: number[] = [];
    const events = ordered.map(({ event, lane }) => {
      if (!lane) return event;
      let i = ends.findIndex((end) => end <= event.ts);
      if (i < 0) i = ends.push(0) - 1;
      ends[i] = event.ts + (event.dur ?? 0);
      return { ...event, tid: i + 1 };
    });
    const meta: TraceEvent[] = [processName(TRACER_PID, this.name), threadName(TRACER_PID, 0, this.name)];
    for (let lane = 1; lane <= ends.length; lane++) meta.push(threadName(TRACER_PID, lane, `${this.laneName} ${lane}`));
    return {
      traceEvents: [...meta, ...events],
      displayTimeUnit: 'ms',
      otherData: {
        ...otherData,
        startedAt: new Date(this.started / 1000).toISOString(),
        spans: this.spans.length,
        ...(this.dropped ? { droppedSpans: this.dropped } : {}),
      },
    };
  }
}
