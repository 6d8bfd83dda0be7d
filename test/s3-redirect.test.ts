// Presigned redirects (docs/storage-s3.md "Redirects"): with `?redirect=true` in the s3:// storage
// URL a blob GET answers 307 to a presigned URL of the object on the gateway; skopeo and a plain
// GET follow it and get the right bytes (ranges too), HEAD is answered here, the URL stops working
// after redirect-expires, and neither the secret nor a presigned URL reaches the log.
import t from 'tap';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestRegistry } from './helpers/registry.js';
import { tempDir } from './helpers/tmp.js';
import { makeImage, pushImage, sha256 } from './helpers/images.js';
import { createBucket, missingRadosGw, startRadosGw } from './helpers/radosgw.js';
import { missingPeer } from './helpers/peers.js';
import { exec, fileDigest } from './helpers/exec.js';

const skip = missingRadosGw() || missingPeer('skopeo');

t.test('blob GETs redirect to presigned gateway URLs', { skip, timeout: 180_000 }, async (t) => {
  const gw = await startRadosGw(t);
  await createBucket(gw.env, 'redirects');
  const env = { ...gw.env, CONTAINER_REGISTRY_STATE_DIR: await tempDir(t, 'cr-redirect-state-') };
  const reg = await startTestRegistry(t, { storage: 's3://redirects/reg?redirect=true&redirect-expires=3', env });
  const image = makeImage({ layers: [[{ name: 'big.txt', content: 'redirected bytes\n'.repeat(50_000) }], [{ name: 'b.txt', content: 'second\n' }]] });
  await pushImage(reg.url, 'team/app', 'v1', image);
  const layer = image.layers[0]!;
  const blobUrl = `${reg.url}/v2/team/app/blobs/${layer.digest}`;

  const res = await fetch(blobUrl, { redirect: 'manual' });
  t.equal(res.status, 307, 'GET answers 307');
  t.equal(res.headers.get('docker-content-digest'), layer.digest);
  const location = res.headers.get('location') ?? '';
  t.ok(
    location.startsWith(`${gw.endpoint}/redirects/reg/docker/registry/v2/blobs/sha256/${layer.digest.slice(7, 9)}/${layer.digest.slice(7)}/data?`),
    'to the object on the gateway',
  );
  t.match(location, /X-Amz-Signature=[0-9a-f]{64}/);
  t.match(location, /X-Amz-Expires=3(&|$)/);
  t.notOk(location.includes(gw.env.AWS_SECRET_ACCESS_KEY!), 'the secret is not in the URL');

  const followed = await fetch(blobUrl);
  t.equal(followed.status, 200);
  t.equal(sha256(Buffer.from(await followed.arrayBuffer())), layer.digest, 'a plain GET following it gets the right bytes');
  const ranged = await fetch(blobUrl, { headers: { Range: 'bytes=10-99' } });
  t.equal(ranged.status, 206, 'a Range goes along');
  t.ok(Buffer.from(await ranged.arrayBuffer()).equals(layer.data.subarray(10, 100)), 'the right slice');

  const head = await fetch(blobUrl, { method: 'HEAD', redirect: 'manual' });
  t.equal(head.status, 200, 'HEAD is answered here');
  t.equal(head.headers.get('content-length'), String(layer.data.length));

  const out = join(await tempDir(t, 'cr-redirect-pull-'), 'app');
  await mkdir(out, { recursive: true });
  const pull = await exec('skopeo', ['copy', '--src-tls-verify=false', `docker://${reg.host}/team/app:v1`, `oci:${out}:v1`]);
  t.equal(pull.code, 0, pull.stderr);
  for (const b of [image.config, ...image.layers])
    t.equal(await fileDigest(join(out, 'blobs', 'sha256', b.digest.slice(7))), b.digest, `skopeo pulled ${b.digest.slice(0, 19)} whole`);

  await new Promise((r) => setTimeout(r, 4500));
  const late = await fetch(location);
  await late.arrayBuffer();
  t.equal(late.status, 403, 'the presigned URL has expired');

  const log = reg.output();
  t.notOk(log.includes(gw.env.AWS_SECRET_ACCESS_KEY!), 'the secret is not in the log');
  t.notOk(log.includes(gw.env.AWS_ACCESS_KEY_ID!), 'nor the access key id');
  t.notMatch(log, /X-Amz-Signature/, 'nor a presigned URL');
});
