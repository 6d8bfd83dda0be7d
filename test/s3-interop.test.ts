// Our registry on a real S3 endpoint (Ceph's RADOS Gateway, helpers/radosgw.ts): a skopeo round trip,
// interop with docker-registry's s3 driver both ways on the same bucket and prefix, chunked PATCHes
// smaller than S3's 5 MiB part minimum, a blob of several multipart parts, and Range GETs.
import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { runCli, startTestRegistry } from './helpers/registry.js';
import { startDistribution } from './helpers/distribution.js';
import { missingPeer } from './helpers/peers.js';
import { tempDir } from './helpers/tmp.js';
import { makeImage, pushImage, putManifest } from './helpers/images.js';
import { checkServed, pushAll } from './helpers/interop-images.js';
import { createBucket, missingRadosGw, s3Client, startRadosGw } from './helpers/radosgw.js';

const skip = missingRadosGw() || missingPeer('skopeo', 'docker-registry');
// One gateway for the file (it takes seconds to start and stop), a bucket per test.
const gateway = skip ? undefined : await startRadosGw(t);
let buckets = 0;

/** onBucket makes a fresh bucket and a local state folder for the registries of one test. */
async function onBucket(t: { teardown(fn: () => unknown): void }): Promise<{ bucket: string; prefix: string; env: Record<string, string> }> {
  const name = `interop-${++buckets}`;
  await createBucket(gateway!.env, name);
  const state = await tempDir(t, 'cr-s3-state-');
  return { bucket: name, prefix: 'team/registry', env: { ...gateway!.env, CONTAINER_REGISTRY_STATE_DIR: state } };
}

t.test('skopeo round trip on S3, then docker-registry (s3 driver) serves the same bucket', { skip }, async (t) => {
  const b = await onBucket(t);
  const ours = await startTestRegistry(t, { storage: `s3://${b.bucket}/${b.prefix}`, env: b.env });
  const pushed = await pushAll(t, ours.url, ours.host);
  await checkServed(t, ours.url, ours.host, pushed, true);
  await ours.stop();
  const dist = await startDistribution(t, { s3: { env: b.env, bucket: b.bucket, prefix: b.prefix } });
  await checkServed(t, dist.url, dist.host, pushed, false);
});

t.test('ours serves a bucket docker-registry (s3 driver) wrote, and keeps writing into it', { skip }, async (t) => {
  const b = await onBucket(t);
  const dist = await startDistribution(t, { s3: { env: b.env, bucket: b.bucket, prefix: b.prefix } });
  const pushed = await pushAll(t, dist.url, dist.host);
  await dist.stop();
  const ours = await startTestRegistry(t, { storage: `s3://${b.bucket}/${b.prefix}`, env: b.env });
  await checkServed(t, ours.url, ours.host, pushed, true);
  t.equal((await putManifest(ours.url, 'team/app', 'v2', pushed.app.manifest)).status, 201, 'tag v2 added by ours');
  await ours.stop();
  const again = await startDistribution(t, { s3: { env: b.env, bucket: b.bucket, prefix: b.prefix } });
  const tags = (await (await fetch(`${again.url}/v2/team/app/tags/list`)).json()) as { tags: string[] };
  t.same([...tags.tags].sort(), ['stable', 'v1', 'v2'], 'docker-registry sees the tag ours added');
});

