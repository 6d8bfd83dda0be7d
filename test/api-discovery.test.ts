// Content discovery and management against the real server process: tags, catalog, referrers,
// deletes.
import t from 'tap';
import { startTestRegistry } from './helpers/registry.js';
import { makeImage, makeIndex, pushImage, putManifest, sha256, uploadBlob } from './helpers/images.js';

const reg = await startTestRegistry(t);
const base = reg.url;

async function errorCode(res: Response): Promise<string | undefined> {
  return ((await res.json()) as { errors?: Array<{ code: string }> }).errors?.[0]?.code;
}

t.test('tags/list is sorted and paginates with n, last and Link', async (t) => {
  const r = 'disc/tags';
  const image = makeImage();
  const tags = ['v2', 'latest', 'v10', 'a', 'B', '1.0'];
  for (const tag of tags) await pushImage(base, r, tag, image);
  const all = (await (await fetch(`${base}/v2/${r}/tags/list`)).json()) as { name: string; tags: string[] };
  t.same(all, { name: r, tags: ['1.0', 'B', 'a', 'latest', 'v10', 'v2'] }, 'lexical (code unit) order');
  const p1 = await fetch(`${base}/v2/${r}/tags/list?n=2`);
  t.same(((await p1.json()) as { tags: string[] }).tags, ['1.0', 'B']);
  t.equal(p1.headers.get('link'), `</v2/${r}/tags/list?n=2&last=B>; rel="next"`);
  const p2 = await fetch(`${base}/v2/${r}/tags/list?n=2&last=B`);
  t.same(((await p2.json()) as { tags: string[] }).tags, ['a', 'latest']);
  const p3 = await fetch(`${base}/v2/${r}/tags/list?n=10&last=latest`);
  t.same(((await p3.json()) as { tags: string[] }).tags, ['v10', 'v2']);
  t.equal(p3.headers.get('link'), null, 'no Link on the last page');
  const zero = await fetch(`${base}/v2/${r}/tags/list?n=0`);
  t.same(((await zero.json()) as { tags: string[] }).tags, []);
  const bad = await fetch(`${base}/v2/${r}/tags/list?n=-1`);
  t.equal(bad.status, 400);
  t.equal(await errorCode(bad), 'PAGINATION_NUMBER_INVALID');
  const unknown = await fetch(`${base}/v2/disc/never-pushed/tags/list`);
  t.equal(unknown.status, 404);
  t.equal(await errorCode(unknown), 'NAME_UNKNOWN');
});

t.test('_catalog lists repositories sorted, with pagination', async (t) => {
  const image = makeImage();
  for (const r of ['cat/zeta', 'cat/alpha', 'cat/mid/deep']) await pushImage(base, r, 'x', image);
  const all = (await (await fetch(`${base}/v2/_catalog`)).json()) as { repositories: string[] };
  const ours = all.repositories.filter((r) => r.startsWith('cat/'));
  t.same(ours, ['cat/alpha', 'cat/mid/deep', 'cat/zeta']);
  const page = await fetch(`${base}/v2/_catalog?n=1&last=cat/alpha`);
  t.same(((await page.json()) as { repositories: string[] }).repositories, ['cat/mid/deep']);
  t.match(page.headers.get('link'), /^<\/v2\/_catalog\?n=1&last=cat%2Fmid%2Fdeep>; rel="next"$/);
});

t.test('DELETE of a tag removes only that tag; DELETE by digest removes the manifest', async (t) => {
  const r = 'disc/delete';
  const image = makeImage();
  await pushImage(base, r, '20260112-143022', image);
  await pushImage(base, r, 'latest', image);
  const del = await fetch(`${base}/v2/${r}/manifests/20260112-143022`, { method: 'DELETE' });
  t.equal(del.status, 202);
  t.equal((await fetch(`${base}/v2/${r}/manifests/20260112-143022`)).status, 404);
  const latest = await fetch(`${base}/v2/${r}/manifests/latest`);
  t.equal(latest.status, 200, 'latest survives the deletion of a tag on the same digest');
  t.equal(latest.headers.get('docker-content-digest'), image.manifest.digest);
  const byDigest = await fetch(`${base}/v2/${r}/manifests/${image.manifest.digest}`, { method: 'DELETE' });
  t.equal(byDigest.status, 202);
  t.equal((await fetch(`${base}/v2/${r}/manifests/${image.manifest.digest}`)).status, 404);
  t.equal((await fetch(`${base}/v2/${r}/manifests/latest`)).status, 404, 'a tag on a deleted manifest is gone');
  const again = await fetch(`${base}/v2/${r}/manifests/${image.manifest.digest}`, { method: 'DELETE' });
  t.equal(again.status, 404);
  t.equal(await errorCode(again), 'MANIFEST_UNKNOWN');
});

