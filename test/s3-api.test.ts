// The conformance suites written for the filesystem registry (test/api-*.test.ts) and the 100
// concurrent pushes (interop-concurrency), run again with every registry on S3: one real RADOS
// Gateway for the whole file, a fresh bucket per registry (helpers/registry.ts OBJECT_STORE_ENV).
// The skopeo round trip on S3 is s3-interop's (interop-skopeo again here cost CI a minute).
import t from 'tap';
import { missingRadosGw, s3Client, startRadosGw } from './helpers/radosgw.js';
import { OBJECT_STORE_ENV } from './helpers/registry.js';

const skip = missingRadosGw();
if (skip) {
  t.plan(0, `the api suites on S3: ${skip}`);
} else {
  const gw = await startRadosGw(t);
  process.env[OBJECT_STORE_ENV] = JSON.stringify(gw.env);
  await import('./api-push-pull.test.js');
  await import('./api-discovery.test.js');
  await import('./api-concurrency.test.js');
  // 100 concurrent pushes
  await import('./interop-concurrency.test.js');

  t.test('the registries kept their data in buckets, under distribution S3 keys', async (t) => {
    const s3 = await import('@aws-sdk/client-s3');
    const client = await s3Client(gw.env);
    t.teardown(() => client.destroy());
    const buckets = (await client.send(new s3.ListBucketsCommand({}))).Buckets ?? [];
    t.ok(buckets.length >= 3, `${buckets.length} buckets, one per registry the suites started`);
    let blobs = 0;
    for (const b of buckets) {
      const out = await client.send(new s3.ListObjectsV2Command({ Bucket: b.Name!, Prefix: 'registry/docker/registry/v2/blobs/sha256/' }));
      blobs += out.KeyCount ?? 0;
    }
    t.ok(blobs > 10, `${blobs} blob keys under registry/docker/registry/v2/blobs/`);
  });
}
