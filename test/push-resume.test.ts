// A `push` killed (kill -9) in the middle of a large layer, then run again: against our registry
// it goes on from the offset the registry holds (the session it remembered in XDG_CACHE_HOME) and
// sends only the rest; two pushes run at once after the kill share nothing (one resumes, one starts
// over); when the session is gone it starts over; against distribution 2.8 (which cannot resume a
// cut session) it starts over.
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { BUNDLE, runCli, startTestRegistry } from './helpers/registry.js';
import { startDistribution } from './helpers/distribution.js';
import { startThrottleProxy } from './helpers/throttle.js';
import { writeBuild } from './helpers/deploy.js';
import { tempDir } from './helpers/tmp.js';
import { missingPeer } from './helpers/peers.js';

const MiB = 1024 * 1024;
const REPO = 'yocto/resume';

// One build for every case (each pushes it to a fresh registry): a config and a ~64 MiB layer.
const root = await tempDir(t, 'cr-resume-');
const build = await writeBuild(join(root, 'images'), {
  machine: 'qemux86-64',
  image: 'resume',
  stamp: '20260112143022',
  layers: [[{ name: 'big.bin', content: randomBytes(64 * MiB) }]],
});
const deployDir = join(root, 'images', 'qemux86-64');
const layer = build.image.layers[0]!;
const layerSize = layer.data.length;

interface PushJson {
  results: Array<{ repository: string; digest: string; bytesSent: number; bytesSkipped: number; bytesResumed: number; blobsUploaded: number }>;
}

function uploadsDir(storage: string): string {
  return join(storage, 'docker', 'registry', 'v2', 'repositories', REPO, '_uploads');
}

function recordsDir(cache: string): string {
  return join(cache, 'container-registry', 'uploads');
}

async function recordFiles(cache: string): Promise<string[]> {
  return (await readdir(recordsDir(cache)).catch(() => [] as string[])).filter((n) => n.endsWith('.json'));
}

/** sessionSizes is the size of every upload session's data in the registry's storage. */
async function sessionSizes(storage: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const id of await readdir(uploadsDir(storage)).catch(() => [] as string[])) {
    const st = await stat(join(uploadsDir(storage), id, 'data')).catch(() => undefined);
    if (st) out.set(id, st.size);
  }
  return out;
}

/**
 * pushKilledMidUpload runs the real CLI `push` and kills it (SIGKILL) once one upload session in
 * the registry's storage holds 40% of the layer; it returns that session's id and, once the
 * registry has written what arrived, its size.
 */
