// skopeo against the real registry process: push, inspect, list-tags, pull back, delete, and a
// multi-arch index copied with --all. Every step compares digests, not just exit codes.
import t from 'tap';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestRegistry } from './helpers/registry.js';
import { missingPeer } from './helpers/peers.js';
import { tempDir } from './helpers/tmp.js';
import { makeImage, makeIndex, writeLayout, type Blob, type TestImage } from './helpers/images.js';
import { exec, fileDigest, mustExec } from './helpers/exec.js';

const skip = missingPeer('skopeo');

/** writeIndexLayout writes an OCI layout whose `ref` names an index over `images`. */
async function writeIndexLayout(dir: string, ref: string, images: TestImage[], index: Blob): Promise<void> {
  const blobs = join(dir, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  for (const image of images) {
    for (const b of [image.config, ...image.layers, image.manifest]) await writeFile(join(blobs, b.digest.slice(7)), b.data);
  }
  await writeFile(join(blobs, index.digest.slice(7)), index.data);
  await writeFile(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [{ mediaType: index.mediaType, digest: index.digest, size: index.data.length, annotations: { 'org.opencontainers.image.ref.name': ref } }],
    }),
  );
}

/** layoutRoot reads the digest index.json names for `ref`. */
async function layoutDigest(dir: string, ref: string): Promise<string> {
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as {
    manifests: Array<{ digest: string; annotations?: Record<string, string> }>;
  };
  const m = index.manifests.find((x) => x.annotations?.['org.opencontainers.image.ref.name'] === ref);
  if (!m) throw new Error(`no ${ref} in ${dir}/index.json`);
  return m.digest;
}

t.test('skopeo push, inspect, list-tags, pull, delete', { skip }, async (t) => {
  const reg = await startTestRegistry(t);
  const dir = await tempDir(t, 'cr-skopeo-');
  const image = makeImage({
    layers: [[{ name: 'etc/os-release', content: 'ID=poky\n' }], [{ name: 'usr/bin/app', content: 'binary', mode: 0o755 }]],
    labels: { 'org.opencontainers.image.title': 'interop', 'org.opencontainers.image.revision': 'abc123' },
  });
  const src = join(dir, 'src');
  await writeLayout(src, [
    { ref: 'v1', image },
    { ref: 'v2', image },
  ]);
  const ref = `docker://${reg.host}/yocto/app`;

  await mustExec('skopeo', ['copy', '--dest-tls-verify=false', `oci:${src}:v1`, `${ref}:v1`]);
  await mustExec('skopeo', ['copy', '--dest-tls-verify=false', `oci:${src}:v2`, `${ref}:v2`]);

  // The registry holds exactly the manifest we generated.
  const raw = await mustExec('skopeo', ['inspect', '--tls-verify=false', '--raw', `${ref}:v1`]);
  t.equal(raw.stdout, image.manifest.data.toString(), 'inspect --raw returns the pushed manifest byte for byte');

  const inspect = JSON.parse((await mustExec('skopeo', ['inspect', '--tls-verify=false', `${ref}:v1`])).stdout) as {
    Digest: string;
    Labels: Record<string, string>;
    Layers: string[];
    Architecture: string;
  };
  t.equal(inspect.Digest, image.manifest.digest, 'inspect Digest');
  t.same(inspect.Labels, { 'org.opencontainers.image.title': 'interop', 'org.opencontainers.image.revision': 'abc123' }, 'inspect Labels');
  t.same(
    inspect.Layers,
    image.layers.map((l) => l.digest),
    'inspect Layers',
  );
  t.equal(inspect.Architecture, 'amd64');

  const tags = JSON.parse((await mustExec('skopeo', ['list-tags', '--tls-verify=false', ref])).stdout) as { Tags: string[] };
  t.same(tags.Tags, ['v1', 'v2'], 'list-tags');

  // Pull back into a fresh layout: same manifest digest, every blob matches its digest.
  const out = join(dir, 'out');
  await mustExec('skopeo', ['copy', '--src-tls-verify=false', `${ref}:v1`, `oci:${out}:pulled`]);
  t.equal(await layoutDigest(out, 'pulled'), image.manifest.digest, 'pulled manifest digest equals pushed');
  for (const b of [image.config, ...image.layers, image.manifest]) {
    t.equal(await fileDigest(join(out, 'blobs', 'sha256', b.digest.slice(7))), b.digest, `pulled blob ${b.digest.slice(0, 19)} hashes to its digest`);
  }

  // skopeo delete removes the manifest (by digest), so both tags are gone.
  await mustExec('skopeo', ['delete', '--tls-verify=false', `${ref}:v1`]);
  const gone = await fetch(`${reg.url}/v2/yocto/app/manifests/${image.manifest.digest}`);
  t.equal(gone.status, 404, 'manifest by digest is 404 after delete');
  t.equal(((await gone.json()) as { errors: Array<{ code: string }> }).errors[0]?.code, 'MANIFEST_UNKNOWN');
  const after = await exec('skopeo', ['inspect', '--tls-verify=false', `${ref}:v1`]);
  t.not(after.code, 0, 'skopeo inspect fails after delete');
  t.match(after.stderr, /manifest unknown/i);
});

