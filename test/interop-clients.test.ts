// podman, buildah and containerd (ctr) against the real registry process: each pulls an image
// pushed with skopeo and ends with the exact manifest and layer content; podman and buildah also
// push, and what they push is checked back through the API.
import t from 'tap';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestRegistry, type TestRegistry } from './helpers/registry.js';
import { isRoot, missingPeer } from './helpers/peers.js';
import { tempDir } from './helpers/tmp.js';
import { startContainerd } from './helpers/containerd.js';
import { makeImage, sha256, writeLayout, type TestImage } from './helpers/images.js';
import { exec, mustExec } from './helpers/exec.js';

const notRoot = isRoot() ? false : 'podman, buildah and containerd here need root (vfs storage, containerd snapshots)';

/** seed pushes a fresh image to `repo:v1` with skopeo and returns it. */
async function seed(t: { teardown(fn: () => unknown): void }, reg: TestRegistry, repo: string): Promise<TestImage> {
  const dir = await tempDir(t, 'cr-seed-');
  const image = makeImage({
    layers: [[{ name: 'hello.txt', content: `hello from ${repo}\n` }], [{ name: 'etc/motd', content: 'second layer\n' }]],
    labels: { 'org.opencontainers.image.title': repo },
  });
  await writeLayout(dir, [{ ref: 'v1', image }]);
  await mustExec('skopeo', ['copy', '--dest-tls-verify=false', `oci:${dir}:v1`, `docker://${reg.host}/${repo}:v1`]);
  return image;
}

/** manifestOf reads a manifest back through the API. */
async function manifestOf(
  reg: TestRegistry,
  repo: string,
  ref: string,
): Promise<{ digest: string | null; doc: { config: { digest: string }; layers: Array<{ digest: string }> } }> {
  const res = await fetch(`${reg.url}/v2/${repo}/manifests/${ref}`, {
    headers: { Accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' },
  });
  if (res.status !== 200) throw new Error(`GET manifest ${repo}:${ref}: ${res.status}`);
  return { digest: res.headers.get('docker-content-digest'), doc: (await res.json()) as never };
}

t.test('podman pulls, and pushes back', { skip: missingPeer('podman', 'skopeo') || notRoot }, async (t) => {
  const reg = await startTestRegistry(t);
  const image = await seed(t, reg, 'yocto/podman');
  const dir = await tempDir(t, 'cr-podman-');
  const podman = ['--root', join(dir, 'root'), '--runroot', join(dir, 'run'), '--storage-driver', 'vfs'];
  t.teardown(() => exec('podman', [...podman, 'image', 'unmount', '--all']));

  const pull = await mustExec('podman', [...podman, 'pull', '--tls-verify=false', `${reg.host}/yocto/podman:v1`]);
  t.equal(pull.stdout.trim(), image.config.digest.slice(7), 'podman prints the image id (config digest)');
  const [info] = JSON.parse((await mustExec('podman', [...podman, 'image', 'inspect', `${reg.host}/yocto/podman:v1`])).stdout) as Array<{
    Digest: string;
    Labels: Record<string, string>;
  }>;
  t.equal(info?.Digest, image.manifest.digest, 'podman records the manifest digest');
  t.equal(info?.Labels['org.opencontainers.image.title'], 'yocto/podman');
  const mnt = (await mustExec('podman', [...podman, 'image', 'mount', `${reg.host}/yocto/podman:v1`])).stdout.trim();
  t.equal(await readFile(join(mnt, 'hello.txt'), 'utf8'), 'hello from yocto/podman\n', 'layer content unpacked');
  t.equal(await readFile(join(mnt, 'etc/motd'), 'utf8'), 'second layer\n');

  await mustExec('podman', [...podman, 'push', '--tls-verify=false', `${reg.host}/yocto/podman:v1`, `docker://${reg.host}/yocto/podman-pushed:v1`]);
  const pushed = await manifestOf(reg, 'yocto/podman-pushed', 'v1');
  t.equal(pushed.doc.config.digest, image.config.digest, 'podman push keeps the config');
  t.equal(pushed.doc.layers.length, 2);
  const tags = (await (await fetch(`${reg.url}/v2/yocto/podman-pushed/tags/list`)).json()) as { tags: string[] };
  t.same(tags.tags, ['v1']);
});

t.test('buildah pulls, and pushes back', { skip: missingPeer('buildah', 'skopeo') || notRoot }, async (t) => {
  const reg = await startTestRegistry(t);
  const image = await seed(t, reg, 'yocto/buildah');
  const dir = await tempDir(t, 'cr-buildah-');
  const buildah = ['--root', join(dir, 'root'), '--runroot', join(dir, 'run'), '--storage-driver', 'vfs'];
  const pull = await mustExec('buildah', [...buildah, 'pull', '--tls-verify=false', `${reg.host}/yocto/buildah:v1`]);
  t.equal(pull.stdout.trim(), image.config.digest.slice(7), 'buildah prints the image id (config digest)');
  await mustExec('buildah', [...buildah, 'push', '--tls-verify=false', `${reg.host}/yocto/buildah:v1`, `docker://${reg.host}/yocto/buildah-pushed:v1`]);
  const pushed = await manifestOf(reg, 'yocto/buildah-pushed', 'v1');
  t.equal(pushed.doc.config.digest, image.config.digest, 'buildah push keeps the config');
  t.equal(pushed.doc.layers.length, 2, 'both layers pushed');
  for (const l of pushed.doc.layers) {
    const res = await fetch(`${reg.url}/v2/yocto/buildah-pushed/blobs/${l.digest}`);
    t.equal(sha256(Buffer.from(await res.arrayBuffer())), l.digest, `blob ${l.digest.slice(0, 19)} served intact`);
  }
});

t.test('ctr (containerd) pulls and unpacks', { skip: missingPeer('ctr', 'containerd', 'skopeo') || notRoot }, async (t) => {
  const reg = await startTestRegistry(t);
  const image = await seed(t, reg, 'yocto/ctr');
  const dir = await tempDir(t, 'cr-containerd-');
  const sock = await startContainerd(t, dir);
  const ctr = ['--address', sock];
  const ref = `${reg.host}/yocto/ctr:v1`;
  const pull = await mustExec('ctr', [...ctr, 'images', 'pull', '--plain-http', ref]);
  t.match(pull.stdout, /unpacking linux\/amd64/, 'ctr unpacked the image');
  const ls = (await mustExec('ctr', [...ctr, 'images', 'ls'])).stdout;
  const row = ls.split('\n').find((l) => l.startsWith(`${ref} `)) ?? '';
  t.match(row, image.manifest.digest, 'containerd records the manifest digest');
  for (const b of [image.manifest, image.config, ...image.layers]) {
    const got = await new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const child = spawn('ctr', [...ctr, 'content', 'get', b.digest], { stdio: ['ignore', 'pipe', 'inherit'] });
      child.stdout.on('data', (c: Buffer) => chunks.push(c));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve(Buffer.concat(chunks)) : reject(new Error(`ctr content get exited ${code}`))));
    });
    t.equal(sha256(got), b.digest, `containerd content ${b.digest.slice(0, 19)} matches`);
  }
});
