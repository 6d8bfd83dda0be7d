// Backups of an S3 storage on a real S3 endpoint (Ceph's RADOS Gateway, helpers/radosgw.ts): images
// pushed into a bucket (one layer of several multipart parts among them) are backed up into a
// folder, verified, restored into an EMPTY prefix of the bucket through the driver's upload path
// (no local temp file, nothing left under _uploads/), and that prefix, served, gives back every
// image with skopeo, digests verified.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { runCli, startTestRegistry } from './helpers/registry.js';
import { missingPeer } from './helpers/peers.js';
import { tempDir } from './helpers/tmp.js';
import { makeImage, pushImage, sha256 } from './helpers/images.js';
import { checkServed, pushAll } from './helpers/interop-images.js';
import { mustExec } from './helpers/exec.js';
import { waitFor } from './helpers/ports.js';
import { createBucket, missingRadosGw, s3Client, startRadosGw } from './helpers/radosgw.js';

const skip = missingRadosGw() || missingPeer('skopeo');
const gateway = skip ? undefined : await startRadosGw(t);

/** keysOf lists the keys of a bucket under a prefix. */
async function keysOf(bucket: string, prefix: string): Promise<string[]> {
  const { ListObjectsV2Command } = await import('@aws-sdk/client-s3');
  const client = await s3Client(gateway!.env);
  try {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
      keys.push(...(page.Contents ?? []).map((o) => o.Key!));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys;
  } finally {
    client.destroy();
  }
}

