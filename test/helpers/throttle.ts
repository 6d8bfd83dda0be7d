// A TCP proxy in front of a registry that passes request bytes on at a bounded rate, so a test can
// catch a push in the middle of a large upload (on loopback a 64 MiB PATCH takes a tenth of a second).
import { createServer, connect, type Socket } from 'node:net';

/** ThrottleProxy forwards 127.0.0.1:port to a target, request bytes at `rate` bytes per second. */
export interface ThrottleProxy {
  host: string;
  /** bytes per second from now on; Infinity passes everything at once */
  setRate(bytesPerSecond: number): void;
  close(): Promise<void>;
}

/** startThrottleProxy listens on a free loopback port; it is closed at teardown. */
export async function startThrottleProxy(t: { teardown(fn: () => unknown): void }, targetPort: number, bytesPerSecond: number): Promise<ThrottleProxy> {
  let rate = bytesPerSecond;
  // One bucket for all connections: the rate is the proxy's, not each connection's.
  let since = Date.now();
  let passed = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    client.on('data', (chunk: Buffer) => {
      upstream.write(chunk);
      if (!Number.isFinite(rate)) return;
      // No credit for time nobody sent anything: a push that starts a while after the proxy (a slow
      // start on a loaded machine) is throttled from its first byte, not let through whole.
      if (passed / rate < (Date.now() - since) / 1000) {
        since = Date.now();
        passed = 0;
      }
      passed += chunk.length;
      const ahead = passed / rate - (Date.now() - since) / 1000;
      if (ahead > 0) {
        client.pause();
        setTimeout(() => client.resume(), ahead * 1000);
      }
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    // A client that goes away (killed) half-closes upstream: what was passed on still arrives.
    client.on('end', () => upstream.end());
    const gone = () => {
      upstream.end();
      sockets.delete(client);
    };
    client.on('close', gone);
    client.on('error', gone);
    upstream.on('close', () => {
      client.destroy();
      sockets.delete(upstream);
    });
    upstream.on('error', () => client.destroy());
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
    setRate(bytes) {
      rate = bytes;
      since = Date.now();
      passed = 0;
    },
    close,
  };
}
