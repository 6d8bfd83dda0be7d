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
  opts: {
    storage?: string;
    extraConfig?: string;
    /** the config serves HTTPS: wait for the port, not for an HTTP answer */
    tls?: boolean;
    /** serve from a bucket with distribution's s3 driver instead: the gateway's AWS_* variables, the bucket and the prefix */
    s3?: { env: Record<string, string>; bucket: string; prefix: string };
  } = {},
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
      ...(opts.s3
        ? [
            '  s3:',
            `    accesskey: ${opts.s3.env.AWS_ACCESS_KEY_ID}`,
            `    secretkey: ${opts.s3.env.AWS_SECRET_ACCESS_KEY}`,
            `    region: ${opts.s3.env.AWS_REGION}`,
            `    regionendpoint: ${opts.s3.env.AWS_ENDPOINT_URL}`,
            `    bucket: ${opts.s3.bucket}`,
            `    rootdirectory: /${opts.s3.prefix}`,
            '    secure: false',
            '    v4auth: true',
          ]
        : ['  filesystem:', `    rootdirectory: ${storage}`]),
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      opts.extraConfig ?? '',
    ].join('\n'),
  );
  let out = '';
  // aws-sdk-go in distribution 2.8 refuses to start with AWS_CA_BUNDLE set (LoadCustomCABundleError:
  // "HTTPClient's transport unsupported type"); the gateway is plain HTTP on loopback anyway.
  const env = { ...process.env };
  if (opts.s3) delete env.AWS_CA_BUNDLE;
  const child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'], env });
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
