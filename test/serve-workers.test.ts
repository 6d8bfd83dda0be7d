// `serve --workers 2`, for real: one primary, two worker processes on one port and one storage.
// Requests are sent over keep-alive connections pinned to a known worker (the
// X-Container-Registry-Worker header says which answered), so each test chooses where each step
// runs: an upload begun on one worker and finished on the other, a tag changed on one and read on
// the other at once, /metrics the same from both, `stop` ending every process, and a worker killed
// with -9 replaced while the other serves, nothing acknowledged lost.
import t from 'tap';
import { Agent, request } from 'node:http';
import https from 'node:https';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestRegistry, runCli, type TestRegistry } from './helpers/registry.js';
import { makeImage, pushImage, sha256 } from './helpers/images.js';
import { freePort, waitFor } from './helpers/ports.js';
import { tempDir } from './helpers/tmp.js';
import { alive } from './helpers/proc.js';

const WORKER = 'x-container-registry-worker';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** send makes one request over `agent` (one kept-alive connection, so always the same worker). */
function send(
  agent: Agent,
  base: string,
  method: string,
  path: string,
  o: { body?: Buffer | AsyncIterable<Buffer>; headers?: Record<string, string> } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, base);
    const req = (url.protocol === 'https:' ? https.request : request)(url, { method, agent, headers: o.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (o.body === undefined || Buffer.isBuffer(o.body)) req.end(o.body);
    else {
      (async () => {
        for await (const c of o.body as AsyncIterable<Buffer>) if (!req.write(c)) await new Promise((r) => req.once('drain', r));
        req.end();
      })().catch(reject);
    }
  });
}

/** workerAgents opens connections until it has one to each of `count` workers; agent by worker number. */
async function workerAgents(
  t: { teardown(fn: () => unknown): void },
  base: string,
  count = 2,
  o: { ca?: Buffer; headers?: Record<string, string> } = {},
): Promise<Map<string, Agent>> {
  const found = new Map<string, Agent>();
  for (let i = 0; i < 40 && found.size < count; i++) {
    const agent = o.ca ? new https.Agent({ keepAlive: true, maxSockets: 1, ca: o.ca, servername: 'localhost' }) : new Agent({ keepAlive: true, maxSockets: 1 });
    t.teardown(() => agent.destroy());
    const r = await send(agent, base, 'GET', '/v2/', { headers: o.headers });
    const worker = String(r.headers[WORKER]);
    if (found.has(worker)) agent.destroy();
    else found.set(worker, agent);
  }
  if (found.size < count) throw new Error(`reached ${found.size} worker(s) of ${count}`);
  return found;
}