t.test('skopeo copy --all keeps a multi-arch index', { skip }, async (t) => {
  const reg = await startTestRegistry(t);
  const dir = await tempDir(t, 'cr-skopeo-ma-');
  const amd64 = makeImage({ architecture: 'amd64' });
  const arm64 = makeImage({ architecture: 'arm64', variant: 'v8' });
  const index = makeIndex([amd64, arm64]);
  const src = join(dir, 'src');
  await writeIndexLayout(src, 'multi', [amd64, arm64], index);
  const ref = `docker://${reg.host}/yocto/multi:latest`;

  await mustExec('skopeo', ['copy', '--all', '--dest-tls-verify=false', `oci:${src}:multi`, ref]);
  const head = await fetch(`${reg.url}/v2/yocto/multi/manifests/latest`, { method: 'HEAD', headers: { Accept: index.mediaType } });
  t.equal(head.headers.get('docker-content-digest'), index.digest, 'the registry serves the index under its digest');
  t.equal(head.headers.get('content-type'), index.mediaType);
  for (const child of [amd64, arm64]) {
    const res = await fetch(`${reg.url}/v2/yocto/multi/manifests/${child.manifest.digest}`);
    t.equal(res.status, 200, `child ${child.platform.architecture} is there`);
    t.equal(Buffer.from(await res.arrayBuffer()).toString(), child.manifest.data.toString());
  }

  const out = join(dir, 'out');
  await mustExec('skopeo', ['copy', '--all', '--src-tls-verify=false', ref, `oci:${out}:pulled`]);
  t.equal(await layoutDigest(out, 'pulled'), index.digest, 'pulled index digest equals pushed');
  for (const b of [index, amd64.manifest, arm64.manifest, amd64.config, arm64.config, ...amd64.layers, ...arm64.layers]) {
    t.equal(await fileDigest(join(out, 'blobs', 'sha256', b.digest.slice(7))), b.digest, `pulled ${b.digest.slice(0, 19)}`);
  }

  // Without --all, skopeo picks one platform from the index: it resolves through our index.
  const one = JSON.parse((await mustExec('skopeo', ['--override-arch', 'arm64', '--override-variant', 'v8', 'inspect', '--tls-verify=false', ref])).stdout) as {
    Digest: string;
    Architecture: string;
    Layers: string[];
  };
  t.equal(one.Digest, index.digest, 'inspect names the index digest the tag points at');
  t.equal(one.Architecture, 'arm64');
  t.same(
    one.Layers,
    arm64.layers.map((l) => l.digest),
    'platform selection reaches the arm64 child',
  );
});
