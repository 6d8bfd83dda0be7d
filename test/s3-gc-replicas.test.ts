// gc on an object store while another replica takes pushes (docs/storage-s3.md "Several replicas"):
// two of our serve processes on one bucket, sharing nothing else; `gc --grace 0 --delete-untagged`
// runs in a loop beside replica a while replica b, 150 ms from the bucket (so that its manifest PUTs
// outlast gc's settle period), takes pushes, among them skopeo pushes of images
// that reuse the blobs of a tag deleted just before (what gc is about to delete). Afterwards every
// acknowledged push pulls whole with skopeo (digests verified), and a last gc deletes what really
// is unused: the blobs of tags deleted for good and blobs no manifest ever named.
import t from 'tap';
import { mkdir } from 'node:fs/promises';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { startTestRegistry, runCli, type TestRegistry } from './helpers/registry.js';
import { tempDir } from './helpers/tmp.js';
import { makeImage, pushImage, putManifest, uploadBlob, writeLayout, type Blob, type TestImage } from './helpers/images.js';
import { createBucket, missingRadosGw, s3Client, startRadosGw } from './helpers/radosgw.js';
import { missingPeer } from './helpers/peers.js';
import { exec, fileDigest } from './helpers/exec.js';

const skip = missingRadosGw() || missingPeer('skopeo');
const BUCKET = 'gcreplicas';
const PREFIX = 'shared';

interface Pushed {
  repo: string;
  tag: string;
  image: TestImage;
  how: string;
}

async function replica(t: { teardown(fn: () => unknown): void }, env: Record<string, string>, storage: string): Promise<TestRegistry> {
  return startTestRegistry(t, { storage, env: { ...env, CONTAINER_REGISTRY_STATE_DIR: await tempDir(t, 'cr-replica-') } });
}

/** LatencyProxy is a loopback port in front of the gateway that delays requests, and holds them on demand. */
interface LatencyProxy {
  url: string;
  /** hold keeps every request byte from now on until release */
  hold(): void;
  release(): void;
}

/**
 * startLatencyProxy forwards a loopback port to `target` and holds each piece of every request for
 * `delayMs`: a replica far from the bucket, whose manifest PUT takes longer than gc's settle period.
 */
async function startLatencyProxy(t: { teardown(fn: () => unknown): void }, target: URL, delayMs: number): Promise<LatencyProxy> {
  const sockets = new Set<Socket>();
  let held: Array<() => void> | undefined;
  const server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (chunk: Buffer) =>
      setTimeout(() => {
        const send = () => upstream.write(chunk);
        if (held) held.push(send);
        else send();
      }, delayMs),
    );
    upstream.pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hold: () => {
      held ??= [];
    },
    release: () => {
      const queued = held ?? [];
      held = undefined;
      for (const send of queued) send();
    },
  };
}

/** layers of image `i` of the reused set: two own layers, the same bytes whenever asked. */
function reusedLayers(i: number) {
  return [[{ name: 'a.txt', content: `reused ${i} a\n`.repeat(2000) }], [{ name: 'b.txt', content: `reused ${i} b\n` }]];
}

/** blobKey is the object key of a blob's data, as distribution's S3 driver names it. */
function blobKey(digest: string): string {
  const hex = digest.slice(7);
  return `${PREFIX}/docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`;
}

