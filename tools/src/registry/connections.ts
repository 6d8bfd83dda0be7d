// What one client may hold of the server: connections (per address and in all), time to send its
// headers, a minimum transfer rate while the server waits on it, and one request at a time per
// connection (pipelined requests run in order). Each bound is generous for a real client on a slow
// link and fatal for one that only holds resources.
import type { Server as HttpServer, IncomingMessage, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { readFileSync } from 'node:fs';

/** HTTP_TIMEOUTS are node:http's own limits, given at creation (node 20 reads them only then). */
export const HTTP_TIMEOUTS = {
  /** the whole request head must arrive within this; also closes connections that send nothing */
  headersTimeout: 30_000,
  /** no limit on a whole request: a large layer on a slow link may take hours (the rate guard applies) */
  requestTimeout: 0,
  /** idle keep-alive connections close after this (above the 60 s of common client pools) */
  keepAliveTimeout: 65_000,
  connectionsCheckingInterval: 5_000,
} as const;

/** DEFAULT_PER_ADDRESS bounds the connections of one address (a build host's clients all share 127.0.0.1). */
export const DEFAULT_PER_ADDRESS = 512;

/** ConnectionLimitOptions bound what one address and everyone together may hold open. */
export interface ConnectionLimitOptions {
  /** connections from one address (default 512: a build host's clients all share 127.0.0.1) */
  perAddress?: number;
  /** connections in all (default: from the open-file limit, leaving room for files) */
  total?: number;
  /** told when a connection is refused, at most once a minute per reason */
  log?: (line: string) => void;
}

/** openFileLimit reads this process's soft limit on open files (Linux), or undefined. */
export function openFileLimit(): number | undefined {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m && m[1] !== 'unlimited' ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** defaultTotalConnections keeps a quarter of the file limit (and at least 256) for blobs, uploads and logs. */
export function defaultTotalConnections(limit = openFileLimit()): number {
  if (limit === undefined) return 10_000;
  return Math.max(64, Math.min(50_000, Math.floor(limit * 0.75), limit - 256));
}

/** limitConnections refuses (closes at once) connections over either bound. */
export function limitConnections(server: HttpServer | HttpsServer, o: ConnectionLimitOptions = {}): void {
  const perAddress = o.perAddress ?? DEFAULT_PER_ADDRESS;
  const total = o.total ?? defaultTotalConnections();
  const byAddress = new Map<string, number>();
  let open = 0;
  const lastSaid = new Map<string, number>();
  const say = (reason: string, line: string) => {
    const now = Date.now();
    if (now - (lastSaid.get(reason) ?? 0) < 60_000) return;
    lastSaid.set(reason, now);
    o.log?.(line);
  };
  // 'connection' fires for TLS too, before the handshake: a refused socket costs no TLS work.
  server.on('connection', (socket: Socket) => {
    const addr = socket.remoteAddress ?? '';
    const mine = byAddress.get(addr) ?? 0;
    if (open >= total) {
      say('total', `refusing connections: ${open} open (limit ${total})`);
      socket.destroy();
      return;
    }
    if (mine >= perAddress) {
      say(`addr:${addr}`, `refusing connections from ${addr}: ${mine} open (limit ${perAddress} per address)`);
      socket.destroy();
      return;
    }
    open++;
    byAddress.set(addr, mine + 1);
    socket.once('close', () => {
      open--;
      const n = (byAddress.get(addr) ?? 1) - 1;
      if (n <= 0) byAddress.delete(addr);
      else byAddress.set(addr, n);
    });
  });
}

/** RateGuardOptions: a transfer the server waits on must move `minBytes` per `windowMs`, `strikes` windows in a row. */
export interface RateGuardOptions {
  minBytes?: number;
  windowMs?: number;
  strikes?: number;
  log?: (line: string) => void;
}

interface Watched {
  req: IncomingMessage;
  res: ServerResponse;
  socket: Socket;
  bytes: number;
  strikes: number;
}

/**
 * RateGuard closes connections whose client stalls a transfer: a request body the server is ready
 * to read (flowing, not paused by the server's own back-pressure) or a response the server cannot
 * write (the client does not read). Time the server spends working (hashing, waiting on disk or on
 * a login check) is never counted. One timer for all requests.
 */
export class RateGuard {
  private readonly watched = new Set<Watched>();
  private readonly minBytes: number;
  private readonly strikes: number;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly o: RateGuardOptions = {}) {
    this.minBytes = o.minBytes ?? 10 * 1024;
    this.strikes = o.strikes ?? 3;
    this.timer = setInterval(() => this.sweep(), o.windowMs ?? 10_000);
    this.timer.unref();
  }

  /** watch follows one request until its response closes. */
  watch(req: IncomingMessage, res: ServerResponse): void {
    const socket = req.socket;
    const w: Watched = { req, res, socket, bytes: socket.bytesRead + socket.bytesWritten, strikes: 0 };
    this.watched.add(w);
    res.once('close', () => this.watched.delete(w));
  }

  private sweep(): void {
    for (const w of this.watched) {
      const bytes = w.socket.bytesRead + w.socket.bytesWritten;
      const moved = bytes - w.bytes;
      w.bytes = bytes;
      const waitingForBody = !w.req.complete && w.req.readableFlowing === true;
      const waitingForReader = w.res.writableNeedDrain || w.socket.writableNeedDrain;
      if (!(waitingForBody || waitingForReader) || moved >= this.minBytes) {
        w.strikes = 0;
        continue;
      }
      if (++w.strikes >= this.strikes) {
        this.watched.delete(w);
        this.o.log?.(
          `closing a stalled ${w.req.method} from ${w.socket.remoteAddress ?? '?'}: under ${this.minBytes} bytes per ${(this.o.windowMs ?? 10_000) / 1000} s`,
        );
        w.socket.destroy();
      }
    }
  }

  /** close stops the timer. */
  close(): void {
    clearInterval(this.timer);
  }
}

const QUEUE = Symbol('requestQueue');
type QueuedSocket = Socket & { [QUEUE]?: { busy: boolean; waiting: Array<() => void> } };

/**
 * inOrder runs `start` when every earlier request on the same connection has been answered:
 * node parses pipelined requests as soon as the previous body is read, so a GET pipelined after a
 * PUT would otherwise run while the PUT still writes.
 */
export function inOrder(req: IncomingMessage, res: ServerResponse, start: () => void): void {
  const socket = req.socket as QueuedSocket;
  const q = (socket[QUEUE] ??= { busy: false, waiting: [] });
  const run = () => {
    q.busy = true;
    res.once('close', () => {
      q.busy = false;
      q.waiting.shift()?.();
    });
    start();
  };
  if (q.busy) q.waiting.push(run);
  else run();
}