t.test('a bucket backed up into a folder and restored into an empty prefix: every image pulls, digests verified', { skip }, async (t) => {
  const bucket = 'backup-src';
  await createBucket(gateway!.env, bucket);
  const sourceEnv = { ...gateway!.env, CONTAINER_REGISTRY_STATE_DIR: await tempDir(t, 'cr-s3-state-src-') };
  const source = `s3://${bucket}/team`;
  const ours = await startTestRegistry(t, { storage: source, env: sourceEnv });
  const pushed = await pushAll(t, ours.url, ours.host);
  // A layer of three multipart parts (8 MiB each but the last): restore streams it back in parts.
  const big = makeImage({ layers: [[{ name: 'big', content: randomBytes(20 * 1024 * 1024) }]] });
  await pushImage(ours.url, 'team/tool', 'big', big);

  // Backed up while the registry serves, from the bucket into a folder.
  const backups = await tempDir(t, 'cr-s3-backups-');
  const made = await runCli(['backup', 'create', '--storage', source, '--to', backups, '--json'], { env: sourceEnv });
  t.equal(made.code, 0, made.stderr);
  const index = JSON.parse(made.stdout) as { id: string; source: { storage: string }; counts: { repositories: number; tags: number; blobs: number } };
  t.equal(index.source.storage, source, 'the index names the bucket it came from');
  t.same(index.counts.repositories, 3, 'team/app, team/multi, team/tool');
  await ours.stop();
  const verified = await runCli(['backup', 'verify', '--from', backups]);
  t.equal(verified.code, 0, verified.stdout + verified.stderr);

  // Restored into another prefix of the same bucket, empty, with another state folder.
  const target = `s3://${bucket}/restored`;
  const targetEnv = { ...gateway!.env, CONTAINER_REGISTRY_STATE_DIR: await tempDir(t, 'cr-s3-state-dst-') };
  const restored = await runCli(['backup', 'restore', '--from', backups, '--storage', target], { env: targetEnv, timeoutMs: 180_000 });
  t.equal(restored.code, 0, restored.stdout + restored.stderr);
  t.match(
    restored.stdout,
    `Restored backup ${index.id} into ${target}: 3 repositories, 6 manifest(s), ${index.counts.tags} tag(s), ${index.counts.blobs} blob(s) (${index.counts.blobs} written, 0 already there)`,
  );
  const keys = await keysOf(bucket, 'restored/');
  t.same(
    keys.filter((k) => k.includes('/_uploads/')),
    [],
    'no upload left behind',
  );
  t.ok(
    keys.includes(`restored/docker/registry/v2/blobs/sha256/${big.layers[0]!.digest.slice(7, 9)}/${big.layers[0]!.digest.slice(7)}/data`),
    'the big layer is in the bucket',
  );

  // Restoring the same backup again finds everything there: nothing is written twice.
  const again = await runCli(['backup', 'restore', '--from', backups, '--storage', target, '--merge'], { env: targetEnv });
  t.equal(again.code, 0, again.stdout + again.stderr);
  t.match(again.stdout, `(0 written, ${index.counts.blobs} already there), 0 B written`);

  const served = await startTestRegistry(t, { storage: target, env: targetEnv });
  // --state-dir names the state folder as the variable does: status finds the registry by it.
  const status = await runCli(['status', '--storage', target, '--state-dir', targetEnv.CONTAINER_REGISTRY_STATE_DIR], { env: gateway!.env });
  t.equal(status.code, 0, `status --state-dir: ${status.stdout}${status.stderr}`);
  const elsewhere = await runCli(['status', '--storage', target], { env: gateway!.env });
  t.equal(elsewhere.code, 3, 'without it, the default state folder holds no running registry');
  await checkServed(t, served.url, served.host, pushed, true);
  const out = join(await tempDir(t, 'cr-s3-big-'), 'big');
  await mustExec('skopeo', ['copy', '--src-tls-verify=false', `docker://${served.host}/team/tool:big`, `oci:${out}:v1`]);
  const raw = await mustExec('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${served.host}/team/tool:big`]);
  t.equal(sha256(raw.stdout), big.manifest.digest, 'team/tool:big: the manifest digest');
});

t.test('a backup whose blob is corrupt restores nothing of it into a bucket', { skip }, async (t) => {
  const bucket = 'backup-corrupt';
  await createBucket(gateway!.env, bucket);
  const storage = await tempDir(t, 'cr-fs-src-');
  const reg = await startTestRegistry(t, { storage });
  const image = makeImage({ layers: [[{ name: 'f', content: 'some content\n' }]] });
  await pushImage(reg.url, 'one/app', 'v1', image);
  const backups = await tempDir(t, 'cr-backups-');
  const made = await runCli(['backup', 'create', '--storage', storage, '--to', backups]);
  t.equal(made.code, 0, made.stderr);
  // The layer's bytes changed in the backup folder (same size): its digest no longer matches.
  const { readFile, writeFile } = await import('node:fs/promises');
  const layer = image.layers[0]!;
  const path = join(backups, 'blobs', 'sha256', layer.digest.slice(7, 9), layer.digest.slice(7));
  const bytes = await readFile(path);
  bytes[bytes.length - 1] = (bytes.at(-1) ?? 0) ^ 0xff;
  await writeFile(path, bytes);
  const env = { ...gateway!.env, CONTAINER_REGISTRY_STATE_DIR: await tempDir(t, 'cr-s3-state-') };
  const r = await runCli(['backup', 'restore', '--from', backups, '--storage', `s3://${bucket}`], { env });
  t.equal(r.code, 1, 'a blob not restorable: non-zero');
  t.match(r.stdout, `BROKEN ${layer.digest}`);
  t.match(r.stdout, 'LEFT OUT one/app@');
  const keys = await keysOf(bucket, '');
  t.notOk(
    keys.some((k) => k.includes(layer.digest.slice(7))),
    'nothing of the corrupt blob in the bucket',
  );
  t.same(
    keys.filter((k) => k.includes('/_uploads/')),
    [],
    'no upload left behind',
  );
});

t.test('scheduled backups of an s3:// registry read the bucket; a lost tag comes back into the bucket served read-only', { skip }, async (t) => {
  const bucket = 'backup-sched';
  await createBucket(gateway!.env, bucket);
  const env = { ...gateway!.env, CONTAINER_REGISTRY_STATE_DIR: await tempDir(t, 'cr-s3-state-sched-') };
  const storage = `s3://${bucket}/sched`;
  const dir = join(await tempDir(t, 'cr-s3-sched-'), 'store');
  const sched = await startTestRegistry(t, { storage, env, args: ['--backup-every', '1s', '--backup-keep', '2', '--backup-dir', dir] });
  const image = makeImage();
  await pushImage(sched.url, 'sched/app', 'v1', image);
  await waitFor(async () => /backups: \d{8}T\d{9}Z-[0-9a-f]{6}: 1 manifest/.test(sched.output()), 30_000, 'a scheduled backup').catch(() => {});
  t.match(sched.output(), /backups: \d{8}T\d{9}Z-[0-9a-f]{6}: 1 manifest\(s\), 1 tag\(s\), 3 blob\(s\)/, 'a scheduled backup of the bucket');
  await sched.stop();
  const list = await runCli(['backup', 'list', '--from', dir]);
  t.match(list.stdout, `from ${storage}`, 'its index names the bucket');

  // The tag lost from the bucket; the registry back up read-only; the restore puts the tag back.
  const { DeleteObjectsCommand } = await import('@aws-sdk/client-s3');
  const tagKeys = (await keysOf(bucket, 'sched/docker/registry/v2/repositories/sched/app/_manifests/tags/')).map((Key) => ({ Key }));
  t.ok(tagKeys.length > 0);
  const client = await s3Client(gateway!.env);
  await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: tagKeys } }));
  client.destroy();
  const ro = await startTestRegistry(t, { storage, env, args: ['--read-only'] });
  t.equal((await fetch(`${ro.url}/v2/sched/app/manifests/v1`)).status, 404, 'the tag is gone');
  const back = await runCli(['backup', 'restore', '--from', dir, '--storage', storage], { env });
  t.equal(back.code, 0, back.stdout + back.stderr);
  t.match(back.stdout, `into ${storage}: 1 repositories, 1 manifest(s), 1 tag(s), 3 blob(s) (0 written, 3 already there), 0 B written`);
  const raw = await mustExec('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ro.host}/sched/app:v1`]);
  t.equal(sha256(raw.stdout), image.manifest.digest, 'the read-only registry serves the tag again');
});
