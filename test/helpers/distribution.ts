// Runs Debian's docker-registry (CNCF distribution 2.8) on a free loopback port for a test.
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, waitFor } from './ports.js';
import { tempDir } from './tmp.js';

/** TestDistribution is a running docker-registry. */
export interface TestDistribution {
  url: string;
  host: string;
  storage: string;
  stop(): Promise<void>;
}

/** startDistribution serves `storage` (a fresh temp dir by default) with delete enabled. */
export async function startDistribution(
  t: { teardown(fn: () => unknown): void },
  opts: { storage?: string; extraConfig?: string /** the config serves HTTPS: wait for the port, not for an HTTP answer */; tls?: boolean } = {},
): Promise<TestDistribution> {
  const dir = await tempDir(t, 'cr-dist-');
  const storage = opts.storage ?? join(dir, 'storage');
  const port = await freePort();
  const config = join(dir, 'config.yml');
  await writeFile(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: warn',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${storage}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      opts.extraConfig ?? '',
    ].join('\n'),
  );
  let out = '';
  const child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async () => {
    child.kill('SIGKILL');
    await exited;
  };
  t.teardown(stop);
  const url = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const ready = opts.tls ? () => canConnect(port) : async () => (await fetch(`${url}/v2/`)).status < 500;
  await waitFor(ready, 15_000, `docker-registry to start: ${out}`);
  return { url, host: `127.0.0.1:${port}`, storage, stop };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
