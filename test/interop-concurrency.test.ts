// Concurrency against the real process: 100 pushes of distinct small images at once with zero
// errors, then every manifest fetchable; the same blob uploaded 20 times at once; 20 images
// pushed to the same tag at once.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { startTestRegistry } from './helpers/registry.js';
import { makeImage, pushImage, sha256, uploadBlob, type TestImage } from './helpers/images.js';

t.test('100 concurrent pushes of distinct small images', async (t) => {
  const reg = await startTestRegistry(t);
  const images: Array<{ repo: string; tag: string; image: TestImage }> = Array.from({ length: 100 }, (_, i) => ({
    repo: `load/app${i % 10}`,
    tag: `v${i}`,
    image: makeImage({ layers: [[{ name: 'a', content: randomBytes(16 * 1024) }], [{ name: 'b', content: `image ${i}\n` }]] }),
  }));
  const started = Date.now();
  const results = await Promise.allSettled(images.map((x) => pushImage(reg.url, x.repo, x.tag, x.image)));
  const errors = results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason));
  t.same(errors, [], `zero errors (100 pushes in ${Date.now() - started} ms)`);
  let fetched = 0;
  for (const x of images) {
    const res = await fetch(`${reg.url}/v2/${x.repo}/manifests/${x.tag}`, { headers: { Accept: x.image.manifest.mediaType } });
    const body = Buffer.from(await res.arrayBuffer());
    if (res.status === 200 && sha256(body) === x.image.manifest.digest) fetched++;
  }
  t.equal(fetched, 100, 'every manifest fetchable by tag, byte for byte');
  const catalog = (await (await fetch(`${reg.url}/v2/_catalog`)).json()) as { repositories: string[] };
  t.same(catalog.repositories, Array.from({ length: 10 }, (_, i) => `load/app${i}`).sort(), 'catalog lists the 10 repositories');
  t.notMatch(reg.output(), /Error|at .*\.mjs/, 'the server logged no internal error');
});

t.test('the same blob uploaded 20 times at once', async (t) => {
  const reg = await startTestRegistry(t);
  const data = randomBytes(2 * 1024 * 1024);
  const blob = { digest: sha256(data), data };
  const statuses = await Promise.all(Array.from({ length: 20 }, (_, i) => uploadBlob(reg.url, `same/r${i % 4}`, blob).then((r) => r.status)));
  t.same(statuses, Array(20).fill(201), 'all 20 uploads answered 201');
  for (let i = 0; i < 4; i++) {
    const res = await fetch(`${reg.url}/v2/same/r${i}/blobs/${blob.digest}`);
    t.equal(sha256(Buffer.from(await res.arrayBuffer())), blob.digest, `same/r${i} serves the blob whole`);
  }
});

t.test('20 images pushed to the same tag at once', async (t) => {
  const reg = await startTestRegistry(t);
  const images = Array.from({ length: 20 }, () => makeImage());
  const results = await Promise.allSettled(images.map((img) => pushImage(reg.url, 'race/app', 'latest', img)));
  t.same(
    results.filter((r) => r.status === 'rejected'),
    [],
    'every push succeeded',
  );
  const res = await fetch(`${reg.url}/v2/race/app/manifests/latest`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } });
  t.equal(res.status, 200);
  const digest = sha256(Buffer.from(await res.arrayBuffer()));
  t.equal(res.headers.get('docker-content-digest'), digest, 'tag serves a whole manifest under its digest');
  t.ok(
    images.some((img) => img.manifest.digest === digest),
    'the tag points at one of the pushed images',
  );
  for (const img of images) {
    const byDigest = await fetch(`${reg.url}/v2/race/app/manifests/${img.manifest.digest}`, { method: 'HEAD' });
    if (byDigest.status !== 200) t.fail(`manifest ${img.manifest.digest} lost`);
  }
  t.pass('all 20 manifests stay reachable by digest');
});
