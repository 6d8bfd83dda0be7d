// The test object store itself: radosgw.sh starts a real Ceph cluster with its gateway, S3 works
// through the official SDK (with the quirks the driver relies on), and stop leaves nothing behind.
import t from 'tap';
import { readFileSync, existsSync } from 'node:fs';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './helpers/ports.js';
import { missingRadosGw, startRadosGw } from './helpers/radosgw.js';

const skip = missingRadosGw();

function daemonsOf(dir: string): number[] {
  const out = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((l) => l.includes(`${dir}/ceph.conf`))
    .map((l) => Number(l.trim().split(/\s+/)[0]));
}

t.test('a one-node cluster serves S3 and stops completely', { skip }, async (t) => {
  const gw = await startRadosGw(t);
  t.match(gw.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
  t.equal(daemonsOf(gw.dir).length, 3, 'mon, osd and gateway run');
  const conf = readFileSync(`${gw.dir}/ceph.conf`, 'utf8');
  t.match(conf, /paxos propose interval = 0\.01/);
  t.notMatch(conf, /\[mgr/, 'no mgr');

  const s3 = await import('@aws-sdk/client-s3');
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const client = new s3.S3Client({
    endpoint: gw.endpoint,
    region: gw.env.AWS_REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: gw.env.AWS_ACCESS_KEY_ID!, secretAccessKey: gw.env.AWS_SECRET_ACCESS_KEY! },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  await client.send(new s3.CreateBucketCommand({ Bucket: 'quirks' }));
  await client.send(new s3.PutObjectCommand({ Bucket: 'quirks', Key: 'a/b', Body: 'hello world' }));
  const ranged = await client.send(new s3.GetObjectCommand({ Bucket: 'quirks', Key: 'a/b', Range: 'bytes=6-10' }));
  t.equal(await ranged.Body!.transformToString(), 'world');
  t.equal(ranged.ContentRange, 'bytes 6-10/11');

  // The quirk the driver works around: CompleteMultipartUpload answers an empty ETag.
  const mp = await client.send(new s3.CreateMultipartUploadCommand({ Bucket: 'quirks', Key: 'mp' }));
  const part = await client.send(new s3.UploadPartCommand({ Bucket: 'quirks', Key: 'mp', UploadId: mp.UploadId, PartNumber: 1, Body: Buffer.alloc(1024, 7) }));
  const done = await client.send(
    new s3.CompleteMultipartUploadCommand({
      Bucket: 'quirks',
      Key: 'mp',
      UploadId: mp.UploadId,
      MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
    }),
  );
  t.comment(`CompleteMultipartUpload ETag: ${JSON.stringify(done.ETag)}`);
  const head = await client.send(new s3.HeadObjectCommand({ Bucket: 'quirks', Key: 'mp' }));
  t.equal(head.ContentLength, 1024);
  t.match(head.ETag, /-1"$/, 'HeadObject tells the multipart ETag');
  client.destroy();

  const dir = gw.dir;
  const pids = daemonsOf(dir);
  await gw.stop();
  t.same(daemonsOf(dir), [], 'no daemon left');
  for (const pid of pids) t.notOk(existsSync(`/proc/${pid}`), `pid ${pid} gone`);
  t.notOk(existsSync(dir), 'the folder is removed');
});

t.test('a cluster whose owner dies without stopping it is stopped by its watcher', { skip }, async (t) => {
  const owner = spawn('sleep', ['600']);
  const dir = mkdtempSync(join(tmpdir(), 'cr-ceph-owner-'));
  t.teardown(() => {
    owner.kill('SIGKILL');
    execFileSync(join(import.meta.dirname, 'helpers', 'radosgw.sh'), ['stop', dir]);
  });
  const ports = [await freePort(), await freePort()];
  execFileSync(join(import.meta.dirname, 'helpers', 'radosgw.sh'), ['start', dir, String(ports[0]), String(ports[1]), String(owner.pid)], { timeout: 120_000 });
  t.equal(daemonsOf(dir).length, 3, 'running');
  owner.kill('SIGKILL');
  await waitFor(async () => daemonsOf(dir).length === 0 && !existsSync(dir), 30_000, 'the watcher to stop the cluster');
  t.pass('every daemon stopped and the folder removed once the owner died');
});
