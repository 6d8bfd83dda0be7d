// A real S3 endpoint for a test: a one-node Ceph cluster with its RADOS Gateway (radosgw.sh), started
// under a temp folder on loopback ports and stopped completely (every daemon, the folder) at teardown.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { missingPeer } from './peers.js';
import { freePort } from './ports.js';

const run = promisify(execFile);
const SCRIPT = join(import.meta.dirname, 'radosgw.sh');

/** RADOSGW_PEERS are the programs radosgw.sh runs (Debian radosgw, ceph-mon, ceph-osd, ceph-common). */
export const RADOSGW_PEERS = ['radosgw', 'radosgw-admin', 'ceph-mon', 'ceph-osd', 'ceph', 'ceph-authtool', 'monmaptool'];

/** missingRadosGw is a skip reason naming the Debian packages, or false when they are installed. */
export function missingRadosGw(): string | false {
  const missing = missingPeer(...RADOSGW_PEERS);
  return missing && `${missing} (install: apt-get install --no-install-recommends radosgw ceph-mon ceph-osd ceph-common)`;
}

/** TestRadosGw is a running gateway: its endpoint and the S3 user's credentials as AWS_* variables. */
export interface TestRadosGw {
  endpoint: string;
  /** AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY */
  env: Record<string, string>;
  dir: string;
  stop(): Promise<void>;
}

/** startRadosGw starts a cluster for this test (about 6 s); it is stopped at teardown. */
export async function startRadosGw(t: { teardown(fn: () => unknown): void }): Promise<TestRadosGw> {
  const dir = await mkdtemp(join(tmpdir(), 'cr-ceph-'));
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= run(SCRIPT, ['stop', dir]).then(() => {});
    return stopped;
  };
  t.teardown(stop);
  const [monPort, rgwPort] = [await freePort(), await freePort()];
  try {
    await run(SCRIPT, ['start', dir, String(monPort), String(rgwPort), String(process.pid)], { timeout: 120_000 });
  } catch (err) {
    await stop();
    throw err;
  }
  const env: Record<string, string> = {};
  for (const line of (await readFile(join(dir, 's3.env'), 'utf8')).split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return { endpoint: env.AWS_ENDPOINT_URL!, env, dir, stop };
}

/** s3Client is an SDK client for the gateway (path-style, checksums only where required: Ceph's quirks). */
export async function s3Client(env: Record<string, string>) {
  const { S3Client } = await import('@aws-sdk/client-s3');
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  return new S3Client({
    endpoint: env.AWS_ENDPOINT_URL,
    region: env.AWS_REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID!, secretAccessKey: env.AWS_SECRET_ACCESS_KEY! },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** createBucket makes a bucket on the gateway. */
export async function createBucket(env: Record<string, string>, bucket: string): Promise<void> {
  const { CreateBucketCommand } = await import('@aws-sdk/client-s3');
  const client = await s3Client(env);
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } finally {
    client.destroy();
  }
}