t.test('referrers: artifacts with a subject are listed, filtered by artifactType', async (t) => {
  const r = 'disc/referrers';
  const image = makeImage();
  await pushImage(base, r, 'app', image);
  const empty = { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256('{}'), size: 2, data: Buffer.from('{}') };
  await uploadBlob(base, r, { digest: empty.digest, data: empty.data });
  const subject = { mediaType: image.manifest.mediaType, digest: image.manifest.digest, size: image.manifest.data.length };
  const makeArtifact = (artifactType: string, text: string) => {
    const layer = Buffer.from(text);
    const doc = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType,
      config: { mediaType: empty.mediaType, digest: empty.digest, size: 2, data: 'e30=' },
      layers: [{ mediaType: 'application/json', digest: sha256(layer), size: layer.length }],
      subject,
      annotations: { 'org.example.kind': artifactType },
    };
    const data = Buffer.from(JSON.stringify(doc));
    return { layer, manifest: { digest: sha256(data), data, mediaType: doc.mediaType } };
  };
  const sbom = makeArtifact('application/spdx+json', '{"spdx":true}');
  const sig = makeArtifact('application/vnd.dev.cosign.signature', 'signature');
  for (const a of [sbom, sig]) {
    await uploadBlob(base, r, { digest: sha256(a.layer), data: a.layer });
    const put = await putManifest(base, r, a.manifest.digest, a.manifest);
    t.equal(put.status, 201);
    t.equal(put.headers.get('oci-subject'), image.manifest.digest, 'OCI-Subject on PUT');
  }
  const res = await fetch(`${base}/v2/${r}/referrers/${image.manifest.digest}`);
  t.equal(res.status, 200);
  t.equal(res.headers.get('content-type'), 'application/vnd.oci.image.index.v1+json');
  const index = (await res.json()) as { manifests: Array<{ digest: string; artifactType: string; annotations: Record<string, string> }> };
  t.same(index.manifests.map((m) => m.digest).sort(), [sbom.manifest.digest, sig.manifest.digest].sort());
  t.same(index.manifests.map((m) => m.artifactType).sort(), ['application/spdx+json', 'application/vnd.dev.cosign.signature']);
  const filtered = await fetch(`${base}/v2/${r}/referrers/${image.manifest.digest}?artifactType=application/spdx%2Bjson`);
  t.equal(filtered.headers.get('oci-filters-applied'), 'artifactType');
  const fi = (await filtered.json()) as { manifests: Array<{ digest: string }> };
  t.same(
    fi.manifests.map((m) => m.digest),
    [sbom.manifest.digest],
  );
  const none = await fetch(`${base}/v2/${r}/referrers/${sha256('nothing refers to this')}`);
  t.equal(none.status, 200);
  t.same(((await none.json()) as { manifests: unknown[] }).manifests, [], 'an unknown subject has an empty list');
  const bad = await fetch(`${base}/v2/${r}/referrers/sha256:nope`);
  t.equal(bad.status, 400);
  t.equal(await errorCode(bad), 'DIGEST_INVALID');
});

t.test('a referrer may be pushed before its subject exists', async (t) => {
  const r = 'disc/early-referrer';
  const layer = Buffer.from('early');
  await uploadBlob(base, r, { digest: sha256(layer), data: layer });
  await uploadBlob(base, r, { digest: sha256('{}'), data: Buffer.from('{}') });
  const doc = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    artifactType: 'application/example',
    config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256('{}'), size: 2 },
    layers: [{ mediaType: 'application/octet-stream', digest: sha256(layer), size: layer.length }],
    subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256('future subject'), size: 10 },
  };
  const data = Buffer.from(JSON.stringify(doc));
  const put = await putManifest(base, r, sha256(data), { digest: sha256(data), data, mediaType: doc.mediaType });
  t.equal(put.status, 201);
  const list = (await (await fetch(`${base}/v2/${r}/referrers/${sha256('future subject')}`)).json()) as { manifests: Array<{ digest: string }> };
  t.same(
    list.manifests.map((m) => m.digest),
    [sha256(data)],
  );
});

t.test('an index whose children are present is accepted, and its children stay fetchable', async (t) => {
  const r = 'disc/index';
  const a = makeImage({ architecture: 'amd64' });
  const b = makeImage({ architecture: 'arm', variant: 'v7' });
  await pushImage(base, r, a.manifest.digest, a);
  await pushImage(base, r, b.manifest.digest, b);
  const index = makeIndex([a, b]);
  t.equal((await putManifest(base, r, 'multi', index)).status, 201);
  const got = (await (await fetch(`${base}/v2/${r}/manifests/multi`)).json()) as { manifests: Array<{ platform: { architecture: string } }> };
  t.same(
    got.manifests.map((m) => m.platform.architecture),
    ['amd64', 'arm'],
  );
});
