// What a flood of wrong logins does to everyone else. Runs the bundle's `serve --tls --pull anonymous
// --push anonymous` (credentials still checked) on loopback, pushes a small image, and for --seconds pulls it
// (GET manifest + GET layer, one pull after the other) anonymously and, at the same time, with a
// credential the server verified a moment before. First alone, then while
// test/helpers/login-flood.mjs sends wrong passwords from 30 addresses (127.0.0.2 ... 127.0.0.31):
// each request a new user name ("spray"), or new passwords for the default user ("guess").
// A fresh server and storage for each phase. Prints p50/p90/max per phase and what the flood got.
//
//   npm run build && node bench/logins.mjs [--seconds 5] [--clients 30] [--bundle FILE]
//
// --bundle runs another build, e.g. the last commit's: git show HEAD:meta-container-registry/files/
// container-registry.mjs > /tmp/old.mjs && node bench/logins.mjs --bundle /tmp/old.mjs
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './common.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const bundle = resolve(opt('bundle', join(ROOT, 'meta-container-registry', 'files', 'container-registry.mjs')));
const seconds = Number(opt('seconds', '5'));
const clients = Number(opt('clients', '30'));

function request(s, method, path, { body, headers = {}, agent, localAddress } = {}) {
  return new Promise((resolvePromise, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port: s.port,
        servername: 'localhost',
        ca: s.ca,
        method,
        path,
        agent: agent ?? s.agent,
        localAddress,
        headers: { ...headers, ...(body ? { 'content-length': body.length } : {}) },
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolvePromise({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function startServer() {
  const storage = await mkdtemp(join(tmpdir(), 'cr-bench-logins-'));
  const port = await freePort();
  const env = { ...process.env, CONTAINER_REGISTRY_SECURE: '1', CONTAINER_REGISTRY_AUTH: '', CONTAINER_REGISTRY_INSECURE: '' };
  const child = spawn(
    process.execPath,
    [bundle, 'serve', '--tls', '--pull', 'anonymous', '--push', 'anonymous', '--storage', storage, '--listen', `127.0.0.1:${port}`],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
    },
  );
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (out += c));
  const exited = new Promise((r) => child.once('exit', r));
  const deadline = Date.now() + 30_000;
  let s;
  while (!s) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the registry did not start: ${out}`);
    try {
      const ca = readFileSync(join(storage, 'certs', 'ca.crt'));
      const candidate = { port, ca, agent: new https.Agent({ keepAlive: true, maxSockets: 1 }) };
      if ((await request(candidate, 'GET', '/healthz')).status === 200) s = candidate;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const password = readFileSync(join(storage, 'auth', 'password'), 'utf8').trim();
  return {
    ...s,
    storage,
    basic: `Basic ${Buffer.from(`yocto:${password}`).toString('base64')}`,
    async stop() {
      s.agent.destroy();
      child.kill('SIGTERM');
      await exited;
      await rm(storage, { recursive: true, force: true });
    },
  };
}

const sha = (b) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function pushImage(s) {
  const layer = Buffer.alloc(64 * 1024, 7);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha(layer)] } }));
  for (const blob of [config, layer]) {
    const start = await request(s, 'POST', '/v2/bench/app/blobs/uploads/');
    const location = new URL(start.headers.location, 'https://x');
    location.searchParams.set('digest', sha(blob));
    const put = await request(s, 'PUT', `${location.pathname}${location.search}`, { body: blob, headers: { 'content-type': 'application/octet-stream' } });
    if (put.status !== 201) throw new Error(`blob upload: ${put.status} ${put.body}`);
  }
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha(layer), size: layer.length }],
    }),
  );
  const put = await request(s, 'PUT', '/v2/bench/app/manifests/v1', {
    body: manifest,
    headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
  });
  if (put.status !== 201) throw new Error(`manifest: ${put.status} ${put.body}`);
  return sha(layer);
}

/** puller pulls one after the other until `until`, and gives each pull's milliseconds. */
async function puller(s, layer, until, authorization) {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
  const headers = authorization ? { authorization } : {};
  const times = [];
  let failed = 0;
  while (Date.now() < until) {
    const t0 = performance.now();
    const m = await request(s, 'GET', '/v2/bench/app/manifests/v1', { agent, headers: { ...headers, accept: 'application/vnd.oci.image.manifest.v1+json' } });
    const b = await request(s, 'GET', `/v2/bench/app/blobs/${layer}`, { agent, headers });
    if (m.status !== 200 || b.status !== 200) failed++;
    times.push(performance.now() - t0);
  }
  agent.destroy();
  return { times, failed };
}

function startFlood(s, user) {
  const spec = { port: s.port, ca: join(s.storage, 'certs', 'ca.crt'), first: 2, clients, user };
  const child = spawn(process.execPath, [join(ROOT, 'test', 'helpers', 'login-flood.mjs'), JSON.stringify(spec)], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  const started = new Promise((r) => child.stdout.on('data', () => out.includes('started') && r()));
  const done = new Promise((r) => child.once('exit', () => r(JSON.parse(out.split('\n').filter(Boolean).pop()))));
  return {
    started,
    stop: () => {
      child.kill('SIGTERM');
      return done;
    },
  };
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN;
};
const fmt = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`);

async function phase(name, flood) {
  const s = await startServer();
  try {
    const layer = await pushImage(s);
    // The credential is verified once before the measurement.
    if ((await request(s, 'GET', '/v2/', { headers: { authorization: s.basic } })).status !== 200) throw new Error('the default user cannot log in');
    const f = flood === undefined ? undefined : startFlood(s, flood);
    if (f) await f.started;
    const until = Date.now() + seconds * 1000;
    const [anon, cached] = await Promise.all([puller(s, layer, until), puller(s, layer, until, s.basic)]);
    const got = f ? await f.stop() : undefined;
    const row = (who, r) =>
      `${name.padEnd(28)} ${who.padEnd(7)} pulls ${String(r.times.length).padStart(5)}  p50 ${fmt(pct(r.times, 50)).padStart(9)}  p90 ${fmt(pct(r.times, 90)).padStart(9)}  max ${fmt(Math.max(...r.times)).padStart(9)}${r.failed ? `  failed ${r.failed}` : ''}`;
    console.log(row('anon', anon));
    console.log(row('cached', cached));
    if (got)
      console.log(
        `${''.padEnd(28)} flood   answers ${JSON.stringify(got.statuses)}${got.errors ? `, ${got.errors} errors` : ''} (401: compared, 429: refused without a comparison)`,
      );
  } finally {
    await s.stop();
  }
}

/** single times logins one at a time: the first (which starts the pool, where there is one), then wrong ones. */
async function single() {
  const s = await startServer();
  try {
    const login = async (authorization) => {
      const t0 = performance.now();
      const r = await request(s, 'GET', '/v2/', { headers: { authorization } });
      return { ms: performance.now() - t0, status: r.status };
    };
    const first = await login(s.basic);
    const wrong = [];
    // Other users each time, from one address: under its budget of 10, nothing is slowed down.
    for (let i = 0; i < 8; i++) wrong.push((await login(`Basic ${Buffer.from(`nobody-${i}:x`).toString('base64')}`)).ms);
    const cached = [];
    for (let i = 0; i < 20; i++) cached.push((await login(s.basic)).ms);
    console.log(
      `${'one login at a time'.padEnd(28)} first ${fmt(first.ms)} (${first.status}), wrong p50 ${fmt(pct(wrong, 50))}, verified before p50 ${fmt(pct(cached, 50))}`,
    );
  } finally {
    await s.stop();
  }
}

console.log(`bundle ${bundle}, ${seconds} s per phase, ${clients} flood clients, node ${process.version}`);
await single();
await phase('no flood', undefined);
await phase('flood: spray (new user each)', null);
await phase('flood: guess yocto', 'yocto');