function workerPids(primary: number): number[] {
  try {
    return readFileSync(`/proc/${primary}/task/${primary}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

async function startWorkers(t: Parameters<typeof startTestRegistry>[0]): Promise<{ reg: TestRegistry; a: Agent; b: Agent }> {
  const reg = await startTestRegistry(t, { args: ['--workers', '2'] });
  const agents = await workerAgents(t, reg.url);
  return { reg, a: agents.get('1')!, b: agents.get('2')! };
}

t.test('an upload begun on one worker is finished on the other; its status there waits for a PATCH in progress', async (t) => {
  const { reg, a, b } = await startWorkers(t);
  const data = randomBytes(3 * 1024 * 1024 + 17);
  const post = await send(a, reg.url, 'POST', '/v2/across/app/blobs/uploads/');
  t.equal(post.status, 202);
  t.equal(post.headers[WORKER], '1', 'begun on worker 1');
  const loc = String(post.headers.location);
  const first = await send(a, reg.url, 'PATCH', loc, { body: data.subarray(0, 1024 * 1024), headers: { 'Content-Range': `0-${1024 * 1024 - 1}` } });
  t.equal(first.status, 202);

  // Worker 1 receives the second part slowly; worker 2 is asked for the status meanwhile.
  const second = data.subarray(1024 * 1024, 2 * 1024 * 1024);
  let released = false;
  const slowBody = (async function* () {
    yield second.subarray(0, 1024);
    await new Promise((r) => setTimeout(r, 1500));
    released = true;
    yield second.subarray(1024);
  })();
  const patching = send(a, reg.url, 'PATCH', loc, {
    body: slowBody,
    headers: { 'Content-Range': `${1024 * 1024}-${2 * 1024 * 1024 - 1}`, 'Content-Length': String(second.length) },
  });
  await new Promise((r) => setTimeout(r, 300));
  const status = await send(b, reg.url, 'GET', loc);
  t.equal(status.headers[WORKER], '2', 'the status comes from worker 2');
  t.ok(released, 'and only once the PATCH on worker 1 was done (the session is locked across workers)');
  t.equal(status.headers.range, `0-${2 * 1024 * 1024 - 1}`, 'it tells what that PATCH left');
  t.equal((await patching).status, 202);

  const last = await send(b, reg.url, 'PATCH', loc, {
    body: data.subarray(2 * 1024 * 1024),
    headers: { 'Content-Range': `${2 * 1024 * 1024}-${data.length - 1}` },
  });
  t.equal(last.status, 202, 'worker 2 takes the next chunk');
  const put = await send(b, reg.url, 'PUT', `${String(last.headers.location)}?digest=${sha256(data)}`);
  t.equal(put.status, 201, 'and commits it');
  const got = await send(a, reg.url, 'GET', `/v2/across/app/blobs/${sha256(data)}`);
  t.equal(sha256(got.body), sha256(data), 'worker 1 serves the blob whole');
});

t.test('a tag changed on one worker is seen on the other at once', async (t) => {
  const { reg, a, b } = await startWorkers(t);
  const one = makeImage();
  const two = makeImage();
  await pushImage(reg.url, 'tags/app', 'seed', one);
  await pushImage(reg.url, 'tags/app', 'seed', two);
  const accept = { Accept: one.manifest.mediaType };
  const put = (agent: Agent, image: typeof one) =>
    send(agent, reg.url, 'PUT', '/v2/tags/app/manifests/v1', { body: image.manifest.data, headers: { 'Content-Type': image.manifest.mediaType } });
  for (let i = 0; i < 5; i++) {
    const [writer, reader] = i % 2 === 0 ? [a, b] : [b, a];
    const image = i % 2 === 0 ? one : two;
    t.equal((await put(writer, image)).status, 201);
    const r = await send(reader, reg.url, 'GET', '/v2/tags/app/manifests/v1', { headers: accept });
    t.equal(r.headers['docker-content-digest'], image.manifest.digest, `round ${i + 1}: the other worker serves the new digest`);
  }
  t.equal((await send(a, reg.url, 'DELETE', '/v2/tags/app/manifests/v1')).status, 202, 'deleted on worker 1');
  t.equal((await send(b, reg.url, 'GET', '/v2/tags/app/manifests/v1', { headers: accept })).status, 404, 'gone on worker 2');
  t.equal((await send(b, reg.url, 'HEAD', '/v2/tags/app/manifests/v1', { headers: accept })).status, 404);
  const list = JSON.parse((await send(b, reg.url, 'GET', '/v2/tags/app/tags/list')).body.toString()) as { tags: string[] };
  t.same(list.tags, ['seed'], 'and the tag list says so');
});

t.test('secure mode: a credential verified on one worker passes on the other, whatever a guessing client did', async (t) => {
  const reg = await startTestRegistry(t, { args: ['--workers', '2', '--tls'] });
  const ca = readFileSync(join(reg.storage, 'certs', 'ca.crt'));
  const base = `https://127.0.0.1:${reg.port}`;
  const added = await runCli(['auth', 'add', 'builder', '--password-stdin', '--storage', reg.storage], { input: 'builder-secret\n' });
  t.equal(added.code, 0, added.stderr);
  const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
  const agents = await workerAgents(t, base, 2, { ca });
  const [a, b] = [agents.get('1')!, agents.get('2')!];

  const first = await send(a, base, 'GET', '/v2/', { headers: basic('builder', 'builder-secret') });
  t.same([first.status, first.headers[WORKER]], [200, '1'], 'builder logs in on worker 1');
  const statuses: number[] = [];
  for (let i = 0; i < 8; i++) statuses.push((await send(b, base, 'GET', '/v2/', { headers: basic('builder', `try-${i}`) })).status);
  t.same(statuses.slice(-2), [429, 429], `a client guessing builder's password on worker 2 waits (${statuses.join(' ')})`);
  const again = await send(b, base, 'GET', '/v2/', { headers: basic('builder', 'builder-secret') });
  t.same([again.status, again.headers[WORKER]], [200, '2'], 'the credential worker 1 verified passes on worker 2 at once');
  const wrong = await send(b, base, 'GET', '/v2/', { headers: basic('builder', 'try-0') });
  t.not(wrong.status, 200, 'a wrong one still does not');
});

t.test('/metrics gives the same totals whichever worker answers', async (t) => {
  const { reg, a, b } = await startWorkers(t);
  for (let i = 0; i < 3; i++) {
    for (const [agent, n] of [
      [a, 1],
      [b, 2],
    ] as const) {
      const data = Buffer.from(`blob ${i} on worker ${n} ${randomBytes(4).toString('hex')}`);
      const r = await send(agent, reg.url, 'POST', `/v2/metrics/app/blobs/uploads/?digest=${sha256(data)}`, { body: data });
      t.equal(r.status, 201);
    }
  }
  const pick = (text: string, pattern: RegExp) => Number(pattern.exec(text)?.[1]);
  const fromA = (await send(a, reg.url, 'GET', '/metrics')).body.toString();
  const fromB = (await send(b, reg.url, 'GET', '/metrics')).body.toString();
  for (const [text, who] of [
    [fromA, 'worker 1'],
    [fromB, 'worker 2'],
  ] as const) {
    t.equal(pick(text, /^registry_storage_blob_upload_total (\d+)$/m), 6, `${who}: 6 uploads, 3 on each worker`);
    t.equal(pick(text, /^registry_http_requests_total\{method="POST",route="uploads",status="201"\} (\d+)$/m), 6, `${who}: 6 POSTs counted`);
    t.equal(pick(text, /^registry_storage_blobs (\d+)$/m), 6, `${who}: storage totals not added up twice`);
  }
});

t.test('stop ends the primary and every worker', async (t) => {
  const storage = await tempDir(t);
  const port = await freePort();
  const start = await runCli(['start', '--storage', storage, '--listen', `127.0.0.1:${port}`, '--workers', '2']);
  t.teardown(() => runCli(['stop', '--storage', storage, '--timeout', '2']));
  t.equal(start.code, 0, start.stderr);
  const primary = JSON.parse(readFileSync(join(storage, 'container-registry.pid'), 'utf8')).pid as number;
  const workers = workerPids(primary);
  t.equal(workers.length, 2, 'two workers under the primary');
  const status = await runCli(['status', '--storage', storage]);
  t.equal(status.code, 0, 'status finds it running');
  const stop = await runCli(['stop', '--storage', storage]);
  t.equal(stop.code, 0, stop.stderr);
  t.match(stop.stdout, `Registry stopped (pid ${primary}`);
  t.notOk(alive(primary), 'the primary is gone');
  for (const pid of workers) t.notOk(alive(pid), `worker ${pid} is gone`);
  t.notOk(existsSync(join(storage, 'container-registry.pid')), 'the PID file is removed');
  const log = readFileSync(join(storage, 'container-registry.log'), 'utf8');
  t.match(log, /serving http:\/\/127\.0\.0\.1:\d+ .*2 workers/);
  t.match(log, /stopped/);
});

t.test('a worker killed with -9 is replaced while the other serves; nothing acknowledged is lost', async (t) => {
  const { reg, a, b } = await startWorkers(t);
  // Acknowledged on worker 1 before it dies: a whole image, and half of an upload session.
  const image = makeImage();
  await pushImage(reg.url, 'crash/app', 'v1', image);
  const data = randomBytes(2 * 1024 * 1024);
  const post = await send(a, reg.url, 'POST', '/v2/crash/app/blobs/uploads/');
  const half = await send(a, reg.url, 'PATCH', String(post.headers.location), {
    body: data.subarray(0, 1024 * 1024),
    headers: { 'Content-Range': `0-${1024 * 1024 - 1}` },
  });
  t.equal(half.status, 202);
  t.equal(half.headers[WORKER], '1');

  const before = workerPids(reg.process.pid!);
  t.equal(before.length, 2);
  // Which pid is worker 1? The one whose connection dies with it.
  let victim: number | undefined;
  for (const pid of before) {
    const env = readFileSync(`/proc/${pid}/environ`, 'utf8');
    if (env.split('\0').includes('CR_WORKER_SLOT=1')) victim = pid;
  }
  t.ok(victim, 'worker 1 found');
  process.kill(victim!, 'SIGKILL');

  // Meanwhile every request on a new connection is served (by worker 2, then by both).
  const errors: string[] = [];
  let served = 0;
  const until = Date.now() + 3000;
  while (Date.now() < until) {
    const r = await send(false as unknown as Agent, reg.url, 'GET', '/v2/crash/app/manifests/v1', { headers: { Accept: image.manifest.mediaType } }).catch(
      (err: Error) => err,
    );
    if (!(r instanceof Error) && r.status === 200) served++;
    else errors.push(r instanceof Error ? r.message : String(r.status));
  }
  t.same(errors, [], `no request on a new connection failed while worker 1 was replaced (${served} served)`);
  await waitFor(async () => workerPids(reg.process.pid!).filter((p) => p !== victim).length === 2, 15_000, 'a new worker');
  t.match(reg.output(), /worker 1 \(pid \d+\) was killed \(SIGKILL\); starting another/, 'the primary says so');
  await waitFor(async () => /worker 1 \(pid \d+\) serving/.test(reg.output()), 15_000, 'the new worker to serve');

  // The upload goes on from worker 2; worker 1 (the new one) serves what was acknowledged.
  const rest = await send(b, reg.url, 'PATCH', String(post.headers.location), {
    body: data.subarray(1024 * 1024),
    headers: { 'Content-Range': `${1024 * 1024}-${data.length - 1}` },
  });
  t.equal(rest.status, 202, 'the session begun on the dead worker goes on');
  t.equal((await send(b, reg.url, 'PUT', `${String(rest.headers.location)}?digest=${sha256(data)}`)).status, 201);
  const agents = await workerAgents(t, reg.url);
  const fresh = agents.get('1')!;
  const blob = await send(fresh, reg.url, 'GET', `/v2/crash/app/blobs/${sha256(data)}`);
  t.equal(sha256(blob.body), sha256(data), 'the new worker 1 serves the blob whole');
  const manifest = await send(fresh, reg.url, 'GET', '/v2/crash/app/manifests/v1', { headers: { Accept: image.manifest.mediaType } });
  t.equal(manifest.headers['docker-content-digest'], image.manifest.digest, 'and the image pushed before the kill');
});
