// A TCP proxy in front of a registry that cuts connections: failure injection for push retries.
import { createServer, connect, type Socket } from 'node:net';

/** FaultyProxy forwards 127.0.0.1:port to a target and cuts uploads on demand. */
export interface FaultyProxy {
  host: string;
  /** connections cut so far */
  cuts(): number;
  /** request bytes passed on to the registry so far */
  forwarded(): number;
  /** cut the next `n` connections that send more than `afterBytes` request bytes */
  cutNext(n: number, afterBytes: number): void;
  close(): Promise<void>;
}

/** startFaultyProxy listens on a free loopback port. */
export async function startFaultyProxy(t: { teardown(fn: () => unknown): void }, targetPort: number): Promise<FaultyProxy> {
  let budget = 0;
  let threshold = Infinity;
  let cuts = 0;
  let forwarded = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    let sent = 0;
    let draining = false;
    client.on('data', (chunk: Buffer) => {
      sent += chunk.length;
      if (budget > 0 && sent > threshold) {
        budget--;
        cuts++;
        // What was passed on reaches the registry (end() flushes), then the request stops short.
        draining = true;
        upstream.end();
        client.destroy();
        return;
      }
      forwarded += chunk.length;
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    const end = () => {
      client.destroy();
      if (!draining) upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
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
    cuts: () => cuts,
    forwarded: () => forwarded,
    cutNext(n, afterBytes) {
      budget = n;
      threshold = afterBytes;
    },
    close,
  };
}
