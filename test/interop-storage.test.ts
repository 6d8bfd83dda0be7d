// Storage compatibility with CNCF distribution's filesystem driver, both ways: what our server
// wrote, Debian's docker-registry serves; what docker-registry wrote, our server serves. skopeo
// pulls each time and the digests must be the ones pushed.
import t, { type Test } from 'tap';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestRegistry } from './helpers/registry.js';
import { startDistribution } from './helpers/distribution.js';
import { missingPeer } from './helpers/peers.js';
import { tempDir } from './helpers/tmp.js';
import { makeImage, makeIndex, putManifest, sha256, writeLayout, type TestImage } from './helpers/images.js';

/** uploadBlob pushes a blob with POST then PUT ?digest= (distribution 2.8 ignores a single POST ?digest=). */
async function uploadBlob(base: string, repo: string, blob: { digest: string; data: Buffer }): Promise<Response> {
  const start = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  if (start.status !== 202) return start;
  const location = new URL(start.headers.get('location') ?? '', base);
  location.searchParams.set('digest', blob.digest);
  return fetch(location, { method: 'PUT', headers: { 'Content-Type': 'application/octet-stream' }, body: new Uint8Array(blob.data) });
}
import { fileDigest, mustExec } from './helpers/exec.js';

const skip = missingPeer('skopeo', 'docker-registry');

async function layoutDigest(dir: string, ref: string): Promise<string | undefined> {
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as {
    manifests: Array<{ digest: string; annotations?: Record<string, string> }>;
  };
  return index.manifests.find((x) => x.annotations?.['org.opencontainers.image.ref.name'] === ref)?.digest;
}

/** pushAll pushes two single images with skopeo and a two-platform index over HTTP. */
async function pushAll(
  t: { teardown(fn: () => unknown): void },
  url: string,
  host: string,
): Promise<{ app: TestImage; tool: TestImage; index: ReturnType<typeof makeIndex>; arm: TestImage; amd: TestImage }> {
  const dir = await tempDir(t, 'cr-compat-src-');
  const app = makeImage({ layers: [[{ name: 'app', content: 'app v1\n' }], [{ name: 'data', content: 'x'.repeat(100_000) }]], labels: { a: '1' } });
  const tool = makeImage({ mediaTypes: 'docker' });
  await writeLayout(join(dir, 'app'), [{ ref: 'v1', image: app }]);
  await mustExec('skopeo', ['copy', '--dest-tls-verify=false', `oci:${join(dir, 'app')}:v1`, `docker://${host}/team/app:v1`]);
  await mustExec('skopeo', ['copy', '--dest-tls-verify=false', `docker://${host}/team/app:v1`, `docker://${host}/team/app:stable`, '--src-tls-verify=false']);
  // A Docker schema 2 image, pushed as it is (skopeo would convert an OCI layout).
  for (const b of [tool.config, ...tool.layers]) {
    const res = await uploadBlob(url, 'team/tool', b);
    if (res.status !== 201) throw new Error(`upload: ${res.status}`);
  }
  const tres = await putManifest(url, 'team/tool', 'latest', tool.manifest);
  if (tres.status !== 201) throw new Error(`tool manifest: ${tres.status} ${await tres.text()}`);
  const amd = makeImage({ architecture: 'amd64' });
  const arm = makeImage({ architecture: 'arm64', variant: 'v8' });
  const index = makeIndex([amd, arm]);
  for (const img of [amd, arm]) {
    for (const b of [img.config, ...img.layers]) {
      const res = await uploadBlob(url, 'team/multi', b);
      if (res.status !== 201) throw new Error(`upload: ${res.status}`);
    }
    const res = await putManifest(url, 'team/multi', img.manifest.digest, img.manifest);
    if (res.status !== 201) throw new Error(`child manifest: ${res.status} ${await res.text()}`);
  }
  const ires = await putManifest(url, 'team/multi', 'latest', index);
  if (ires.status !== 201) throw new Error(`index: ${ires.status} ${await ires.text()}`);
  return { app, tool, index, arm, amd };
}

/** checkServed pulls everything back from `host` and compares digests and listings. */
async function checkServed(t: Test, url: string, host: string, pushed: Awaited<ReturnType<typeof pushAll>>, sortedTags: boolean): Promise<void> {
  const dir = await tempDir(t, 'cr-compat-out-');
  const out = join(dir, 'app');
  await mustExec('skopeo', ['copy', '--src-tls-verify=false', `docker://${host}/team/app:stable`, `oci:${out}:pulled`]);
  t.equal(await layoutDigest(out, 'pulled'), pushed.app.manifest.digest, 'team/app:stable pulled with the pushed digest');
  for (const b of [pushed.app.config, ...pushed.app.layers]) {
    t.equal(await fileDigest(join(out, 'blobs', 'sha256', b.digest.slice(7))), b.digest, `blob ${b.digest.slice(0, 19)} intact`);
  }
  const tool = await fetch(`${url}/v2/team/tool/manifests/latest`, { headers: { Accept: pushed.tool.manifest.mediaType } });
  t.equal(tool.status, 200);
  t.equal(tool.headers.get('content-type'), pushed.tool.manifest.mediaType, 'Docker schema 2 media type kept');
  t.equal(sha256(Buffer.from(await tool.arrayBuffer())), pushed.tool.manifest.digest, 'Docker manifest byte for byte');

  const multi = join(dir, 'multi');
  await mustExec('skopeo', ['copy', '--all', '--src-tls-verify=false', `docker://${host}/team/multi:latest`, `oci:${multi}:pulled`]);
  t.equal(await layoutDigest(multi, 'pulled'), pushed.index.digest, 'index pulled with --all keeps its digest');
  for (const b of [pushed.amd.manifest, pushed.arm.manifest, ...pushed.arm.layers]) {
    t.equal(await fileDigest(join(multi, 'blobs', 'sha256', b.digest.slice(7))), b.digest, `index child ${b.digest.slice(0, 19)} intact`);
  }

  const tags = (await (await fetch(`${url}/v2/team/app/tags/list`)).json()) as { name: string; tags: string[] };
  // distribution 2.8 lists tags in directory order; ours sorts them, as the spec asks.
  t.same({ ...tags, tags: sortedTags ? tags.tags : [...tags.tags].sort() }, { name: 'team/app', tags: ['stable', 'v1'] }, 'tags/list');
  const catalog = (await (await fetch(`${url}/v2/_catalog`)).json()) as { repositories: string[] };
  t.same(catalog.repositories, ['team/app', 'team/multi', 'team/tool'], '_catalog');
  const paged = await fetch(`${url}/v2/_catalog?n=1`);
  t.same(((await paged.json()) as { repositories: string[] }).repositories, ['team/app'], '_catalog?n=1');
  t.match(paged.headers.get('link') ?? '', /last=team%2Fapp|last=team\/app/, 'Link to the next page');
}

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