t.test('gc --grace 0 beside replica a while replica b takes pushes deletes nothing in use', { skip, timeout: 600_000 }, async (t) => {
  const gw = await startRadosGw(t);
  await createBucket(gw.env, BUCKET);
  const storage = `s3://${BUCKET}/${PREFIX}`;
  // b reaches the bucket through 150 ms of latency: its manifest PUTs outlast gc's settle period.
  const far = await startLatencyProxy(t, new URL(gw.endpoint), 150);
  const [a, b] = await Promise.all([replica(t, gw.env, storage), replica(t, { ...gw.env, AWS_ENDPOINT_URL: far.url }, storage)]);
  const gcEnv = { ...gw.env, CONTAINER_REGISTRY_STATE_DIR: a.storage };
  const work = await tempDir(t, 'cr-gcrep-');

  // Before: images whose tags will be deleted and whose blobs are then pushed again through b,
  // images whose tags are deleted for good, and blobs no manifest ever names.
  const reused = Array.from({ length: 6 }, (_, i) => makeImage({ layers: reusedLayers(i), labels: { round: 'first' } }));
  const gone = Array.from({ length: 3 }, (_, i) => makeImage({ layers: [[{ name: 'gone.txt', content: `gone ${i}\n` }]] }));
  const orphans: Blob[] = Array.from({ length: 3 }, (_, i) => makeImage({ layers: [[{ name: 'o.txt', content: `orphan ${i}\n` }]] }).layers[0]!);
  for (const [i, img] of reused.entries()) await pushImage(a.url, `reuse/r${i}`, 'v1', img);
  for (const [i, img] of gone.entries()) await pushImage(a.url, `gone/g${i}`, 'v1', img);
  for (const o of orphans) t.equal((await uploadBlob(a.url, 'orphans/x', o)).status, 201);

  let pushing = true;
  const gcRuns: Array<{ code: number | null; restored: number; deleted: number; stderr: string }> = [];
  const gcLoop = (async () => {
    while (pushing) {
      const r = await runCli(['gc', '--storage', storage, '--grace', '0', '--delete-untagged', '--settle', '1', '--json'], { env: gcEnv, timeoutMs: 180_000 });
      const report = r.code === 0 ? (JSON.parse(r.stdout) as { blobsDeleted: unknown[]; blobsRestored: number; manifestsRestored: number }) : undefined;
      gcRuns.push({
        code: r.code,
        restored: (report?.blobsRestored ?? 0) + (report?.manifestsRestored ?? 0),
        deleted: report?.blobsDeleted.length ?? 0,
        stderr: r.stderr,
      });
    }
  })();

  const acknowledged: Pushed[] = [];
  const failures: string[] = [];
  // The re-pushes: delete the tag (through a), then skopeo pushes an image of the same layers
  // (a new config) through b: its HEADs find the layers gc is about to delete, so it skips them.
  const repush = async () => {
    for (const [i] of reused.entries()) {
      const repo = `reuse/r${i}`;
      const del = await fetch(`${a.url}/v2/${repo}/manifests/v1`, { method: 'DELETE' });
      if (del.status !== 202) failures.push(`delete ${repo}:v1: ${del.status}`);
      // Let a gc run see the tag gone (grace 0 releases its blobs at once).
      await new Promise((r) => setTimeout(r, 300 + 250 * i));
      const again = makeImage({ layers: reusedLayers(i), labels: { round: 'second' } });
      const dir = join(work, `r${i}`);
      await writeLayout(dir, [{ ref: 'v2', image: again }]);
      const r = await exec('skopeo', ['copy', '--dest-tls-verify=false', `oci:${dir}:v2`, `docker://${b.host}/${repo}:v2`], { timeoutMs: 120_000 });
      if (r.code === 0) acknowledged.push({ repo, tag: 'v2', image: again, how: 'skopeo via b' });
      else failures.push(`skopeo push ${repo}:v2: ${r.stderr.trim().split('\n').pop()}`);
    }
  };
  // Many concurrent pushes through b (and a few through a), some sharing a layer.
  let next = 0;
  const total = 40;
  // On past `total` until gc has run three times beside them (a run takes seconds on a loaded machine).
  const pusher = async () => {
    while (next < total || (gcRuns.length < 3 && next < 200)) {
      const i = next++;
      const reg = i % 4 === 3 ? a : b;
      const image = makeImage({ layers: [[{ name: 's.txt', content: `shared ${i % 3}\n` }], [{ name: 'own.txt', content: `push ${i}\n` }]] });
      try {
        await pushImage(reg.url, `fresh/f${i % 5}`, `t${i}`, image);
        acknowledged.push({ repo: `fresh/f${i % 5}`, tag: `t${i}`, image, how: reg === a ? 'api via a' : 'api via b' });
      } catch (err) {
        failures.push(`push ${i}: ${(err as Error).message}`);
      }
    }
  };
  for (const [i] of gone.entries()) {
    const del = await fetch(`${b.url}/v2/gone/g${i}/manifests/v1`, { method: 'DELETE' });
    t.equal(del.status, 202, `tag gone/g${i}:v1 deleted for good`);
  }
  await Promise.all([repush(), pusher(), pusher(), pusher(), pusher()]);
  pushing = false;
  await gcLoop;

  t.ok(gcRuns.length >= 2, `gc ran ${gcRuns.length} times during the pushes`);
  t.same(
    gcRuns.filter((g) => g.code !== 0).map((g) => g.stderr.slice(0, 400)),
    [],
    'every gc run succeeded',
  );
  t.comment(
    `gc runs: ${gcRuns.length}; blobs deleted: ${gcRuns.reduce((n, g) => n + g.deleted, 0)}; set aside then kept because a push used it: ${gcRuns.reduce((n, g) => n + g.restored, 0)}`,
  );
  t.comment(`acknowledged pushes: ${acknowledged.length}; refused (a push may fail cleanly, never be lost): ${failures.length}`);
  for (const f of failures) t.comment(`  ${f}`);
  t.ok(acknowledged.filter((p) => p.how === 'skopeo via b').length >= reused.length - 1, 'the re-pushes through b went through');

  // Quiet now: a last gc deletes what really is unused.
  const last = await runCli(['gc', '--storage', storage, '--grace', '0', '--delete-untagged', '--settle', '0', '--json'], { env: gcEnv });
  t.equal(last.code, 0, last.stderr);

  let bad = 0;
  let pulled = 0;
  const puller = async () => {
    while (pulled < acknowledged.length) await pull(acknowledged[pulled++]!);
  };
  const pull = async (p: Pushed) => {
    const out = join(work, 'pulled', p.repo.replace('/', '-'), p.tag);
    await mkdir(out, { recursive: true });
    const r = await exec('skopeo', ['copy', '--src-tls-verify=false', `docker://${a.host}/${p.repo}:${p.tag}`, `oci:${out}:x`], { timeoutMs: 120_000 });
    if (r.code !== 0) {
      bad++;
      t.fail(`${p.repo}:${p.tag} (${p.how}) does not pull: ${r.stderr.trim().split('\n').pop()?.slice(0, 300)}`);
      return;
    }
    for (const blob of [p.image.config, ...p.image.layers]) {
      const got = await fileDigest(join(out, 'blobs', 'sha256', blob.digest.slice(7))).catch(() => 'missing');
      if (got !== blob.digest) {
        bad++;
        t.fail(`${p.repo}:${p.tag}: blob ${blob.digest.slice(0, 19)} is ${got}`);
      }
    }
  };
  await Promise.all([puller(), puller(), puller(), puller()]);
  t.equal(bad, 0, `all ${acknowledged.length} acknowledged pushes pull whole with skopeo, digests verified`);

  const s3 = await import('@aws-sdk/client-s3');
  const client = await s3Client(gw.env);
  t.teardown(() => client.destroy());
  const present = async (digest: string) =>
    client.send(new s3.HeadObjectCommand({ Bucket: BUCKET, Key: blobKey(digest) })).then(
      () => true,
      () => false,
    );
  for (const img of gone) t.notOk(await present(img.layers[0]!.digest), `the layer of a tag deleted for good is gone (${img.layers[0]!.digest.slice(0, 19)})`);
  for (const o of orphans) t.notOk(await present(o.digest), `a blob no manifest named is gone (${o.digest.slice(0, 19)})`);
  for (const img of reused) t.notOk(await present(img.config.digest), 'the config of a re-pushed image, replaced by a new one, is gone');
  const lease = await client.send(new s3.HeadObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}/docker/registry/v2/_gc/lease` })).then(
    () => true,
    () => false,
  );
  t.notOk(lease, 'the last gc released its lease');
  for (const reg of [a, b]) t.notMatch(reg.output(), /internal error/, 'no replica logged an internal error');
});

// The race the coordination is for, made certain: a manifest PUT through b has looked at its blobs
// (the use is recorded: their touch records are new) when b's link to the bucket stalls; a whole gc
// run, set-aside, settle and second mark, passes meanwhile; then the PUT goes on and is answered
// 201. Without the records gc deletes the blobs it named (that PUT is then acknowledged and lost).
t.test('a manifest PUT that stalls after looking at its blobs through a whole gc run loses nothing', { skip, timeout: 300_000 }, async (t) => {
  const gw = await startRadosGw(t);
  const bucket = 'gcstall';
  await createBucket(gw.env, bucket);
  const storage = `s3://${bucket}/${PREFIX}`;
  const far = await startLatencyProxy(t, new URL(gw.endpoint), 20);
  const b = await replica(t, { ...gw.env, AWS_ENDPOINT_URL: far.url }, storage);
  const gcEnv = { ...gw.env, CONTAINER_REGISTRY_STATE_DIR: await tempDir(t, 'cr-gc-state-') };
  const image = makeImage({ layers: [[{ name: 'stall.txt', content: 'stalled\n' }]] });
  for (const blob of [image.config, ...image.layers]) t.equal((await uploadBlob(b.url, 'stall/app', blob)).status, 201);

  const s3 = await import('@aws-sdk/client-s3');
  const client = await s3Client(gw.env);
  t.teardown(() => client.destroy());
  const touchedAt = async (digest: string) =>
    client.send(new s3.HeadObjectCommand({ Bucket: bucket, Key: `${blobKey(digest)}.touched` })).then(
      (h) => h.LastModified?.getTime() ?? 0,
      () => 0,
    );
  const layer = image.layers[0]!.digest;
  const before = await touchedAt(layer);
  // Touch records have one-second steps: let the PUT's be a later second than the upload's.
  await new Promise((r) => setTimeout(r, 1100));
  const put = putManifest(b.url, 'stall/app', 'v1', image.manifest);
  const seen = Date.now();
  while ((await touchedAt(layer)) <= before) {
    if (Date.now() - seen > 20_000) throw new Error('the PUT never recorded its use of the layer');
    await new Promise((r) => setTimeout(r, 10));
  }
  far.hold();
  // The run starts two seconds after the PUT looked (the store's times have one-second steps, and a
  // blob used in the run's own second is not collected anyway); a use within the settle period
  // before the start counts as during the run.
  await new Promise((r) => setTimeout(r, 2000));
  const gc = await runCli(['gc', '--storage', storage, '--grace', '0', '--settle', '5', '--json'], { env: gcEnv, timeoutMs: 120_000 });
  far.release();
  t.equal(gc.code, 0, gc.stderr);
  const report = JSON.parse(gc.stdout) as { blobsDeleted: Array<{ digest: string }> };
  const res = await put;
  t.equal(res.status, 201, 'the stalled PUT is acknowledged');
  t.same(
    report.blobsDeleted.map((d) => d.digest),
    [],
    'gc deleted none of the blobs the PUT had looked at',
  );
  const dir = join(await tempDir(t, 'cr-stall-pull-'), 'out');
  await mkdir(dir, { recursive: true });
  const pull = await exec('skopeo', ['copy', '--src-tls-verify=false', `docker://${b.host}/stall/app:v1`, `oci:${dir}:x`], { timeoutMs: 120_000 });
  t.equal(pull.code, 0, `the image pulls whole: ${pull.stderr.slice(-300)}`);
});
