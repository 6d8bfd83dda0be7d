// Storage compatibility with CNCF distribution's filesystem driver, both ways: what our server
// wrote, Debian's docker-registry serves; what docker-registry wrote, our server serves. skopeo
// pulls each time and the digests must be the ones pushed.
import t from 'tap';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestRegistry } from './helpers/registry.js';
import { startDistribution } from './helpers/distribution.js';
import { missingPeer } from './helpers/peers.js';
import { tempDir } from './helpers/tmp.js';
import { makeImage, putManifest, sha256 } from './helpers/images.js';
import { mustExec } from './helpers/exec.js';
import { checkServed, pushAll, uploadBlob } from './helpers/interop-images.js';

const skip = missingPeer('skopeo', 'docker-registry');

t.test('docker-registry serves storage written by ours', { skip }, async (t) => {
  const ours = await startTestRegistry(t);
  const pushed = await pushAll(t, ours.url, ours.host);
  await ours.stop();
  const dist = await startDistribution(t, { storage: ours.storage });
  await checkServed(t, dist.url, dist.host, pushed, false);
});

t.test('ours serves storage written by docker-registry', { skip }, async (t) => {
  const dist = await startDistribution(t);
  const pushed = await pushAll(t, dist.url, dist.host);
  await dist.stop();
  const ours = await startTestRegistry(t, { storage: dist.storage });
  await checkServed(t, ours.url, ours.host, pushed, true);
  // And ours can keep writing into it: a new tag, read back by docker-registry again.
  const res = await putManifest(ours.url, 'team/app', 'v2', pushed.app.manifest);
  t.equal(res.status, 201, 'tag v2 added by ours');
  await ours.stop();
  const again = await startDistribution(t, { storage: dist.storage });
  const tags = (await (await fetch(`${again.url}/v2/team/app/tags/list`)).json()) as { tags: string[] };
  t.same([...tags.tags].sort(), ['stable', 'v1', 'v2'], 'docker-registry sees the tag ours added');
});

t.test("a tag deleted on ours leaves an `untagged` stamp that docker-registry's gc and server ignore", { skip: missingPeer('docker-registry') }, async (t) => {
  const storage = await tempDir(t, 'cr-compat-untagged-');
  const ours = await startTestRegistry(t, { storage });
  const gone = makeImage();
  const kept = makeImage();
  for (const [tag, image] of [
    ['gone', gone],
    ['kept', kept],
  ] as const) {
    for (const b of [image.config, ...image.layers]) t.equal((await uploadBlob(ours.url, 'compat/app', b)).status, 201);
    t.equal((await putManifest(ours.url, 'compat/app', tag, image.manifest)).status, 201);
  }
  t.equal((await fetch(`${ours.url}/v2/compat/app/manifests/gone`, { method: 'DELETE' })).status, 202);
  await ours.stop();
  // distribution's offline gc, then its server, on the same folder.
  const config = join(storage, 'dist.yml');
  await writeFile(config, `version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: ${storage}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:1\n`);
  const gc = await mustExec('docker-registry', ['garbage-collect', '--delete-untagged', config]);
  t.match(gc.stdout, `manifest eligible for deletion: ${gone.manifest.digest}`);
  const dist = await startDistribution(t, { storage });
  const base = `http://${dist.host}`;
  t.equal((await fetch(`${base}/v2/compat/app/manifests/${gone.manifest.digest}`)).status, 404, 'the untagged manifest collected');
  const m = await fetch(`${base}/v2/compat/app/manifests/kept`, { headers: { Accept: kept.manifest.mediaType } });
  t.equal(sha256(Buffer.from(await m.arrayBuffer())), kept.manifest.digest);
  for (const b of [kept.config, ...kept.layers])
    t.equal(sha256(Buffer.from(await (await fetch(`${base}/v2/compat/app/blobs/${b.digest}`)).arrayBuffer())), b.digest);
});
