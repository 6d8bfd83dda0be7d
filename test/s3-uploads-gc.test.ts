// Abandoned uploads on S3: gc aborts the multipart uploads under the storage's prefix that nothing
// will complete (a session's that is gone, a racing PATCH's beside the session's own, a copy's
// after an hour), keeps a live session's (it still completes after gc), leaves other prefixes'
// alone, and drops sessions idle for --upload-max-age with their multipart uploads. Also: a second
// gc on the same storage stops while another holds the lease.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { runCli, startTestRegistry } from './helpers/registry.js';
import { tempDir } from './helpers/tmp.js';
import { sha256 } from './helpers/images.js';
import { createBucket, missingRadosGw, s3Client, startRadosGw } from './helpers/radosgw.js';

const skip = missingRadosGw();
const MiB = 1024 * 1024;
const BUCKET = 'uploadsgc';
const V2 = 'reg/docker/registry/v2';

t.test('gc aborts abandoned multipart uploads under its prefix only', { skip, timeout: 180_000 }, async (t) => {
  const gw = await startRadosGw(t);
  await createBucket(gw.env, BUCKET);
  const storage = `s3://${BUCKET}/reg`;
  const env = { ...gw.env, CONTAINER_REGISTRY_STATE_DIR: await tempDir(t, 'cr-uploads-gc-') };
  const reg = await startTestRegistry(t, { storage, env });
  const s3 = await import('@aws-sdk/client-s3');
  const client = await s3Client(gw.env);
  t.teardown(() => client.destroy());
  const startMultipart = async (key: string) => {
    const { UploadId } = await client.send(new s3.CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
    await client.send(new s3.UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 1, Body: randomBytes(5 * MiB) }));
    return UploadId!;
  };
  const pending = async () => {
    const out = await client.send(new s3.ListMultipartUploadsCommand({ Bucket: BUCKET }));
    return (out.Uploads ?? []).map((u) => `${u.Key} ${u.UploadId}`).sort();
  };

  // A live session: 9 MiB so far, one 8 MiB part in its multipart upload and a tail.
  const data = randomBytes(12 * MiB);
  const start = await fetch(`${reg.url}/v2/team/up/blobs/uploads/`, { method: 'POST' });
  const location = new URL(start.headers.get('location')!, reg.url);
  const id = location.pathname.split('/').pop()!;
  const first = await fetch(location, {
    method: 'PATCH',
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `0-${9 * MiB - 1}` },
    body: new Uint8Array(data.subarray(0, 9 * MiB)),
  });
  t.equal(first.status, 202);
  const liveKey = `${V2}/repositories/team/up/_uploads/${id}/data`;
  const live = (await pending()).find((p) => p.startsWith(liveKey))!;
  t.ok(live, 'the session has its multipart upload');

  await new Promise((r) => setTimeout(r, 1100)); // the racing one must be younger (times have one-second steps)
  const racing = `${liveKey} ${await startMultipart(liveKey)}`;
  const orphanKey = `${V2}/repositories/team/up/_uploads/0b0e2f3e-9f5a-4c1e-8d7c-1a2b3c4d5e6f/data`;
  const orphan = `${orphanKey} ${await startMultipart(orphanKey)}`;
  const copyKey = `${V2}/blobs/sha256/ab/${'ab'.repeat(32)}/data`;
  const copy = `${copyKey} ${await startMultipart(copyKey)}`;
  const elsewhere = `other/docker/registry/v2/repositories/x/_uploads/0b0e2f3e-9f5a-4c1e-8d7c-1a2b3c4d5e6f/data`;
  const foreign = `${elsewhere} ${await startMultipart(elsewhere)}`;
  t.same(await pending(), [live, racing, orphan, copy, foreign].sort(), 'five pending multipart uploads');
  // The store counts in whole seconds: with --grace 0 an upload is old once a second has turned.
  await new Promise((r) => setTimeout(r, 1100));

  const gc = await runCli(['gc', '--storage', storage, '--grace', '0', '--settle', '0', '--json'], { env });
  t.equal(gc.code, 0, gc.stderr);
  t.equal((JSON.parse(gc.stdout) as { multipartAborted: number }).multipartAborted, 2);
  t.same(await pending(), [live, copy, foreign].sort(), "the session's own, a recent copy's and another prefix's stay");

  // The live session completes after gc, digest verified.
  const rest = new URL(first.headers.get('location')!, reg.url);
  rest.searchParams.set('digest', sha256(data));
  const put = await fetch(rest, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${9 * MiB}-${data.length - 1}` },
    body: new Uint8Array(data.subarray(9 * MiB)),
  });
  t.equal(put.status, 201, 'the live upload completes after gc');
  const got = Buffer.from(await (await fetch(`${reg.url}/v2/team/up/blobs/${sha256(data)}`)).arrayBuffer());
  t.equal(sha256(got), sha256(data), 'whole');

  // A session nobody finishes: gone (with its multipart upload) once idle for --upload-max-age.
  const idle = await fetch(`${reg.url}/v2/team/idle/blobs/uploads/`, { method: 'POST' });
  const idleLocation = new URL(idle.headers.get('location')!, reg.url);
  t.equal(
    (
      await fetch(idleLocation, {
        method: 'PATCH',
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `0-${9 * MiB - 1}` },
        body: new Uint8Array(data.subarray(0, 9 * MiB)),
      })
    ).status,
    202,
  );
  t.equal((await pending()).length, 3, 'the idle session has a multipart upload');
  const kept = await runCli(['gc', '--storage', storage, '--grace', '0', '--settle', '0', '--json'], { env });
  t.same((JSON.parse(kept.stdout) as { uploadsDeleted: unknown[] }).uploadsDeleted, [], 'by default a session is kept for a week');
  await new Promise((r) => setTimeout(r, 1100));
  const swept = await runCli(['gc', '--storage', storage, '--grace', '0', '--settle', '0', '--upload-max-age', '0', '--json'], { env });
  t.equal(swept.code, 0, swept.stderr);
  t.equal((JSON.parse(swept.stdout) as { uploadsDeleted: unknown[] }).uploadsDeleted.length, 1, 'the idle session is deleted');
  t.same(await pending(), [copy, foreign].sort(), 'with its multipart upload');
  t.equal((await fetch(idleLocation)).status, 404, 'and the registry no longer knows it');

  // One gc at a time per storage: a lease renewed moments ago stops a second one.
  const lease = `${V2}/_gc/lease`;
  await client.send(new s3.PutObjectCommand({ Bucket: BUCKET, Key: lease, Body: JSON.stringify({ owner: 'x', host: 'elsewhere', pid: 42, renewMs: 10_000 }) }));
  const busy = await runCli(['gc', '--storage', storage, '--grace', '0', '--settle', '0'], { env });
  t.equal(busy.code, 1, 'a second gc stops');
  t.match(busy.stderr, /another gc runs on this storage \(elsewhere pid 42, lease renewed /);
  t.ok(await client.send(new s3.HeadObjectCommand({ Bucket: BUCKET, Key: lease })), "and leaves the other's lease alone");
  await client.send(new s3.DeleteObjectCommand({ Bucket: BUCKET, Key: lease }));
  const free = await runCli(['gc', '--storage', storage, '--grace', '0', '--settle', '0'], { env });
  t.equal(free.code, 0, free.stderr);
});
