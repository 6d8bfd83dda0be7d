// gc against a running server's storage: what it keeps, what it deletes, and that the server keeps
// serving throughout.
import t from 'tap';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli, startTestRegistry } from './helpers/registry.js';
import { makeImage, makeIndex, pushImage, putManifest, sha256, uploadBlob } from './helpers/images.js';

async function blobDigests(storage: string): Promise<Set<string>> {
  const root = join(storage, 'docker/registry/v2/blobs/sha256');
  const out = new Set<string>();
  for (const p of await readdir(root).catch(() => [])) for (const hex of await readdir(join(root, p))) out.add(`sha256:${hex}`);
  return out;
}

t.test('gc while serving: untagged content goes only with --delete-untagged; tagged, index children and referrers stay', async (t) => {
  const reg = await startTestRegistry(t);
  const base = reg.url;
  const kept = makeImage();
  const dropped = makeImage();
  const childA = makeImage({ architecture: 'amd64' });
  const childB = makeImage({ architecture: 'arm64' });
  await pushImage(base, 'gc/app', 'keep', kept);
  await pushImage(base, 'gc/app', 'drop', dropped);
  await pushImage(base, 'gc/multi', childA.manifest.digest, childA);
  await pushImage(base, 'gc/multi', childB.manifest.digest, childB);
  const index = makeIndex([childA, childB]);
  t.equal((await putManifest(base, 'gc/multi', 'multi', index)).status, 201);
  // a signature-like referrer of the kept image, untagged
  const sigLayer = Buffer.from('signature bytes');
  await uploadBlob(base, 'gc/app', { digest: sha256(sigLayer), data: sigLayer });
  await uploadBlob(base, 'gc/app', { digest: sha256('{}'), data: Buffer.from('{}') });
  const sigDoc = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: 'application/vnd.example.sig',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256('{}'), size: 2 },
      layers: [{ mediaType: 'application/octet-stream', digest: sha256(sigLayer), size: sigLayer.length }],
      subject: { mediaType: kept.manifest.mediaType, digest: kept.manifest.digest, size: kept.manifest.data.length },
    }),
  );
  t.equal(
    (await putManifest(base, 'gc/app', sha256(sigDoc), { digest: sha256(sigDoc), data: sigDoc, mediaType: 'application/vnd.oci.image.manifest.v1+json' }))
      .status,
    201,
  );
  // an orphan blob in no manifest
  const orphan = Buffer.from('orphan');
  await uploadBlob(base, 'gc/app', { digest: sha256(orphan), data: orphan });
  t.equal((await fetch(`${base}/v2/gc/app/manifests/drop`, { method: 'DELETE' })).status, 202);

  const before = await blobDigests(reg.storage);
  const graceful = await runCli(['gc', '--storage', reg.storage, '--json', '--settle', '0']);
  t.equal(graceful.code, 0, graceful.stderr);
  t.same(JSON.parse(graceful.stdout).blobsDeleted, [], 'within the grace period nothing is collected');

  const dry = await runCli(['gc', '--storage', reg.storage, '--grace', '0', '--settle', '0', '--dry-run', '--json']);
  t.equal(dry.code, 0, dry.stderr);
  t.same(
    JSON.parse(dry.stdout).blobsDeleted.map((b: { digest: string }) => b.digest),
    [sha256(orphan)],
    'without --delete-untagged only the orphan goes',
  );
  t.same(await blobDigests(reg.storage), before, '--dry-run changed nothing');

  const plain = await runCli(['gc', '--storage', reg.storage, '--grace', '0', '--settle', '0', '--json']);
  t.equal(plain.code, 0, plain.stderr);
  t.notOk((await blobDigests(reg.storage)).has(sha256(orphan)));
  t.equal((await fetch(`${base}/v2/gc/app/manifests/${dropped.manifest.digest}`)).status, 200, 'untagged manifest kept without --delete-untagged');

  const untagged = await runCli(['gc', '--storage', reg.storage, '--grace', '0', '--settle', '0', '--delete-untagged', '--json']);
  t.equal(untagged.code, 0, untagged.stderr);
  const report = JSON.parse(untagged.stdout) as { manifestsDeleted: Array<{ digest: string }>; blobsDeleted: Array<{ digest: string }> };
  t.same(
    report.manifestsDeleted.map((m) => m.digest),
    [dropped.manifest.digest],
  );
  const left = await blobDigests(reg.storage);
  for (const b of [dropped.manifest, dropped.config, ...dropped.layers]) t.notOk(left.has(b.digest), `dropped ${b.digest.slice(0, 19)} collected`);
  for (const b of [kept.manifest, kept.config, ...kept.layers, index, childA.manifest, childB.manifest, ...childA.layers, ...childB.layers]) {
    t.ok(left.has(b.digest), `kept ${b.digest.slice(0, 19)}`);
  }
  t.ok(left.has(sha256(sigDoc)) && left.has(sha256(sigLayer)), 'the referrer of a kept manifest stays');

  // The server kept serving, and serves what is left.
  t.equal((await fetch(`${base}/v2/gc/app/manifests/keep`)).status, 200);
  t.equal((await fetch(`${base}/v2/gc/multi/manifests/multi`)).status, 200);
  t.equal((await fetch(`${base}/v2/gc/multi/blobs/${childB.layers[0]!.digest}`)).status, 200);
  t.equal((await fetch(`${base}/v2/gc/app/manifests/${dropped.manifest.digest}`)).status, 404);
  t.equal((await fetch(`${base}/v2/gc/app/blobs/${dropped.layers[0]!.digest}`, { method: 'HEAD' })).status, 404);
  // and a re-push of the collected image works
  await pushImage(base, 'gc/app', 'drop', dropped);
  t.equal((await fetch(`${base}/v2/gc/app/manifests/drop`)).status, 200);
});

t.test('gc leaves an upload in progress alone and completes it afterwards', async (t) => {
  const reg = await startTestRegistry(t);
  const post = await fetch(`${reg.url}/v2/gc/up/blobs/uploads/`, { method: 'POST' });
  const loc = post.headers.get('location')!;
  const data = Buffer.from('half of it and the rest');
  await fetch(`${reg.url}${loc}`, { method: 'PATCH', body: new Uint8Array(data.subarray(0, 8)) });
  const gc = await runCli(['gc', '--storage', reg.storage, '--grace', '0', '--settle', '0', '--delete-untagged', '--json']);
  t.equal(gc.code, 0, gc.stderr);
  t.same(JSON.parse(gc.stdout).uploadsDeleted, []);
  const put = await fetch(`${reg.url}${loc}?digest=${sha256(data)}`, { method: 'PUT', body: new Uint8Array(data.subarray(8)) });
  t.equal(put.status, 201);
});
