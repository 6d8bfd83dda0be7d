// gc against a running server's storage: what it keeps, what it deletes, and that the server keeps
// serving throughout.
import t, { type Test } from 'tap';
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

/** pushReferrer pushes an untagged signature-like artifact of `subject` by digest; its manifest and layer digests. */
async function pushReferrer(
  t: Test,
  base: string,
  repo: string,
  subject: { mediaType: string; digest: string; data: Buffer },
  payload: string,
): Promise<{ digest: string; layer: string }> {
  const layer = Buffer.from(payload);
  await uploadBlob(base, repo, { digest: sha256(layer), data: layer });
  await uploadBlob(base, repo, { digest: sha256('{}'), data: Buffer.from('{}') });
  const doc = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: 'application/vnd.example.sig',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256('{}'), size: 2 },
      layers: [{ mediaType: 'application/octet-stream', digest: sha256(layer), size: layer.length }],
      subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.data.length },
    }),
  );
  const digest = sha256(doc);
  t.equal((await putManifest(base, repo, digest, { digest, data: doc, mediaType: 'application/vnd.oci.image.manifest.v1+json' })).status, 201);
  return { digest, layer: sha256(layer) };
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
  const sig = await pushReferrer(t, base, 'gc/app', kept.manifest, 'signature bytes');
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
  t.ok(left.has(sig.digest) && left.has(sig.layer), 'the referrer of a kept manifest stays');

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

/** GcJson is the part of `gc --json` these tests read. */
interface GcJson {
  manifestsDeleted: Array<{ repository: string; digest: string }>;
  blobsDeleted: Array<{ digest: string }>;
  releasedKept: number;
}

async function gcJson(t: Test, storage: string, ...args: string[]): Promise<GcJson> {
  const r = await runCli(['gc', '--storage', storage, '--json', ...args]);
  t.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as GcJson;
}

t.test('--delete-untagged frees a deleted tag at once, within the grace period: its index, children and referrers, not what others use', async (t) => {
  const reg = await startTestRegistry(t);
  const base = reg.url;
  const sharedLayer = [{ name: 'shared.txt', content: 'shared by both\n' }];
  const amd = makeImage({ architecture: 'amd64', layers: [sharedLayer, [{ name: 'a', content: 'amd64 only\n' }]] });
  const arm = makeImage({ architecture: 'arm64', layers: [[{ name: 'b', content: 'arm64 only\n' }]] });
  const other = makeImage({ layers: [sharedLayer] });
  await pushImage(base, 'rel/multi', amd.manifest.digest, amd);
  await pushImage(base, 'rel/multi', arm.manifest.digest, arm);
  const index = makeIndex([amd, arm]);
  t.equal((await putManifest(base, 'rel/multi', 'v1', index)).status, 201);
  await pushImage(base, 'rel/other', 'v1', other);
  // A signature of the index, pushed by digest before the tag is deleted: it goes with its subject.
  const sig = await pushReferrer(t, base, 'rel/multi', index, `signature ${Date.now()}`);

  const before = await blobDigests(reg.storage);
  t.equal((await fetch(`${base}/v2/rel/multi/manifests/v1`, { method: 'DELETE' })).status, 202);
  const report = await gcJson(t, reg.storage, '--delete-untagged', '--settle', '1');
  t.same(report.manifestsDeleted.map((m) => m.digest).sort(), [index.digest, amd.manifest.digest, arm.manifest.digest, sig.digest].sort());
  const left = await blobDigests(reg.storage);
  for (const b of [index, amd.manifest, amd.config, amd.layers[1]!, arm.manifest, arm.config, ...arm.layers, sig, { digest: sig.layer }]) {
    t.ok(before.has(b.digest) && !left.has(b.digest), `${b.digest.slice(0, 19)} went`);
  }
  t.ok(left.has(amd.layers[0]!.digest), 'the layer rel/other still uses stays');
  for (const b of [other.manifest, other.config]) t.ok(left.has(b.digest), `${b.digest.slice(0, 19)} stays`);
  t.equal((await fetch(`${base}/v2/rel/other/blobs/${amd.layers[0]!.digest}`)).status, 200);
  t.equal((await fetch(`${base}/v2/rel/other/manifests/v1`)).status, 200);
  // An image pushed by digest and never tagged may be an index's child on its way: the grace period keeps it.
  const loose = makeImage();
  await pushImage(base, 'rel/loose', loose.manifest.digest, loose);
  t.same((await gcJson(t, reg.storage, '--delete-untagged', '--settle', '0')).manifestsDeleted, []);
  t.equal((await fetch(`${base}/v2/rel/loose/manifests/${loose.manifest.digest}`)).status, 200, 'the untagged manifest pushed by digest stays');
  // Without --delete-untagged a deleted tag's manifest stays, as before.
  await pushImage(base, 'rel/other', 'v2', makeImage());
  t.equal((await fetch(`${base}/v2/rel/other/manifests/v2`, { method: 'DELETE' })).status, 202);
  t.same((await gcJson(t, reg.storage, '--settle', '0')).manifestsDeleted, []);
});

