// Reading OCI layouts: folders, archives (ours and GNU tar's), nested indexes, Docker schema 2
// content, umoci-built layouts; and the label rewrite.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { OciLayout } from '../tools/src/layout/layout.js';
import { withLabels } from '../tools/src/layout/labels.js';
import { indexTar } from '../tools/src/layout/tar.js';
import { digestOf } from '../tools/src/oci/digest.js';
import { makeImage, writeLayout, sha256, tarOf } from './helpers/images.js';
import { archiveOf, writeIndexLayout } from './helpers/deploy.js';
import { tempDir } from './helpers/tmp.js';
import { missingPeer, which } from './helpers/peers.js';

async function bytes(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

t.test('a layout folder: one image, blobs streamed from disk', async (t) => {
  const dir = await tempDir(t);
  const image = makeImage({ architecture: 'arm64', labels: { a: 'b' } });
  await writeLayout(dir, [{ ref: 'latest', image }]);
  const layout = await OciLayout.open(dir);
  const [img, ...rest] = await layout.images();
  t.equal(rest.length, 0);
  t.equal(img!.manifestDigest, image.manifest.digest);
  t.same(img!.platform, { os: 'linux', architecture: 'arm64' });
  t.equal(img!.layers.length, 1);
  t.same(await bytes(img!.blob(img!.layers[0]!).open()), image.layers[0]!.data);
  t.same(await bytes(img!.blob(img!.config).open()), image.config.data);
  await t.rejects(layout.images('nope'), { message: /no image named "nope" \(it has: latest\)/ });
});

t.test('several named images: latest, or the one named; ambiguity is an error', async (t) => {
  const dir = await tempDir(t);
  const a = makeImage();
  const b = makeImage();
  await writeLayout(dir, [
    { ref: 'v1', image: a },
    { ref: 'v2', image: b },
  ]);
  const layout = await OciLayout.open(dir);
  await t.rejects(layout.images(), { message: /holds 2 images; name one \(v1, v2\)/ });
  t.equal((await layout.images('v2'))[0]!.manifestDigest, b.manifest.digest);
});

t.test('one image under several names (OCI_IMAGE_TAG and latest) is one image', async (t) => {
  const dir = await tempDir(t);
  const image = makeImage();
  await writeLayout(dir, [
    { ref: 'v1.0', image },
    { ref: 'stable', image },
  ]);
  const images = await (await OciLayout.open(dir)).images();
  t.equal(images.length, 1);
  t.equal(images[0]!.manifestDigest, image.manifest.digest);
});

t.test('a nested index gives every platform; the archive of it reads the same without extracting', async (t) => {
  const dir = await tempDir(t);
  const images = [makeImage({ architecture: 'amd64' }), makeImage({ architecture: 'arm', variant: 'v7' }), makeImage({ architecture: 'arm64' })];
  await writeIndexLayout(join(dir, 'L'), images);
  const fromDir = await (await OciLayout.open(join(dir, 'L'))).images();
  t.same(
    fromDir.map((i) => i.manifestDigest),
    images.map((i) => i.manifest.digest),
  );
  t.same(
    fromDir.map((i) => i.platform.variant ?? ''),
    ['', 'v7', ''],
  );
  await archiveOf(join(dir, 'L'), join(dir, 'L.tar'));
  const fromTar = await (await OciLayout.open(join(dir, 'L.tar'))).images();
  t.same(
    fromTar.map((i) => i.manifestDigest),
    fromDir.map((i) => i.manifestDigest),
  );
  t.same(await bytes(fromTar[1]!.blob(fromTar[1]!.layers[0]!).open()), images[1]!.layers[0]!.data, 'a layer is a byte range of the archive');
});

t.test('GNU tar archives (./ prefixes, long names) are read too', { skip: which('tar') ? false : 'needs tar' }, async (t) => {
  const dir = await tempDir(t);
  const image = makeImage();
  await writeLayout(join(dir, 'L'), [{ ref: 'latest', image }]);
  // a member name longer than 100 characters takes GNU's long-name record
  const long = `${'d'.repeat(60)}/${'f'.repeat(80)}`;
  execFileSync('mkdir', ['-p', join(dir, 'L', 'd'.repeat(60))]);
  await writeFile(join(dir, 'L', long), 'long');
  execFileSync('tar', ['-cf', join(dir, 'L.tar'), '-C', join(dir, 'L'), '.']);
  const members = await indexTar(join(dir, 'L.tar'));
  t.ok(members.has('index.json'));
  t.equal(members.get(long)?.size, 4, 'long name resolved');
  const [img] = await (await OciLayout.open(join(dir, 'L.tar'))).images();
  t.equal(img!.manifestDigest, image.manifest.digest);
  t.same(await bytes(img!.blob(img!.layers[0]!).open()), image.layers[0]!.data);
});

t.test('Docker schema 2 content inside a layout', async (t) => {
  const dir = await tempDir(t);
  const image = makeImage({ mediaTypes: 'docker', architecture: 'x86_64' });
  await writeLayout(dir, [{ ref: 'latest', image }]);
  const [img] = await (await OciLayout.open(dir)).images();
  t.equal(img!.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
  t.equal(img!.platform.architecture, 'amd64', 'x86_64 normalized');
});

t.test('broken layouts fail with the layout named', async (t) => {
  const dir = await tempDir(t);
  await t.rejects(OciLayout.open(join(dir, 'none')), { code: 'layout', message: /cannot open/ });
  await writeFile(join(dir, 'index.json'), '{nope');
  await t.rejects(OciLayout.open(dir), { code: 'layout', message: /not an OCI image layout/ });
  const image = makeImage();
  await writeLayout(dir, [{ ref: 'latest', image }]);
  await writeFile(join(dir, 'blobs', 'sha256', image.config.digest.slice(7)), 'tampered');
  await t.rejects((await OciLayout.open(dir)).images(), { code: 'layout', message: /does not match its digest/ });
  const tar = join(dir, 'x.tar');
  await writeFile(tar, tarOf([{ name: 'oci-layout', content: '{}' }]));
  await t.rejects(OciLayout.open(tar), { code: 'layout', message: /index.json is missing/ });
});

t.test('labels: new config and manifest digests, layers untouched; no change keeps the bytes', async (t) => {
  const dir = await tempDir(t);
  const image = makeImage({ labels: { keep: 'me' } });
  await writeLayout(dir, [{ ref: 'latest', image }]);
  const [img] = await (await OciLayout.open(dir)).images();
  const same = withLabels(img!, { keep: 'me' });
  t.equal(same.manifestDigest, img!.manifestDigest, 'a label already set changes nothing');
  const labelled = withLabels(img!, { 'org.opencontainers.image.version': '1.2.3', keep: 'me' });
  t.not(labelled.config.digest, img!.config.digest);
  t.not(labelled.manifestDigest, img!.manifestDigest);
  t.same(labelled.layers, img!.layers, 'layers untouched');
  t.equal(labelled.manifestDigest, digestOf(labelled.manifest));
  t.equal(labelled.config.digest, digestOf(labelled.configBody));
  const cfg = JSON.parse(labelled.configBody.toString()) as { config: { Labels: Record<string, string> }; rootfs: unknown };
  t.same(cfg.config.Labels, { keep: 'me', 'org.opencontainers.image.version': '1.2.3' });
  t.same(cfg.rootfs, JSON.parse(image.config.data.toString()).rootfs);
  t.equal(sha256(await bytes(labelled.blob(labelled.config).open())), labelled.config.digest);
  const m = JSON.parse(labelled.manifest.toString()) as { config: { digest: string; size: number } };
  t.equal(m.config.digest, labelled.config.digest);
  t.equal(m.config.size, labelled.configBody.length);
});

t.test('umoci-built layouts', { skip: missingPeer('umoci') }, async (t) => {
  const dir = await tempDir(t);
  const L = join(dir, 'L');
  const run = (...args: string[]) => execFileSync('umoci', args, { cwd: dir, stdio: 'pipe' });
  run('init', '--layout', L);
  run('new', '--image', `${L}:latest`);
  await writeFile(join(dir, 'hello.txt'), 'hello from umoci\n');
  run('insert', '--rootless', '--image', `${L}:latest`, join(dir, 'hello.txt'), '/hello.txt');
  run('config', '--image', `${L}:latest`, '--config.label', 'built.by=umoci', '--architecture', 'arm64');
  const [img] = await (await OciLayout.open(L)).images();
  t.equal(img!.platform.architecture, 'arm64');
  t.equal(img!.layers.length, 1);
  const cfg = JSON.parse(img!.configBody.toString()) as { config: { Labels: Record<string, string> } };
  t.equal(cfg.config.Labels['built.by'], 'umoci');
  t.match(await text(img!.blob(img!.layers[0]!).open()).catch(() => ''), /.*/, 'layer readable');
});
