#!/usr/bin/env node
// Benchmark: the registry on S3. A one-node Ceph cluster with its RADOS Gateway
// (test/helpers/radosgw.sh) serves two buckets; ours (`serve --storage s3://...`) and Debian's
// docker-registry (distribution's s3 driver) each get one, on the same gateway. In one run:
//
//   1. push of a SIZE MiB blob (POST, one streamed PATCH, PUT ?digest) and pull (GET) through each,
//      N runs, medians, MiB/s and the ratio ours/distribution (goal >= 1.0x);
//   2. aggregate pull throughput of CLIENTS concurrent GETs of that blob from one replica of ours,
//      then spread over two replicas on the same bucket.
//
// Usage: npm run build && node bench/s3.mjs [--runs 3] [--size-mib 1024] [--clients 4] [--redirect]
// --redirect: ours answers blob GETs with presigned redirects too (`?redirect=true`), as
// docker-registry does by default: like with like.
// Needs radosgw, ceph-mon, ceph-osd, ceph-common and docker-registry (root, for the cluster).
import { spawn, execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort, median, randomStream } from './common.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BUNDLE = join(ROOT, 'meta-container-registry', 'files', 'container-registry.mjs');
const RADOSGW = join(ROOT, 'test', 'helpers', 'radosgw.sh');
const run = promisify(execFile);

function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
}
const runs = Number(arg('runs', '3'));
const size = Number(arg('size-mib', '1024')) * 1024 * 1024;
const clients = Number(arg('clients', '4'));
const redirect = process.argv.includes('--redirect');
const MiB = 1024 * 1024;

const children = [];
function start(cmd, args, env) {
  const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (out += c));
  child.output = () => out;
  children.push(child);
  return child;
}