async function pushKilledMidUpload(t: Test, storage: string, env: Record<string, string>): Promise<{ id: string; held: number }> {
  const child = spawn(process.execPath, [BUNDLE, 'push', '--json'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  let exited = false;
  const exit = new Promise<void>((r) =>
    child.once('exit', () => {
      exited = true;
      r();
    }),
  );
  t.teardown(() => void child.kill('SIGKILL'));
  let id: string | undefined;
  for (const deadline = Date.now() + 30_000; !id; ) {
    if (exited) throw new Error(`push ended before it could be killed:\n${out}`);
    if (Date.now() > deadline) throw new Error(`no upload session reached 40% of the layer:\n${out}`);
    for (const [sid, size] of await sessionSizes(storage)) if (size >= 0.4 * layerSize) id = sid;
    if (!id) await new Promise((r) => setTimeout(r, 20));
  }
  child.kill('SIGKILL');
  await exit;
  // What was on its way when the push died still lands: wait until the size holds still.
  let held = -1;
  for (let same = 0; same < 5; ) {
    await new Promise((r) => setTimeout(r, 60));
    const now = (await sessionSizes(storage)).get(id) ?? -1;
    same = now === held ? same + 1 : 0;
    held = now;
  }
  return { id, held };
}

/** pulledDigest GETs a blob from the registry and hashes what comes back. */
async function pulledDigest(base: string, digest: string): Promise<string> {
  const res = await fetch(`${base}/v2/${REPO}/blobs/${digest}`);
  if (res.status !== 200) throw new Error(`GET blob: ${res.status}`);
  const hash = createHash('sha256');
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) hash.update(chunk);
  return `sha256:${hash.digest('hex')}`;
}

/** checkRecord reads the one record a killed push left and checks its modes and content. */
async function checkRecord(t: Test, cache: string, sessionId: string): Promise<{ location: string }> {
  const files = await recordFiles(cache);
  t.equal(files.length, 1, 'the killed push left one record of its streamed session');
  t.equal((await stat(recordsDir(cache))).mode & 0o777, 0o700, 'the records folder is 0700');
  const file = join(recordsDir(cache), files[0]!);
  t.equal((await stat(file)).mode & 0o777, 0o600, 'the record is 0600');
  const record = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  t.same(Object.keys(record).sort(), ['digest', 'host', 'location', 'pid', 'registry', 'repository', 'savedAt', 'size'], 'nothing but what resuming needs');
  t.match(record, { repository: REPO, digest: layer.digest, size: layerSize }, 'the record names the layer');
  t.match(String(record.location), new RegExp(`/v2/${REPO}/blobs/uploads/${sessionId}(\\?|$)`), 'the Location of the session in the storage');
  return { location: String(record.location) };
}

t.test('our registry: a push killed mid-layer resumes from the offset the registry holds', async (t) => {
  const reg = await startTestRegistry(t);
  const proxy = await startThrottleProxy(t, reg.port, 40 * MiB);
  const cache = await tempDir(t, 'cr-cache-');
  const env = { CONTAINER_REGISTRY_URL: proxy.host, DEPLOY_DIR_IMAGE: deployDir, XDG_CACHE_HOME: cache };
  const killed = await pushKilledMidUpload(t, reg.storage, env);
  t.ok(killed.held >= 0.4 * layerSize && killed.held < layerSize, `the registry held ${killed.held} of ${layerSize} bytes when the push died`);
  await checkRecord(t, cache, killed.id);

  proxy.setRate(Infinity);
  const again = await runCli(['push', '--json'], { env });
  t.equal(again.code, 0, 'the second push succeeds', { stderr: again.stderr });
  const [r] = (JSON.parse(again.stdout) as PushJson).results;
  t.comment(`layer ${layerSize} bytes; held by the registry ${killed.held}; sent by the second push ${r!.bytesSent}`);
  t.equal(r!.bytesResumed, killed.held, 'bytesResumed is what the registry held');
  t.equal(r!.bytesSent, layerSize - killed.held, 'only the rest of the layer was sent');
  t.ok(r!.bytesSent < layerSize, 'the resume shows: less than the layer sent');
  t.equal(r!.digest, build.image.manifest.digest, 'the manifest digest of the layout');
  t.equal(await pulledDigest(reg.url, layer.digest), layer.digest, 'the pulled layer verifies');
  t.same([...(await sessionSizes(reg.storage)).keys()], [], 'no upload session is left in the registry');
  t.same(await recordFiles(cache), [], 'the record went with the commit');
});

t.test('our registry: two pushes at once after the kill: one resumes the session, the other starts over', async (t) => {
  const reg = await startTestRegistry(t);
  const proxy = await startThrottleProxy(t, reg.port, 40 * MiB);
  const cache = await tempDir(t, 'cr-cache-');
  const env = { CONTAINER_REGISTRY_URL: proxy.host, DEPLOY_DIR_IMAGE: deployDir, XDG_CACHE_HOME: cache };
  const killed = await pushKilledMidUpload(t, reg.storage, env);

  proxy.setRate(Infinity);
  const both = await Promise.all([runCli(['push', '--json'], { env }), runCli(['push', '--json'], { env })]);
  for (const r of both) t.equal(r.code, 0, 'each push succeeds', { stderr: r.stderr });
  const results = both.map((r) => (JSON.parse(r.stdout) as PushJson).results[0]!);
  t.same(
    results.map((r) => r.bytesResumed).sort((a, b) => a - b),
    [0, killed.held],
    'exactly one of them took the record and resumed',
  );
  const resumer = results.find((r) => r.bytesResumed > 0)!;
  t.equal(resumer.bytesSent, layerSize - killed.held, 'the one that resumed sent the rest');
  t.equal(await pulledDigest(reg.url, layer.digest), layer.digest, 'the pulled layer verifies');
  t.same([...(await sessionSizes(reg.storage)).keys()], [], 'no upload session is left in the registry');
  t.same(await recordFiles(cache), [], 'no record is left');
});

t.test('our registry: the text output names a resumed layer', async (t) => {
  const reg = await startTestRegistry(t);
  const proxy = await startThrottleProxy(t, reg.port, 40 * MiB);
  const cache = await tempDir(t, 'cr-cache-');
  const env = { CONTAINER_REGISTRY_URL: proxy.host, DEPLOY_DIR_IMAGE: deployDir, XDG_CACHE_HOME: cache };
  await pushKilledMidUpload(t, reg.storage, env);

  proxy.setRate(Infinity);
  const again = await runCli(['push'], { env });
  t.equal(again.code, 0, 'the second push succeeds', { stderr: again.stderr });
  const line = new RegExp(`blob ${layer.digest.slice(7, 19)} pushed +64\\.\\d MiB \\(resumed at (\\d+\\.\\d) MiB, (\\d+\\.\\d) MiB sent\\)\\n`);
  t.match(again.stdout, line, 'the layer line says where it resumed and what it sent');
  const [, at, sent] = line.exec(again.stdout) ?? [];
  t.ok(Number(sent) < 64, `the summary counts ${sent} MiB sent, not the whole layer`);
  t.match(again.stdout, new RegExp(`Pushed 1 image\\(s\\): ${sent!.replace('.', '\\.')} MiB sent`), 'the summary counts what was sent');
  t.ok(Math.abs(Number(at) + Number(sent) - layerSize / MiB) < 0.2, `resumed at ${at} MiB + ${sent} MiB sent make the layer`);
});

t.test('our registry: the remembered session is gone (its folder deleted), so the push starts over', async (t) => {
  const reg = await startTestRegistry(t);
  const proxy = await startThrottleProxy(t, reg.port, 40 * MiB);
  const cache = await tempDir(t, 'cr-cache-');
  const env = { CONTAINER_REGISTRY_URL: proxy.host, DEPLOY_DIR_IMAGE: deployDir, XDG_CACHE_HOME: cache };
  const killed = await pushKilledMidUpload(t, reg.storage, env);
  await checkRecord(t, cache, killed.id);
  await rm(uploadsDir(reg.storage), { recursive: true, force: true });

  proxy.setRate(Infinity);
  const again = await runCli(['push'], { env });
  t.equal(again.code, 0, 'the second push succeeds', { stderr: again.stderr });
  t.notMatch(again.stdout, /resumed/, 'nothing was resumed');
  t.match(again.stdout, new RegExp(`blob ${layer.digest.slice(7, 19)} pushed +64\\.\\d MiB\\n`), 'the layer went again, whole (no resume note)');
  t.match(again.stdout, /Pushed 1 image\(s\): 64\.\d MiB sent/, 'the summary counts the whole layer');
  t.equal(await pulledDigest(reg.url, layer.digest), layer.digest, 'the pulled layer verifies');
  t.same([...(await sessionSizes(reg.storage)).keys()], [], 'no upload session is left in the registry');
  t.same(await recordFiles(cache), [], 'the dead record was forgotten');
});

t.test('docker-registry (distribution 2.8): a killed push is pushed again, starting over', { skip: missingPeer('docker-registry') }, async (t) => {
  const dist = await startDistribution(t);
  const proxy = await startThrottleProxy(t, Number(dist.host.split(':')[1]), 40 * MiB);
  const cache = await tempDir(t, 'cr-cache-');
  const env = { CONTAINER_REGISTRY_URL: proxy.host, DEPLOY_DIR_IMAGE: deployDir, XDG_CACHE_HOME: cache };
  const killed = await pushKilledMidUpload(t, dist.storage, env);
  const { location } = await checkRecord(t, cache, killed.id);
  t.match(location, /[?&]_state=/, "distribution's _state is kept (without it the Location names no session)");

  proxy.setRate(Infinity);
  const again = await runCli(['push', '--json'], { env });
  t.equal(again.code, 0, 'the second push succeeds', { stderr: again.stderr });
  const [r] = (JSON.parse(again.stdout) as PushJson).results;
  t.equal(r!.bytesResumed, 0, 'distribution cannot resume a cut session');
  t.equal(r!.bytesSent, layerSize, 'the layer went again, whole');
  t.equal(await pulledDigest(dist.url, layer.digest), layer.digest, 'the pulled layer verifies');
  // distribution 2.8 answers the remembered session 404 "upload resumed at wrong offset" and fails
  // to delete it (it closes the writer before cancelling): it stays until the registry purges uploads.
  t.same([...(await sessionSizes(dist.storage)).keys()], [killed.id], 'no session of the second push is left');
  t.same(await recordFiles(cache), [], 'no record is left');
});
