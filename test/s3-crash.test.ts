// Crash safety on S3: kill -9 while blobs (1-10 MiB in 1 MiB PATCHes, so some span several
// multipart parts) and small images are pushed to a registry on a real RADOS Gateway; then every
// blob object in the bucket must hash to the digest its key names, and after a restart every
// acknowledged blob and tag must be served.
import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { startTestRegistry } from './helpers/registry.js';
import { tempDir } from './helpers/tmp.js';
import { sha256 } from './helpers/images.js';
import { chunkedUpload, pushUntilKilled } from './helpers/crash-load.js';
import { createBucket, missingRadosGw, s3Client, startRadosGw } from './helpers/radosgw.js';

const skip = missingRadosGw();
const MiB = 1024 * 1024;

t.test('kill -9 during a push to S3, restart, every blob object matches its digest', { skip }, async (t) => {
  const gw = await startRadosGw(t);
  await createBucket(gw.env, 'crash');
  const storage = 's3://crash/reg';
  const env = { ...gw.env, CONTAINER_REGISTRY_STATE_DIR: await tempDir(t, 'cr-crash-state-') };
  const reg = await startTestRegistry(t, { storage, env });
  const blobs = Array.from({ length: 24 }, (_, i) => {
    const data = randomBytes(MiB + ((i * 7919) % 9) * MiB + i);
    return { data, digest: sha256(data) };
  });
  const { acknowledged, ackTags } = await pushUntilKilled({
    base: reg.url,
    blobs,
    blobRepo: () => 'crash/blobs',
    blobWorkers: 6,
    imageWorkers: 1,
    chunk: MiB,
    killAfterBlobs: 6,
    timeoutMs: 120_000,
    kill: () => reg.kill(),
  });
  t.ok(acknowledged.size >= 6, `${acknowledged.size} blobs committed before the kill`);
  t.ok(acknowledged.size < blobs.length, 'the kill came in the middle of the push');

  // Every blob object visible in the bucket is whole.
  const s3 = await import('@aws-sdk/client-s3');
  const client = await s3Client(gw.env);
  t.teardown(() => client.destroy());
  const prefix = 'reg/docker/registry/v2/blobs/';
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new s3.ListObjectsV2Command({ Bucket: 'crash', Prefix: prefix, ContinuationToken: token }));
    for (const c of page.Contents ?? []) if (c.Key?.endsWith('/data')) keys.push(c.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  let bad = 0;
  for (const key of keys) {
    const [alg, , hex] = key.slice(prefix.length).split('/');
    const body = await client.send(new s3.GetObjectCommand({ Bucket: 'crash', Key: key }));
    const hash = createHash(alg!);
    for await (const c of body.Body as AsyncIterable<Buffer>) hash.update(c);
    if (hash.digest('hex') !== hex) {
      bad++;
      t.fail(`corrupt blob object ${key}`);
    }
  }
  t.equal(bad, 0, `${keys.length} blob objects after the crash all hash to their digests`);

  const again = await startTestRegistry(t, { storage, env });
  for (const d of acknowledged) {
    const got = await fetch(`${again.url}/v2/crash/blobs/blobs/${d}`);
    const body = Buffer.from(await got.arrayBuffer());
    if (got.status !== 200 || sha256(body) !== d) t.fail(`acknowledged blob ${d} lost or corrupt`);
  }
  t.pass(`all ${acknowledged.size} acknowledged blobs are served whole after the restart`);
  for (const [tag, digest] of ackTags) {
    const head = await fetch(`${again.url}/v2/crash/images/manifests/${tag}`, {
      method: 'HEAD',
      headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    if (head.headers.get('docker-content-digest') !== digest) t.fail(`acknowledged tag ${tag} lost`);
  }
  t.pass(`all ${ackTags.size} acknowledged tags are served after the restart`);
  // And the registry takes a push again.
  const after = randomBytes(3 * MiB);
  t.equal(await chunkedUpload(again.url, 'crash/blobs', after, sha256(after), MiB), 201, 'a push after the restart');
});