async function waitUp(url, child) {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`exited: ${child.output()}`);
    try {
      if ((await fetch(`${url}/v2/`)).status < 500) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not come up: ${child.output()}`);
}

/** push streams `size` random bytes as one PATCH and commits them; resolves seconds and digest. */
async function push(url, repo) {
  const hash = createHash('sha256');
  async function* body() {
    for await (const c of randomStream(size)) {
      hash.update(c);
      yield c;
    }
  }
  const t0 = performance.now();
  const post = await fetch(`${url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  const patch = await fetch(new URL(post.headers.get('location'), url), {
    method: 'PATCH',
    body: body(),
    duplex: 'half',
    headers: { 'Content-Type': 'application/octet-stream' },
  });
  if (patch.status !== 202) throw new Error(`PATCH ${patch.status} ${await patch.text()}`);
  const digest = `sha256:${hash.digest('hex')}`;
  const commit = new URL(patch.headers.get('location'), url);
  commit.searchParams.set('digest', digest);
  const put = await fetch(commit, { method: 'PUT' });
  if (put.status !== 201) throw new Error(`PUT ${put.status} ${await put.text()}`);
  return { secs: (performance.now() - t0) / 1000, digest };
}

async function pull(url, repo, digest) {
  const t0 = performance.now();
  const res = await fetch(`${url}/v2/${repo}/blobs/${digest}`);
  let n = 0;
  for await (const c of res.body) n += c.length;
  if (n !== size) throw new Error(`GET gave ${n} bytes`);
  return (performance.now() - t0) / 1000;
}

const dir = await mkdtemp(join(tmpdir(), 'cr-bench-s3-'));
const cluster = join(dir, 'cluster');
try {
  const [monPort, rgwPort] = [await freePort(), await freePort()];
  await run(RADOSGW, ['start', cluster, String(monPort), String(rgwPort), String(process.pid)], { timeout: 120_000 });
  const gw = Object.fromEntries(
    (await readFile(join(cluster, 's3.env'), 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const { S3Client, CreateBucketCommand } = await import('@aws-sdk/client-s3');
  const s3 = new S3Client({
    endpoint: gw.AWS_ENDPOINT_URL,
    region: gw.AWS_REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: gw.AWS_ACCESS_KEY_ID, secretAccessKey: gw.AWS_SECRET_ACCESS_KEY },
  });
  for (const b of ['ours', 'dist']) await s3.send(new CreateBucketCommand({ Bucket: b }));
  s3.destroy();

  const ours = async () => {
    const port = await freePort();
    const env = {
      ...process.env,
      ...gw,
      CONTAINER_REGISTRY_STATE_DIR: await mkdtemp(join(dir, 'state-')),
      CONTAINER_REGISTRY_SECURE: '',
      CONTAINER_REGISTRY_AUTH: '',
    };
    const child = start(
      process.execPath,
      [BUNDLE, 'serve', '--storage', `s3://ours/reg${redirect ? '?redirect=true' : ''}`, '--listen', `127.0.0.1:${port}`, '--workers', '1'],
      env,
    );
    await waitUp(`http://127.0.0.1:${port}`, child);
    return `http://127.0.0.1:${port}`;
  };
  const distPort = await freePort();
  const config = join(dir, 'distribution.yml');
  await writeFile(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: error',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  s3:',
      `    accesskey: ${gw.AWS_ACCESS_KEY_ID}`,
      `    secretkey: ${gw.AWS_SECRET_ACCESS_KEY}`,
      `    region: ${gw.AWS_REGION}`,
      `    regionendpoint: ${gw.AWS_ENDPOINT_URL}`,
      '    bucket: dist',
      '    rootdirectory: /reg',
      '    secure: false',
      '    v4auth: true',
      'http:',
      `  addr: 127.0.0.1:${distPort}`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  // aws-sdk-go in distribution 2.8 refuses to start with AWS_CA_BUNDLE set.
  const distEnv = { ...process.env };
  delete distEnv.AWS_CA_BUNDLE;
  const dist = start('docker-registry', ['serve', config], distEnv);
  const distUrl = `http://127.0.0.1:${distPort}`;
  await waitUp(distUrl, dist);
  const oursUrl = await ours();

  const results = {};
  let oursDigest;
  for (const [name, url] of [
    ['ours', oursUrl],
    ['distribution', distUrl],
  ]) {
    const pushes = [];
    const pulls = [];
    for (let i = 0; i < runs; i++) {
      const p = await push(url, `bench/r${i}`);
      pushes.push(p.secs);
      pulls.push(await pull(url, `bench/r${i}`, p.digest));
      if (name === 'ours') oursDigest = { repo: `bench/r${i}`, digest: p.digest };
    }
    results[name] = { push: median(pushes), pull: median(pulls) };
  }
  const mibs = (s) => (size / MiB / s).toFixed(0);
  console.log(
    `node ${process.version}, ${runs} runs of ${size / MiB} MiB on one RADOS Gateway (Ceph, one OSD), medians; ours ${redirect ? 'redirects blob GETs (presigned)' : 'streams blob GETs through'}`,
  );
  console.log('');
  console.log('                 push        pull');
  for (const [name, r] of Object.entries(results)) {
    console.log(
      `${name.padEnd(14)} ${r.push.toFixed(2).padStart(6)} s ${mibs(r.push).padStart(4)} MiB/s  ${r.pull.toFixed(2).padStart(6)} s ${mibs(r.pull).padStart(4)} MiB/s`,
    );
  }
  console.log(
    `ours/distribution  push ${(results.distribution.push / results.ours.push).toFixed(2)}x   pull ${(results.distribution.pull / results.ours.pull).toFixed(2)}x  (>1: ours faster)`,
  );

  // Aggregate pulls: `clients` concurrent GETs from one replica, then spread over two.
  const second = await ours();
  const aggregate = async (urls) => {
    const t0 = performance.now();
    await Promise.all(Array.from({ length: clients }, (_, i) => pull(urls[i % urls.length], oursDigest.repo, oursDigest.digest)));
    return (clients * size) / MiB / ((performance.now() - t0) / 1000);
  };
  const one = await aggregate([oursUrl]);
  const two = await aggregate([oursUrl, second]);
  console.log('');
  console.log(`${clients} concurrent pulls: one replica ${one.toFixed(0)} MiB/s, two replicas ${two.toFixed(0)} MiB/s (${(two / one).toFixed(2)}x)`);
} finally {
  for (const c of children) c.kill('SIGKILL');
  await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
  await run(RADOSGW, ['stop', cluster]).catch(() => {});
  await rm(dir, { recursive: true, force: true });
}
