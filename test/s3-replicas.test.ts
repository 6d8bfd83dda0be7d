// Two of our registry processes on one bucket (each with its own local state folder, as on two
// machines): each serves the other's pushes, and concurrent pushes of the same blob and the same
// tag through both lose nothing and corrupt nothing.
import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { startTestRegistry, type TestRegistry } from './helpers/registry.js';
import { tempDir } from './helpers/tmp.js';
import { waitFor } from './helpers/ports.js';
import { makeImage, putManifest, uploadBlob } from './helpers/images.js';
import { createBucket, missingRadosGw, startRadosGw } from './helpers/radosgw.js';

const skip = missingRadosGw();

async function replica(t: { teardown(fn: () => unknown): void }, env: Record<string, string>, storage: string): Promise<TestRegistry> {
  return startTestRegistry(t, { storage, env: { ...env, CONTAINER_REGISTRY_STATE_DIR: await tempDir(t, 'cr-replica-') } });
}

t.test('two replicas on one bucket', { skip }, async (t) => {
  const gw = await startRadosGw(t);
  await createBucket(gw.env, 'replicas');
  const storage = 's3://replicas/shared';
  const [a, b] = await Promise.all([replica(t, gw.env, storage), replica(t, gw.env, storage)]);

  t.test('the secret key is in neither argv nor the log', async (t) => {
    for (const reg of [a, b]) {
      const argv = readFileSync(`/proc/${reg.process.pid}/cmdline`, 'utf8');
      t.notOk(argv.includes(gw.env.AWS_SECRET_ACCESS_KEY!), 'not in argv');
      // The line comes just after the PID file the start waited for.
      await waitFor(async () => /serving http/.test(reg.output()), 10_000, 'the serving line');
      t.match(reg.output(), /serving http:\/\/127\.0\.0\.1:\d+ from s3:\/\/replicas\/shared \(local state /);
      t.notOk(reg.output().includes(gw.env.AWS_SECRET_ACCESS_KEY!), 'not in the log');
    }
  });

  t.test('each serves what the other pushed', async (t) => {
    const image = makeImage({ layers: [[{ name: 'a', content: 'pushed through a\n' }]] });
    for (const blob of [image.config, ...image.layers]) t.equal((await uploadBlob(a.url, 'team/app', blob)).status, 201);
    t.equal((await putManifest(a.url, 'team/app', 'v1', image.manifest)).status, 201);
    const m = await fetch(`${b.url}/v2/team/app/manifests/v1`, { headers: { Accept: image.manifest.mediaType } });
    t.equal(m.status, 200);
    t.equal(m.headers.get('docker-content-digest'), image.manifest.digest, 'b serves the tag a pushed');
    for (const blob of image.layers) {
      const body = Buffer.from(await (await fetch(`${b.url}/v2/team/app/blobs/${blob.digest}`)).arrayBuffer());
      t.ok(body.equals(blob.data), 'b serves the layer a pushed');
    }
  });

  t.test('the same blob through both at once, in chunks, and the same tag raced', async (t) => {
    const data = randomBytes(12 * 1024 * 1024 + 17);
    const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
    const chunked = async (reg: TestRegistry) => {
      const start = await fetch(`${reg.url}/v2/team/big/blobs/uploads/`, { method: 'POST' });
      let location = new URL(start.headers.get('location')!, reg.url);
      for (let at = 0; at < data.length; at += 4 * 1024 * 1024) {
        const end = Math.min(data.length, at + 4 * 1024 * 1024);
        const res = await fetch(location, {
          method: 'PATCH',
          headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${at}-${end - 1}` },
          body: new Uint8Array(data.subarray(at, end)),
        });
        if (res.status !== 202) throw new Error(`PATCH ${res.status} ${await res.text()}`);
        location = new URL(res.headers.get('location')!, reg.url);
      }
      location.searchParams.set('digest', digest);
      return (await fetch(location, { method: 'PUT' })).status;
    };
    t.same(await Promise.all([chunked(a), chunked(b), chunked(a), chunked(b)]), [201, 201, 201, 201], 'every upload of the same blob succeeds');
    for (const reg of [a, b]) {
      const body = Buffer.from(await (await fetch(`${reg.url}/v2/team/big/blobs/${digest}`)).arrayBuffer());
      t.ok(body.equals(data), 'the blob is whole on both replicas');
    }

    const images = Array.from({ length: 6 }, (_, i) => makeImage({ layers: [[{ name: 'n', content: `image ${i}\n` }]] }));
    await Promise.all(images.flatMap((img, i) => [img.config, ...img.layers].map((blob) => uploadBlob((i % 2 ? a : b).url, 'team/race', blob))));
    const statuses = await Promise.all(images.map(async (img, i) => (await putManifest((i % 2 ? a : b).url, 'team/race', 'latest', img.manifest)).status));
    t.same(
      statuses,
      images.map(() => 201),
      'every racing tag PUT succeeds',
    );
    const seen = await Promise.all(
      [a, b].map(async (reg) =>
        (await fetch(`${reg.url}/v2/team/race/manifests/latest`, { method: 'HEAD', headers: { Accept: images[0]!.manifest.mediaType } })).headers.get(
          'docker-content-digest',
        ),
      ),
    );
    t.equal(seen[0], seen[1], 'both replicas agree on the tag');
    t.ok(
      images.some((img) => img.manifest.digest === seen[0]),
      'the tag is one of the pushed manifests',
    );
    for (const img of images) {
      const m = await fetch(`${a.url}/v2/team/race/manifests/${img.manifest.digest}`, { headers: { Accept: img.manifest.mediaType } });
      t.equal(m.status, 200, 'every raced manifest is kept by digest');
    }
  });
});
