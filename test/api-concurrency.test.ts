// Concurrent uploads of one blob and concurrent pushes to one tag are safe.
import t from 'tap';
import { startTestRegistry } from './helpers/registry.js';
import { makeImage, pushImage, sha256, uploadBlob } from './helpers/images.js';

t.test('20 concurrent uploads of the same blob, and 20 pushes racing for one tag', async (t) => {
  const reg = await startTestRegistry(t);
  const data = Buffer.alloc(512 * 1024, 3);
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) => uploadBlob(reg.url, `race/r${i % 3}`, { digest: sha256(data), data })));
  t.same(
    results.map((r) => r.status),
    Array(20).fill(201),
  );
  const blob = await fetch(`${reg.url}/v2/race/r0/blobs/${sha256(data)}`);
  t.equal(sha256(Buffer.from(await blob.arrayBuffer())), sha256(data));

  const images = Array.from({ length: 20 }, () => makeImage());
  await Promise.all(images.map((img) => pushImage(reg.url, 'race/tag', 'latest', img)));
  const res = await fetch(`${reg.url}/v2/race/tag/manifests/latest`);
  t.equal(res.status, 200);
  const digest = res.headers.get('docker-content-digest');
  t.ok(
    images.some((i) => i.manifest.digest === digest),
    'the tag points at one of the pushed manifests, whole',
  );
  t.equal(sha256(Buffer.from(await res.arrayBuffer())), digest);
});
