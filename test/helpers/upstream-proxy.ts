// An HTTP proxy in front of an upstream registry for the pull-through cache tests: it counts the
// blob GETs it passes on, and on demand slows a blob down or flips one byte of it (a corrupt upstream).
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** UpstreamProxy forwards 127.0.0.1:port to a registry. */
export interface UpstreamProxy {
  host: string;
  port: number;
  /** blob GETs passed on for a digest (`sha256:...`) */
  blobGets(digest: string): number;
  /** bytes of a blob's body sent to the client so far, and whether all of it went */
  progress(digest: string): { sent: number; done: boolean };
  /** flip one byte in the middle of this blob's body from now on (undefined: stop) */
  corrupt(digest: string | undefined): void;
  /** send this blob in 64 KiB pieces, `delayMs` apart */
  throttle(digest: string, delayMs: number): void;
  /** while true, every connection is cut as it arrives (an upstream that cannot be reached) */
  setDown(down: boolean): void;
  /** while true, requests are taken and never answered (a hung upstream) */
  setHung(hung: boolean): void;
  close(): Promise<void>;
}

const BLOB = /\/blobs\/(sha256:[0-9a-f]{64})$/;

/** startUpstreamProxy listens on a free loopback port and forwards to 127.0.0.1:targetPort. */
export async function startUpstreamProxy(t: { teardown(fn: () => unknown): void }, targetPort: number): Promise<UpstreamProxy> {
  const gets = new Map<string, number>();
  const progress = new Map<string, { sent: number; done: boolean }>();
  const slow = new Map<string, number>();
  let corrupted: string | undefined;
  let down = false;
  let hung = false;
  const sockets = new Set<Socket>();

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    if (hung) {
      req.resume();
      return;
    }
    const path = (req.url ?? '/').split('?')[0]!;
    const digest = BLOB.exec(path)?.[1];
    const isBlobGet = req.method === 'GET' && digest !== undefined;
    if (isBlobGet) gets.set(digest, (gets.get(digest) ?? 0) + 1);
    const up = request(
      { host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: { ...req.headers, host: `127.0.0.1:${targetPort}` } },
      async (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        if (!isBlobGet || upRes.statusCode !== 200) {
          upRes.pipe(res);
          return;
        }
        const state = { sent: 0, done: false };
        progress.set(digest, state);
        const total = Number(upRes.headers['content-length'] ?? 0);
        const delay = slow.get(digest);
        try {
          for await (const c of upRes as AsyncIterable<Buffer>) {
            let chunk = Buffer.from(c);
            if (corrupted === digest && state.sent <= total / 2 && state.sent + chunk.length > total / 2) {
              const i = Math.floor(total / 2) - state.sent;
              chunk[i] = chunk[i]! ^ 0xff;
            }
            for (let at = 0; at < chunk.length; at += delay === undefined ? chunk.length : 65536) {
              const piece = chunk.subarray(at, delay === undefined ? chunk.length : at + 65536);
              if (!res.write(piece)) await new Promise((r) => res.once('drain', r));
              state.sent += piece.length;
              if (delay !== undefined) await new Promise((r) => setTimeout(r, delay));
            }
            chunk = Buffer.alloc(0);
          }
          state.done = true;
          res.end();
        } catch {
          res.destroy();
        }
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  };
  const server = createServer(handler);
  server.on('connection', (s) => {
    if (down) {
      s.destroy();
      return;
    }
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  };
  t.teardown(close);
  return {
    host: `127.0.0.1:${port}`,
    port,
    blobGets: (d) => gets.get(d) ?? 0,
    progress: (d) => progress.get(d) ?? { sent: 0, done: false },
    corrupt: (d) => (corrupted = d),
    throttle: (d, ms) => slow.set(d, ms),
    setHung(value) {
      hung = value;
    },
    setDown(value) {
      down = value;
      if (value) for (const s of sockets) s.destroy();
    },
    close,
  };
}
