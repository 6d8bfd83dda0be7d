// The pull-through cache on S3 storage (Ceph's RADOS Gateway): blobs fetched from the upstream go
// through the driver's upload path (a multipart upload), records are objects beside distribution's
// keys, and a corrupt upstream leaves no object under the blob's key.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestRegistry } from './helpers/registry.js';
import { startDistribution } from './helpers/distribution.js';
import { startUpstreamProxy } from './helpers/upstream-proxy.js';
import { missingPeer } from './helpers/peers.js';
import { tempDir } from './helpers/tmp.js';
import { mustExec } from './helpers/exec.js';
import { makeImage, makeIndex, putManifest, sha256 } from './helpers/images.js';
import { uploadBlob } from './helpers/interop-images.js';
import { createBucket, missingRadosGw, s3Client, startRadosGw } from './helpers/radosgw.js';

const skip = missingRadosGw() || missingPeer('skopeo', 'docker-registry');

t.test('the cache on S3: multi-arch pull, a multipart blob fetched once, records as objects, nothing stored from a corrupt upstream', { skip }, async (t) => {
  const gateway = await startRadosGw(t);
  const bucket = 'cache-1';
  const prefix = 'team/registry';
  await createBucket(gateway.env, bucket);
  const state = await tempDir(t, 'cr-cache-s3-state-');

  const upstream = await startDistribution(t);
  const proxy = await startUpstreamProxy(t, Number(upstream.host.split(':')[1]));
  const UP = upstream.host.replace('127.0.0.1', 'localhost');
  const PREFIX = UP.replace(':', '-');
  const amd = makeImage({ architecture: 'amd64', layers: [[{ name: 'big.bin', content: randomBytes(14 * 1024 * 1024).toString('base64') }]] });
  const arm = makeImage({ architecture: 'arm64', variant: 'v8' });
  const index = makeIndex([amd, arm]);
  for (const img of [amd, arm]) {
    for (const b of [img.config, ...img.layers]) t.equal((await uploadBlob(upstream.url, 'multi/app', b)).status, 201);
    t.equal((await putManifest(upstream.url, 'multi/app', img.manifest.digest, img.manifest)).status, 201);
  }
  t.equal((await putManifest(upstream.url, 'multi/app', 'v1', index)).status, 201);
  const bad = makeImage({ layers: [[{ name: 'bad.bin', content: randomBytes(256 * 1024).toString('base64') }]] });
  for (const b of [bad.config, ...bad.layers]) await uploadBlob(upstream.url, 'multi/bad', b);
  await putManifest(upstream.url, 'multi/bad', 'v1', bad.manifest);

  await writeFile(join(state, 'config.toml'), '# no credentials: the upstream is open\n');
  const reg = await startTestRegistry(t, {
    storage: `s3://${bucket}/${prefix}`,
    env: { ...gateway.env, CONTAINER_REGISTRY_STATE_DIR: state },
    args: ['--mirror', `${UP}=http://${proxy.host}`],
  });

  const big = amd.layers[0]!;
  proxy.throttle(big.digest, 2);
  const [a, b] = await Promise.all(
    [0, 1].map(async () => {
      t.equal((await fetch(`${reg.url}/v2/${PREFIX}/multi/app/manifests/${amd.manifest.digest}`, { method: 'HEAD' })).status, 200);
      return Buffer.from(await (await fetch(`${reg.url}/v2/${PREFIX}/multi/app/blobs/${big.digest}`)).arrayBuffer());
    }),
  );
  t.equal(sha256(a!), big.digest, 'client one got the multipart-sized blob');
  t.equal(sha256(b!), big.digest, 'client two too');
  t.equal(proxy.blobGets(big.digest), 1, 'one upstream GET');

  const out = await tempDir(t, 'cr-cache-s3-out-');
  await mustExec('skopeo', ['copy', '--all', '--src-tls-verify=false', `docker://${reg.host}/${PREFIX}/multi/app:v1`, `oci:${out}:v1`]);
  t.equal(proxy.blobGets(big.digest), 1, 'the copy found it stored');

  const { GetObjectCommand, HeadObjectCommand } = await import('@aws-sdk/client-s3');
  const client = await s3Client(gateway.env);
  t.teardown(() => client.destroy());
  const recordKey = `${prefix}/cache/${PREFIX}/multi/app/sha256/${index.digest.slice(7)}.json`;
  const record = JSON.parse(await (await client.send(new GetObjectCommand({ Bucket: bucket, Key: recordKey }))).Body!.transformToString());
  t.match(record, { upstream: UP, repository: `${PREFIX}/multi/app`, digest: index.digest, tags: ['v1'] }, 'the record is an object beside the tree');
  const blobKey = (d: string) => `${prefix}/docker/registry/v2/blobs/sha256/${d.slice(7, 9)}/${d.slice(7)}/data`;
  const stored = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: blobKey(big.digest) }));
  t.equal(stored.ContentLength, big.data.length, 'the blob is stored in the bucket');

  proxy.corrupt(bad.layers[0]!.digest);
  t.equal((await fetch(`${reg.url}/v2/${PREFIX}/multi/bad/manifests/v1`, { method: 'HEAD' })).status, 200);
  const got = await fetch(`${reg.url}/v2/${PREFIX}/multi/bad/blobs/${bad.layers[0]!.digest}`)
    .then((r) => r.arrayBuffer())
    .then((x) => Buffer.from(x))
    .catch((err: Error) => err);
  t.ok(got instanceof Error || sha256(got) !== bad.layers[0]!.digest, 'the client does not get the corrupt blob as good');
  await t.rejects(client.send(new HeadObjectCommand({ Bucket: bucket, Key: blobKey(bad.layers[0]!.digest) })), 'no object under the corrupt blob’s digest');
});
