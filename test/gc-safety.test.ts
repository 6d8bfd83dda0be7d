// gc never deletes what a client was told is stored, at any grace period, and an in-flight push
// never fails because gc ran: the real server takes pushes (single images and multi-arch indexes,
// whose children are untagged until the index lands) while `gc --grace 0 --delete-untagged` runs in
// a loop; afterwards every acknowledged push pulls with verified digests. Also the states a push
// passes through on disk, which gc must read as "in progress".
import t from 'tap';
import { mkdir, readdir, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli, startTestRegistry } from './helpers/registry.js';
import { makeImage, makeIndex, sha256, type Blob, type TestImage } from './helpers/images.js';

interface Pushed {
  repo: string;
  tag: string;
  manifest: Blob;
  blobs: Array<{ digest: string }>;
  children: TestImage[];
}

/** push sends one image or index and tells which request failed, if one did. */
async function push(base: string, repo: string, tag: string, images: TestImage[]): Promise<{ ok: true; pushed: Pushed } | { ok: false; what: string }> {
  for (const image of images) {
    for (const b of [image.config, ...image.layers]) {
      const r = await fetch(`${base}/v2/${repo}/blobs/uploads/?digest=${b.digest}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/octet-stream' },
        body: new Uint8Array(b.data),
      });
      await r.arrayBuffer();
      if (r.status !== 201) return { ok: false, what: `blob ${b.digest}: ${r.status}` };
    }
  }
  const put = async (reference: string, m: Blob) => {
    const r = await fetch(`${base}/v2/${repo}/manifests/${reference}`, {
      method: 'PUT',
      headers: { 'Content-Type': m.mediaType },
      body: new Uint8Array(m.data),
    });
    return `${r.status} ${r.status === 201 ? '' : await r.text()}`;
  };
  if (images.length === 1) {
    const s = await put(tag, images[0]!.manifest);
    if (!s.startsWith('201')) return { ok: false, what: `manifest: ${s}` };
    return { ok: true, pushed: { repo, tag, manifest: images[0]!.manifest, blobs: [images[0]!.config, ...images[0]!.layers], children: [] } };
  }
  // Children by digest (untagged until the index names them), then the index under the tag.
  for (const image of images) {
    const s = await put(image.manifest.digest, image.manifest);
    if (!s.startsWith('201')) return { ok: false, what: `child manifest: ${s}` };
  }
  const index = makeIndex(images);
  const s = await put(tag, index);
  if (!s.startsWith('201')) return { ok: false, what: `index: ${s}` };
  return { ok: true, pushed: { repo, tag, manifest: index, blobs: images.flatMap((i) => [i.config, ...i.layers, i.manifest]), children: images } };
}

// --settle 2: a push's requests follow each other within that even on a loaded CI machine.
t.test('gc --grace 0 --delete-untagged in a loop during 200 pushes: every acknowledged push pulls, digests verify', { timeout: 300_000 }, async (t) => {
  const reg = await startTestRegistry(t);
  const base = reg.url;
  let pushing = true;
  const gcRuns: Array<{
    code: number | null;
    report: { blobsDeleted: unknown[]; blobsRestored: number; manifestsRestored: number } | undefined;
    stderr: string;
  }> = [];
  const gcLoop = (async () => {
    while (pushing) {
      const r = await runCli(['gc', '--storage', reg.storage, '--grace', '0', '--delete-untagged', '--settle', '2', '--json'], { timeoutMs: 120_000 });
      gcRuns.push({ code: r.code, report: r.code === 0 ? JSON.parse(r.stdout) : undefined, stderr: r.stderr });
    }
  })();

  const acknowledged: Pushed[] = [];
  const failures: string[] = [];
  const total = 200;
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const i = next++;
      const repo = `gc/r${i % 5}`;
      // Every fourth push is a two-platform index; some images share a layer with others.
      const shared = [{ name: 'shared.txt', content: `shared ${i % 3}\n` }];
      const one = (architecture: string) => makeImage({ architecture, layers: [shared, [{ name: 'own.txt', content: `push ${i} ${architecture}\n` }]] });
      const images = i % 4 === 0 ? [one('amd64'), one('arm64')] : [one('amd64')];
      const r = await push(base, repo, `t${i}`, images);
      if (r.ok) acknowledged.push(r.pushed);
      else failures.push(`push ${i}: ${r.what}`);
    }
  };
  await Promise.all(Array.from({ length: 6 }, worker));
  pushing = false;
  await gcLoop;

  t.ok(gcRuns.length >= 2, `gc ran ${gcRuns.length} times during the pushes`);
  t.same(
    gcRuns.filter((g) => g.code !== 0).map((g) => g.stderr.slice(0, 300)),
    [],
    'every gc run succeeded',
  );
  const restored = gcRuns.reduce((n, g) => n + (g.report?.blobsRestored ?? 0) + (g.report?.manifestsRestored ?? 0), 0);
  t.comment(`gc runs: ${gcRuns.length}; content set aside then put back because a push used it: ${restored}`);
  t.same(failures, [], 'no push failed because gc ran');
  t.equal(acknowledged.length, total, 'every push was acknowledged');

  // A last gc after the pushes: everything is tagged now, so nothing of it may go.
  const last = await runCli(['gc', '--storage', reg.storage, '--grace', '0', '--delete-untagged', '--settle', '0', '--json']);
  t.equal(last.code, 0, last.stderr);

  let bad = 0;
  for (const p of acknowledged) {
    const m = await fetch(`${base}/v2/${p.repo}/manifests/${p.tag}`, { headers: { Accept: p.manifest.mediaType } });
    const body = Buffer.from(await m.arrayBuffer());
    if (m.status !== 200 || sha256(body) !== p.manifest.digest) {
      bad++;
      t.fail(`${p.repo}:${p.tag}: manifest ${m.status}`);
      continue;
    }
    for (const b of p.blobs) {
      const r = await fetch(`${base}/v2/${p.repo}/blobs/${b.digest}`);
      const data = Buffer.from(await r.arrayBuffer());
      if (r.status !== 200 || sha256(data) !== b.digest) {
        bad++;
        t.fail(`${p.repo}:${p.tag}: blob ${b.digest.slice(0, 19)} ${r.status}`);
      }
    }
    for (const c of p.children) {
      const r = await fetch(`${base}/v2/${p.repo}/manifests/${c.manifest.digest}`, { headers: { Accept: c.manifest.mediaType } });
      await r.arrayBuffer();
      if (r.status !== 200) {
        bad++;
        t.fail(`${p.repo}:${p.tag}: child ${c.manifest.digest.slice(0, 19)} ${r.status}`);
      }
    }
  }
  t.equal(bad, 0, `all ${acknowledged.length} acknowledged pushes pull whole, digests verified`);
  t.notMatch(reg.output(), /internal error|\[[0-9a-f]{8}-[0-9a-z]+\]/, 'the server logged no internal error');
});

t.test("gc reads a push in progress on disk as in progress, and clears a crash's leftovers", async (t) => {
  const reg = await startTestRegistry(t);
  const image = makeImage();
  for (const b of [image.config, ...image.layers]) {
    await fetch(`${reg.url}/v2/gc/wip/blobs/uploads/?digest=${b.digest}`, { method: 'POST', body: new Uint8Array(b.data) });
  }
  const v2 = join(reg.storage, 'docker/registry/v2');
  const repoDir = join(v2, 'repositories/gc/wip');
  // A manifest PUT between creating the revision folder and renaming its link in.
  const hex = image.manifest.digest.slice(7);
  const revision = join(repoDir, '_manifests/revisions/sha256', hex);
  await mkdir(revision, { recursive: true });
  const blobDir = join(v2, 'blobs/sha256', hex.slice(0, 2), hex);
  await mkdir(blobDir, { recursive: true });
  await writeFile(join(blobDir, 'data'), image.manifest.data);
  // A POST between making the upload folder and writing its files.
  const upload = join(repoDir, '_uploads', '0b0e2f3e-9f5a-4c1e-8d7c-1a2b3c4d5e6f');
  await mkdir(upload, { recursive: true });
  // Temp files of interrupted writes: one from a crash two hours ago, one being written now.
  const oldTmp = join(repoDir, '_manifests/tags', `.link.tmp-4242-${'a'.repeat(12)}`);
  const freshTmp = join(v2, `.gc-stats.json.tmp-4243-${'b'.repeat(12)}`);
  await mkdir(join(repoDir, '_manifests/tags'), { recursive: true });
  await writeFile(oldTmp, 'sha256:');
  await writeFile(freshTmp, '{');
  const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
  await utimes(oldTmp, twoHoursAgo, twoHoursAgo);

  const gc = await runCli(['gc', '--storage', reg.storage, '--grace', '0', '--delete-untagged', '--settle', '0', '--json']);
  t.equal(gc.code, 0, gc.stderr);
  const report = JSON.parse(gc.stdout) as { manifestsDeleted: unknown[]; uploadsDeleted: unknown[]; tempFilesDeleted: number };
  t.same(report.manifestsDeleted, [], 'the revision without its link yet is a PUT in progress');
  t.ok(
    await stat(revision).then(
      () => true,
      () => false,
    ),
    'its folder is still there',
  );
  t.same(report.uploadsDeleted, [], 'the upload folder without files yet is a POST in progress');
  t.ok(
    await stat(upload).then(
      () => true,
      () => false,
    ),
  );
  t.equal(report.tempFilesDeleted, 1, "the crash's temp file went");
  t.notOk(
    await stat(oldTmp).then(
      () => true,
      () => false,
    ),
  );
  t.ok(
    await stat(freshTmp).then(
      () => true,
      () => false,
    ),
    'the fresh one stays',
  );

  // The PUT completes: the image is whole and a later gc keeps it.
  const put = await fetch(`${reg.url}/v2/gc/wip/manifests/v1`, {
    method: 'PUT',
    headers: { 'Content-Type': image.manifest.mediaType },
    body: new Uint8Array(image.manifest.data),
  });
  t.equal(put.status, 201);
  const again = await runCli(['gc', '--storage', reg.storage, '--grace', '0', '--delete-untagged', '--settle', '0', '--json']);
  t.equal(again.code, 0, again.stderr);
  for (const b of [image.manifest, image.config, ...image.layers]) {
    t.equal((await fetch(`${reg.url}/v2/gc/wip/blobs/${b.digest}`)).status, 200, `${b.digest.slice(0, 19)} kept`);
  }
  t.ok(
    (await readdir(join(repoDir, '_manifests/revisions/sha256'))).every((n) => !n.startsWith('.gc-quarantine')),
    'no quarantine left behind',
  );
});

t.test('an untagged manifest set aside by gc comes back when an index names it', async (t) => {
  const reg = await startTestRegistry(t);
  const a = makeImage({ architecture: 'amd64' });
  const b = makeImage({ architecture: 'arm64' });
  for (const image of [a, b]) {
    for (const blob of [image.config, ...image.layers]) {
      await fetch(`${reg.url}/v2/gc/late/blobs/uploads/?digest=${blob.digest}`, { method: 'POST', body: new Uint8Array(blob.data) });
    }
    const r = await fetch(`${reg.url}/v2/gc/late/manifests/${image.manifest.digest}`, {
      method: 'PUT',
      headers: { 'Content-Type': image.manifest.mediaType },
      body: new Uint8Array(image.manifest.data),
    });
    t.equal(r.status, 201);
  }
  // gc sets the untagged children and their blobs aside, and waits 3 s before deleting.
  const gc = runCli(['gc', '--storage', reg.storage, '--grace', '0', '--delete-untagged', '--settle', '3', '--json']);
  const aside = join(reg.storage, 'docker/registry/v2/repositories/gc/late/_manifests/revisions/sha256', `.gc-quarantine-${a.manifest.digest.slice(7)}`);
  for (
    let i = 0;
    i < 100 &&
    !(await stat(aside).then(
      () => true,
      () => false,
    ));
    i++
  )
    await new Promise((r) => setTimeout(r, 20));
  t.ok(
    await stat(aside).then(
      () => true,
      () => false,
    ),
    'the child was set aside',
  );
  // The index arrives late: its PUT puts the children back, with their layers.
  const index = makeIndex([a, b]);
  const put = await fetch(`${reg.url}/v2/gc/late/manifests/multi`, {
    method: 'PUT',
    headers: { 'Content-Type': index.mediaType },
    body: new Uint8Array(index.data),
  });
  t.equal(put.status, 201, 'the index PUT is accepted');
  const report = JSON.parse((await gc).stdout) as { manifestsDeleted: unknown[]; blobsDeleted: unknown[]; manifestsRestored: number };
  t.same(report.manifestsDeleted, [], 'no manifest was deleted');
  t.same(report.blobsDeleted, [], 'no blob was deleted');
  t.ok(report.manifestsRestored >= 2, 'both children were restored');
  for (const image of [a, b]) {
    t.equal((await fetch(`${reg.url}/v2/gc/late/manifests/${image.manifest.digest}`)).status, 200);
    for (const blob of [image.config, ...image.layers]) t.equal((await fetch(`${reg.url}/v2/gc/late/blobs/${blob.digest}`)).status, 200);
  }
});

// The script's gc (`gc --delete-untagged`, default grace) frees deleted tags at once; pushes in
// flight meanwhile, slower than --settle between their blobs and their manifest and sharing layers
// with the deleted images, must still land whole.
t.test('gc --delete-untagged in a loop while tags are deleted and slow pushes share their layers: no push fails', { timeout: 180_000 }, async (t) => {
  const reg = await startTestRegistry(t);
  const base = reg.url;
  const sharedLayers = [0, 1].map((n) => [{ name: 'shared.txt', content: `shared ${n} ${Date.now()}\n` }]);
  const image = (i: number) => makeImage({ layers: [sharedLayers[i % 2]!, [{ name: 'own.txt', content: `push ${i}\n` }]] });
  let pushing = true;
  const gcRuns: Array<{ code: number | null; stderr: string; deleted: number }> = [];
  const gcLoop = (async () => {
    while (pushing) {
      const r = await runCli(['gc', '--storage', reg.storage, '--delete-untagged', '--settle', '1', '--json'], { timeoutMs: 60_000 });
      gcRuns.push({ code: r.code, stderr: r.stderr, deleted: r.code === 0 ? (JSON.parse(r.stdout) as { blobsDeleted: unknown[] }).blobsDeleted.length : 0 });
    }
  })();

  const failures: string[] = [];
  const kept: Array<{ tag: string; image: TestImage }> = [];
  const deleted: TestImage[] = [];
  const total = 24;
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const i = next++;
      const img = image(i);
      for (const b of [img.config, ...img.layers]) {
        const r = await fetch(`${base}/v2/slow/app/blobs/uploads/?digest=${b.digest}`, { method: 'POST', body: new Uint8Array(b.data) });
        await r.arrayBuffer();
        if (r.status !== 201) failures.push(`push ${i}: blob ${r.status}`);
      }
      // Longer than --settle between the last blob and the manifest, as a big layer in parallel would take.
      await new Promise((r) => setTimeout(r, 1500 + (i % 3) * 500));
      const put = await fetch(`${base}/v2/slow/app/manifests/t${i}`, {
        method: 'PUT',
        headers: { 'Content-Type': img.manifest.mediaType },
        body: new Uint8Array(img.manifest.data),
      });
      if (put.status !== 201) {
        failures.push(`push ${i}: manifest ${put.status} ${await put.text()}`);
        continue;
      }
      // Every other image is deleted right away, as a user cleaning up while others push.
      if (i % 2 === 0) {
        const del = await fetch(`${base}/v2/slow/app/manifests/t${i}`, { method: 'DELETE' });
        if (del.status !== 202) failures.push(`delete ${i}: ${del.status}`);
        deleted.push(img);
      } else kept.push({ tag: `t${i}`, image: img });
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  pushing = false;
  await gcLoop;
  t.same(failures, [], 'no push failed because gc ran');
  t.same(
    gcRuns.filter((g) => g.code !== 0).map((g) => g.stderr.slice(0, 300)),
    [],
    `every gc run succeeded (${gcRuns.length} runs)`,
  );
  for (const { tag, image: img } of kept) {
    const m = await fetch(`${base}/v2/slow/app/manifests/${tag}`, { headers: { Accept: img.manifest.mediaType } });
    t.equal(sha256(Buffer.from(await m.arrayBuffer())), img.manifest.digest, `${tag}: manifest`);
    for (const b of [img.config, ...img.layers]) {
      const r = await fetch(`${base}/v2/slow/app/blobs/${b.digest}`);
      t.equal(sha256(Buffer.from(await r.arrayBuffer())), b.digest, `${tag}: blob ${b.digest.slice(0, 19)}`);
    }
  }
  // Nothing in flight now: one more run frees every deleted image's own content.
  const last = await runCli(['gc', '--storage', reg.storage, '--delete-untagged', '--settle', '0', '--json']);
  t.equal(last.code, 0, last.stderr);
  for (const img of deleted) {
    for (const b of [img.manifest, img.config, img.layers[1]!]) {
      t.equal((await fetch(`${base}/v2/slow/app/blobs/${b.digest}`, { method: 'HEAD' })).status, 404, `deleted ${b.digest.slice(0, 19)} freed`);
    }
  }
});