t.test('while a push is in flight, what a deleted tag released waits for the grace period; the push completes', async (t) => {
  const reg = await startTestRegistry(t);
  const base = reg.url;
  const sharedLayer = [{ name: 'shared.txt', content: `shared ${Date.now()}\n` }];
  const old = makeImage({ layers: [sharedLayer, [{ name: 'old', content: 'old\n' }]] });
  const next = makeImage({ layers: [sharedLayer, [{ name: 'new', content: 'new\n' }]] });
  // The next push asks for the shared layer first (HEAD: it exists, no upload), before the old
  // image's manifest lands; then streams its own layer slowly.
  for (const b of [old.config, ...old.layers]) t.equal((await uploadBlob(base, 'fly/app', b)).status, 201);
  t.equal((await fetch(`${base}/v2/fly/app/blobs/${next.layers[0]!.digest}`, { method: 'HEAD' })).status, 200);
  t.equal((await putManifest(base, 'fly/app', 'old', old.manifest)).status, 201);
  const own = next.layers[1]!;
  const post = await fetch(`${base}/v2/fly/app/blobs/uploads/`, { method: 'POST' });
  const loc = post.headers.get('location')!;
  t.equal((await fetch(`${base}${loc}`, { method: 'PATCH', body: new Uint8Array(own.data.subarray(0, 10)) })).status, 202);

  t.equal((await fetch(`${base}/v2/fly/app/manifests/old`, { method: 'DELETE' })).status, 202);
  const held = await gcJson(t, reg.storage, '--delete-untagged', '--settle', '1');
  t.same(held.blobsDeleted, [], 'nothing of the deleted tag goes while a push is in flight');
  t.same(held.manifestsDeleted, []);
  t.ok(held.releasedKept >= 3, `the released blobs are counted as kept (${held.releasedKept})`);

  // The push completes, naming the shared layer it never uploaded.
  t.equal((await fetch(`${base}${loc}?digest=${own.digest}`, { method: 'PUT', body: new Uint8Array(own.data.subarray(10)) })).status, 201);
  t.equal((await uploadBlob(base, 'fly/app', next.config)).status, 201);
  t.equal((await putManifest(base, 'fly/app', 'new', next.manifest)).status, 201, 'the push in flight lands');

  // Nothing in flight now: the deleted tag's content goes, the shared layer stays with the new image.
  const freed = await gcJson(t, reg.storage, '--delete-untagged', '--settle', '1');
  t.same(
    freed.manifestsDeleted.map((m) => m.digest),
    [old.manifest.digest],
  );
  t.same(freed.blobsDeleted.map((b) => b.digest).sort(), [old.manifest.digest, old.config.digest, old.layers[1]!.digest].sort());
  for (const b of [next.config, ...next.layers]) t.equal((await fetch(`${base}/v2/fly/app/blobs/${b.digest}`)).status, 200);
});