t.test('uploads: PATCHes under 5 MiB, a blob of several parts, resumed after a restart, Range GETs', { skip }, async (t) => {
  const b = await onBucket(t);
  const storage = `s3://${b.bucket}/${b.prefix}`;
  let ours = await startTestRegistry(t, { storage, env: b.env });
  // 21 MiB + 5 bytes: two full 8 MiB parts and a tail, sent in chunks of 3 MiB (under S3's minimum).
  const blob = randomBytes(21 * 1024 * 1024 + 5);
  const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
  const start = await fetch(`${ours.url}/v2/big/blobs/uploads/`, { method: 'POST' });
  t.equal(start.status, 202);
  let location = new URL(start.headers.get('location')!, ours.url);
  const chunk = 3 * 1024 * 1024;
  let sent = 0;
  const patch = async (end: number) => {
    const res = await fetch(location, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${sent}-${end - 1}` },
      body: new Uint8Array(blob.subarray(sent, end)),
    });
    t.equal(res.status, 202, `PATCH ${sent}-${end - 1}`);
    t.equal(res.headers.get('range'), `0-${end - 1}`);
    location = new URL(res.headers.get('location')!, ours.url);
    sent = end;
  };
  while (sent < 4 * chunk) await patch(Math.min(blob.length, sent + chunk));
  // Restart: the upload lives in the bucket (its parts and tail), not in the process.
  await ours.stop();
  ours = await startTestRegistry(t, { storage, env: b.env });
  location = new URL(location.pathname + location.search, ours.url);
  const status = await fetch(location);
  t.equal(status.status, 204);
  t.equal(status.headers.get('range'), `0-${sent - 1}`, 'the restarted registry resumes from the bucket');
  while (sent < blob.length) await patch(Math.min(blob.length, sent + chunk));
  // A wrong digest is refused and nothing becomes visible.
  const commit = new URL(location);
  commit.searchParams.set('digest', digest);
  const done = await fetch(commit, { method: 'PUT' });
  t.equal(done.status, 201, await done.text());
  const head = await fetch(`${ours.url}/v2/big/blobs/${digest}`, { method: 'HEAD' });
  t.equal(head.headers.get('content-length'), String(blob.length));
  const whole = Buffer.from(await (await fetch(`${ours.url}/v2/big/blobs/${digest}`)).arrayBuffer());
  t.ok(whole.equals(blob), 'GET streams the whole blob back');
  const ranged = await fetch(`${ours.url}/v2/big/blobs/${digest}`, { headers: { Range: 'bytes=8388600-8388615' } });
  t.equal(ranged.status, 206);
  t.ok(Buffer.from(await ranged.arrayBuffer()).equals(blob.subarray(8388600, 8388616)), 'a Range across a part boundary');

  const bad = await fetch(`${ours.url}/v2/big/blobs/uploads/`, { method: 'POST' });
  const badLocation = new URL(bad.headers.get('location')!, ours.url);
  badLocation.searchParams.set('digest', `sha256:${'0'.repeat(64)}`);
  const refused = await fetch(badLocation, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/octet-stream' },
    body: new Uint8Array(blob.subarray(0, 1000)),
  });
  t.equal(refused.status, 400, 'a wrong digest is refused');
  t.equal((await fetch(`${ours.url}/v2/big/blobs/sha256:${'0'.repeat(64)}`, { method: 'HEAD' })).status, 404);

  // Nothing of the upload is left in the bucket: no tails, no multipart uploads.
  const s3 = await import('@aws-sdk/client-s3');
  const client = await s3Client(b.env);
  t.teardown(() => client.destroy());
  const left = await client.send(new s3.ListObjectsV2Command({ Bucket: b.bucket, Prefix: `${b.prefix}/docker/registry/v2/repositories/big/_uploads/` }));
  t.equal(left.KeyCount ?? 0, 0, 'no upload objects left');
  const parts = await client.send(new s3.ListMultipartUploadsCommand({ Bucket: b.bucket }));
  t.equal(parts.Uploads?.length ?? 0, 0, 'no multipart upload left');
  const data = await client.send(
    new s3.HeadObjectCommand({ Bucket: b.bucket, Key: `${b.prefix}/docker/registry/v2/blobs/sha256/${digest.slice(7, 9)}/${digest.slice(7)}/data` }),
  );
  t.equal(data.ContentLength, blob.length, "the blob is under distribution's key");
});

t.test("gc on a bucket: a deleted tag's manifest and the blobs only it used go, the rest stays", { skip }, async (t) => {
  const b = await onBucket(t);
  const storage = `s3://${b.bucket}/${b.prefix}`;
  const ours = await startTestRegistry(t, { storage, env: b.env });
  const gone = makeImage({ layers: [[{ name: 'g', content: 'only the deleted tag uses this\n' }]] });
  const kept = makeImage({ layers: [[{ name: 'k', content: 'kept\n' }]] });
  await pushImage(ours.url, 'team/gc', 'gone', gone);
  await pushImage(ours.url, 'team/gc', 'kept', kept);
  t.equal((await fetch(`${ours.url}/v2/team/gc/manifests/gone`, { method: 'DELETE' })).status, 202);
  const gc = await runCli(['gc', '--storage', storage, '--delete-untagged', '--grace', '0', '--settle', '0', '--json'], { env: b.env });
  t.equal(gc.code, 0, gc.stderr);
  const report = JSON.parse(gc.stdout) as { manifestsDeleted: Array<{ digest: string }>; blobsDeleted: Array<{ digest: string }> };
  t.same(
    report.manifestsDeleted.map((m) => m.digest),
    [gone.manifest.digest],
    'the untagged manifest is deleted',
  );
  const deleted = new Set(report.blobsDeleted.map((x) => x.digest));
  t.ok(deleted.has(gone.layers[0]!.digest), 'its own layer is deleted');
  t.notOk(deleted.has(kept.layers[0]!.digest), 'the kept image keeps its layer');
  t.equal((await fetch(`${ours.url}/v2/team/gc/blobs/${gone.layers[0]!.digest}`, { method: 'HEAD' })).status, 404);
  const m = await fetch(`${ours.url}/v2/team/gc/manifests/kept`, { headers: { Accept: kept.manifest.mediaType } });
  t.equal(m.status, 200, 'the kept tag is served');
  for (const blob of [kept.config, ...kept.layers]) t.equal((await fetch(`${ours.url}/v2/team/gc/blobs/${blob.digest}`)).status, 200);
  const s3 = await import('@aws-sdk/client-s3');
  const client = await s3Client(b.env);
  t.teardown(() => client.destroy());
  const hex = gone.layers[0]!.digest.slice(7);
  const left = await client.send(
    new s3.ListObjectsV2Command({ Bucket: b.bucket, Prefix: `${b.prefix}/docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}/` }),
  );
  t.equal(left.KeyCount ?? 0, 0, 'nothing of the deleted blob is left in the bucket (its .touched mark neither)');
});
