// The images the storage interop tests push through one registry and pull back through another
// (test/interop-storage.test.ts on a folder, test/s3-interop.test.ts on a bucket).
import type { Test } from 'tap';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from './tmp.js';
import { makeImage, makeIndex, putManifest, sha256, writeLayout, type TestImage } from './images.js';
import { fileDigest, mustExec } from './exec.js';

/** uploadBlob pushes a blob with POST then PUT ?digest= (distribution 2.8 ignores a single POST ?digest=). */
export async function uploadBlob(base: string, repo: string, blob: { digest: string; data: Buffer }): Promise<Response> {
  const start = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  if (start.status !== 202) return start;
  const location = new URL(start.headers.get('location') ?? '', base);
  location.searchParams.set('digest', blob.digest);
  return fetch(location, { method: 'PUT', headers: { 'Content-Type': 'application/octet-stream' }, body: new Uint8Array(blob.data) });
}

async function layoutDigest(dir: string, ref: string): Promise<string | undefined> {
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as {
    manifests: Array<{ digest: string; annotations?: Record<string, string> }>;
  };
  return index.manifests.find((x) => x.annotations?.['org.opencontainers.image.ref.name'] === ref)?.digest;
}

/** pushAll pushes two single images with skopeo and a two-platform index over HTTP. */
export async function pushAll(
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
export async function checkServed(t: Test, url: string, host: string, pushed: Awaited<ReturnType<typeof pushAll>>, sortedTags: boolean): Promise<void> {
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
