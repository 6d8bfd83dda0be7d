// Native push against real registries — ours (the built server) and Debian's docker-registry
// (CNCF distribution 2.8) — with images pulled back by skopeo and compared by digest.
import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { RegistrySession } from '../tools/src/client/session.js';
import { catalog, listTags } from '../tools/src/client/listing.js';
import { getManifest } from '../tools/src/client/manifests.js';
import { planDeployPush, pushPlanned } from '../tools/src/push/deploy.js';
import { newPushContext, type PushResult } from '../tools/src/push/push.js';
import { SilentReporter } from '../tools/src/push/progress.js';
import { importImage, parseSourceReference, parsePlatform } from '../tools/src/push/import.js';
import { deleteTag } from '../tools/src/manage/delete.js';
import { inspectImage } from '../tools/src/manage/inspect.js';
import { startTestRegistry } from './helpers/registry.js';
import { startDistribution } from './helpers/distribution.js';
import { startFaultyProxy } from './helpers/proxy.js';
import { writeBuild } from './helpers/deploy.js';
import { tempDir } from './helpers/tmp.js';
import { missingPeer } from './helpers/peers.js';
import { randomBytes } from 'node:crypto';

const run = promisify(execFile);
const skopeoMissing = missingPeer('skopeo');

interface Peer {
  name: string;
  skip: string | false;
  start(t: Test): Promise<{ host: string; port: number }>;
}

const peers: Peer[] = [
  {
    name: 'our registry',
    skip: false,
    start: async (t) => {
      const r = await startTestRegistry(t);
      return { host: r.host, port: r.port };
    },
  },
  {
    name: 'docker-registry (distribution 2.8)',
    skip: missingPeer('docker-registry'),
    start: async (t) => {
      const d = await startDistribution(t);
      return { host: d.host, port: Number(d.host.split(':')[1]) };
    },
  },
];

function session(t: Test, host: string): RegistrySession {
  const s = new RegistrySession({ registry: `http://${host}`, maxSockets: 8 });
  t.teardown(() => s.close());
  return s;
}

async function push(
  s: RegistrySession,
  deployDir: string,
  opts: { tags?: string[]; arch?: boolean; labels?: Record<string, string>; only?: string[] } = {},
): Promise<PushResult[]> {
  const tags = opts.tags ?? ['latest'];
  const plans = await planDeployPush({ deployDir, only: opts.only ?? [], namespace: 'yocto', tags, arch: !!opts.arch, labels: opts.labels ?? {} });
  return pushPlanned(newPushContext(s, new SilentReporter(), 4), plans, { tags, arch: !!opts.arch });
}

/** skopeoDigest is the digest of the raw manifest skopeo pulls. */
async function skopeoRaw(
  host: string,
  ref: string,
): Promise<{ digest: string; doc: { mediaType?: string; manifests?: Array<{ platform: { architecture: string } }> } }> {
  const { stdout } = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${host}/${ref}`], { encoding: 'buffer', maxBuffer: 1 << 24 });
  const { createHash } = await import('node:crypto');
  return { digest: `sha256:${createHash('sha256').update(stdout).digest('hex')}`, doc: JSON.parse(stdout.toString()) };
}

async function skopeoCopyAll(t: Test, host: string, ref: string): Promise<string> {
  const dir = await tempDir(t, 'cr-skopeo-');
  await run('skopeo', ['copy', '--all', '--preserve-digests', '--src-tls-verify=false', `docker://${host}/${ref}`, `oci:${dir}:x`], { maxBuffer: 1 << 24 });
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
  return index.manifests[0]!.digest;
}

for (const peer of peers) {
  t.test(`push against ${peer.name}`, { skip: peer.skip }, async (t) => {
    const reg = await peer.start(t);
    const s = session(t, reg.host);

    t.test('single-arch: a plain manifest, pulled back by skopeo with the same digest; re-push uploads nothing', async (t) => {
      const root = await tempDir(t);
      const images = join(root, 'images');
      const build = await writeBuild(images, {
        machine: 'qemux86-64',
        image: 'single',
        stamp: '20260112143022',
        latestLink: true,
        layers: [[{ name: 'a.txt', content: randomBytes(300_000).toString('hex') }], [{ name: 'b.txt', content: 'b' }]],
      });
      const [r] = await push(s, join(images, 'qemux86-64'), { tags: ['20260112-143022', 'latest'] });
      t.equal(r!.repository, 'yocto/single');
      t.equal(r!.digest, build.image.manifest.digest, 'the layout digest is kept');
      t.equal(r!.mediaType, 'application/vnd.oci.image.manifest.v1+json', 'single-arch stays a plain manifest');
      t.equal(r!.blobsUploaded, 3);
      t.same((await listTags(s, 'yocto/single'))!.sort(), ['20260112-143022', 'latest'], 'no temporary tags');
      const again = await push(s, join(images, 'qemux86-64'), { tags: ['latest'] });
      t.equal(again[0]!.bytesSent, 0, 're-push sends nothing');
      t.equal(again[0]!.blobsUploaded, 0);
      t.equal(again[0]!.digest, r!.digest);
      if (skopeoMissing) return void t.comment(`skopeo part skipped: ${skopeoMissing}`);
      const raw = await skopeoRaw(reg.host, 'yocto/single:latest');
      t.equal(raw.digest, build.image.manifest.digest, 'skopeo sees the same digest');
      t.equal(await skopeoCopyAll(t, reg.host, 'yocto/single:latest'), build.image.manifest.digest, 'skopeo pulls every blob, digests verified');
    });

    t.test('multi-arch: the same name from three machine folders is one index, pushed once', async (t) => {
      const root = await tempDir(t);
      const images = join(root, 'images');
      const shared = [{ name: 'shared.txt', content: 'same base layer everywhere' }];
      const a = await writeBuild(images, {
        machine: 'qemux86-64',
        image: 'multi',
        stamp: '20260112143022',
        layers: [shared, [{ name: 'x', content: 'amd64' }]],
      });
      const b = await writeBuild(images, {
        machine: 'qemuarm64',
        image: 'multi',
        stamp: '20260112143022',
        architecture: 'arm64',
        layers: [shared, [{ name: 'x', content: 'arm64' }]],
      });
      const c = await writeBuild(images, {
        machine: 'qemuarm',
        image: 'multi',
        stamp: '20260112143022',
        architecture: 'arm',
        variant: 'v7',
        archive: 'only',
        layers: [shared, [{ name: 'x', content: 'armv7' }]],
      });
      const [r] = await push(s, join(images, 'qemux86-64'));
      t.equal(r!.mediaType, 'application/vnd.oci.image.index.v1+json');
      t.same(r!.platforms, ['linux/amd64', 'linux/arm/v7', 'linux/arm64']);
      t.equal(r!.blobsUploaded, 7, 'the shared layer once, three configs, three own layers');
      const index = await getManifest(s, 'yocto/multi', 'latest');
      const doc = JSON.parse(index!.body.toString()) as { manifests: Array<{ digest: string; platform: { architecture: string; variant?: string } }> };
      t.same(doc.manifests.map((m) => m.digest).sort(), [a, b, c].map((x) => x.image.manifest.digest).sort());
      if (skopeoMissing) return void t.comment(`skopeo part skipped: ${skopeoMissing}`);
      const raw = await skopeoRaw(reg.host, 'yocto/multi:latest');
      t.equal(raw.digest, r!.digest);
      t.equal(raw.doc.manifests!.length, 3);
      t.equal(await skopeoCopyAll(t, reg.host, 'yocto/multi:latest'), r!.digest);
    });

    t.test('two machines pushed in two runs: both platforms remain in the index', async (t) => {
      const one = await tempDir(t);
      const two = await tempDir(t);
      const x86 = await writeBuild(join(one, 'images'), { machine: 'qemux86-64', image: 'tworuns', stamp: '20260112143022' });
      const arm = await writeBuild(join(two, 'images'), { machine: 'qemuarm64', image: 'tworuns', stamp: '20260112150000', architecture: 'arm64' });
      const [first] = await push(s, join(one, 'images', 'qemux86-64'));
      t.equal(first!.mediaType, 'application/vnd.oci.image.manifest.v1+json', 'first run: one platform, a plain manifest');
      const [second] = await push(s, join(two, 'images', 'qemuarm64'));
      const after = await getManifest(s, 'yocto/tworuns', 'latest');
      t.equal(after!.mediaType, 'application/vnd.oci.image.index.v1+json', 'second run: merged into an index');
      const doc = JSON.parse(after!.body.toString()) as { manifests: Array<{ digest: string; platform: { architecture: string } }> };
      t.same(doc.manifests.map((m) => `${m.platform.architecture} ${m.digest}`).sort(), [
        `amd64 ${x86.image.manifest.digest}`,
        `arm64 ${arm.image.manifest.digest}`,
      ]);
      t.equal(second!.tagDigests.latest, after!.digest);
      // a new arm64 build replaces only arm64
      const arm2 = await writeBuild(join(two, 'images'), { machine: 'qemuarm64', image: 'tworuns', stamp: '20260113150000', architecture: 'arm64' });
      await push(s, join(two, 'images', 'qemuarm64'));
      const third = JSON.parse((await getManifest(s, 'yocto/tworuns', 'latest'))!.body.toString()) as typeof doc;
      t.same(third.manifests.map((m) => `${m.platform.architecture} ${m.digest}`).sort(), [
        `amd64 ${x86.image.manifest.digest}`,
        `arm64 ${arm2.image.manifest.digest}`,
      ]);
      if (skopeoMissing) return;
      t.equal((await skopeoRaw(reg.host, 'yocto/tworuns:latest')).doc.manifests!.length, 2);
    });

    t.test('two machines pushing the same tag at the same time: no platform is lost', async (t) => {
      for (let round = 0; round < 3; round++) {
        const one = await tempDir(t);
        const two = await tempDir(t);
        const name = `race${round}`;
        const x86 = await writeBuild(join(one, 'images'), { machine: 'qemux86-64', image: name, stamp: '20260112143022' });
        const arm = await writeBuild(join(two, 'images'), { machine: 'qemuarm64', image: name, stamp: '20260112150000', architecture: 'arm64' });
        const s2 = session(t, reg.host);
        await Promise.all([push(s, join(one, 'images', 'qemux86-64')), push(s2, join(two, 'images', 'qemuarm64'))]);
        const after = await getManifest(s, `yocto/${name}`, 'latest');
        const doc = JSON.parse(after!.body.toString()) as { manifests?: Array<{ digest: string }> };
        t.same(
          (doc.manifests ?? []).map((m) => m.digest).sort(),
          [x86.image.manifest.digest, arm.image.manifest.digest].sort(),
          `round ${round}: both platforms in the index`,
        );
      }
    });

    t.test('Docker schema 2 content: plain manifest, and a Docker manifest list for several platforms', async (t) => {
      const root = await tempDir(t);
      const images = join(root, 'images');
      const a = await writeBuild(images, { machine: 'qemux86-64', image: 'dockery', stamp: '20260112143022', docker: true });
      const [single] = await push(s, join(images, 'qemux86-64'), { tags: ['one'] });
      t.equal(single!.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
      t.equal(single!.digest, a.image.manifest.digest);
      await writeBuild(images, { machine: 'qemuarm64', image: 'dockery', stamp: '20260112143022', architecture: 'arm64', docker: true });
      const [multi] = await push(s, join(images, 'qemux86-64'), { tags: ['two'] });
      t.equal(multi!.mediaType, 'application/vnd.docker.distribution.manifest.list.v2+json');
      const got = await getManifest(s, 'yocto/dockery', 'two');
      t.equal(got!.mediaType, 'application/vnd.docker.distribution.manifest.list.v2+json');
      if (skopeoMissing) return;
      // (an oci: layout cannot hold a Docker list unconverted, so compare what skopeo reads)
      t.equal((await skopeoRaw(reg.host, 'yocto/dockery:two')).digest, multi!.digest);
      t.equal((await skopeoRaw(reg.host, 'yocto/dockery:one')).digest, a.image.manifest.digest);
    });

    t.test('an umoci-built layout in deploy/ is pushed with its digest', { skip: missingPeer('umoci') }, async (t) => {
      const root = await tempDir(t);
      const folder = join(root, 'images', 'qemux86-64');
      const layout = join(folder, 'umo-qemux86-64.rootfs-20260112143022-oci');
      await mkdir(folder, { recursive: true });
      const umoci = (...args: string[]) => run('umoci', args, { cwd: root });
      await umoci('init', '--layout', layout);
      await umoci('new', '--image', `${layout}:latest`);
      await writeFile(join(root, 'hello.txt'), `hello ${randomBytes(4).toString('hex')}\n`);
      await umoci('insert', '--rootless', '--image', `${layout}:latest`, join(root, 'hello.txt'), '/hello.txt');
      const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
      const [r] = await push(s, folder);
      t.equal(r!.repository, 'yocto/umo');
      t.equal(r!.digest, index.manifests[0]!.digest);
      if (skopeoMissing) return;
      t.equal(await skopeoCopyAll(t, reg.host, 'yocto/umo:latest'), index.manifests[0]!.digest);
    });

    t.test('arch strategy: each platform under its own suffixed tags, no index', async (t) => {
      const root = await tempDir(t);
      const images = join(root, 'images');
      await writeBuild(images, { machine: 'qemux86-64', image: 'archy', stamp: '20260112143022' });
      await writeBuild(images, { machine: 'qemuarm', image: 'archy', stamp: '20260112143022', architecture: 'arm', variant: 'v7' });
      const results = await push(s, join(images, 'qemux86-64'), { tags: ['latest'], arch: true });
      t.same(results.flatMap((r) => r.tags).sort(), ['latest-amd64', 'latest-arm-v7']);
      t.same((await listTags(s, 'yocto/archy'))!.sort(), ['latest-amd64', 'latest-arm-v7']);
      for (const r of results) t.equal(r.mediaType, 'application/vnd.oci.image.manifest.v1+json');
    });

    t.test('interrupted uploads are retried: nothing duplicated, nothing lost', async (t) => {
      const proxy = await startFaultyProxy(t, reg.port);
      const ps = session(t, proxy.host);
      const root = await tempDir(t);
      const images = join(root, 'images');
      const big = randomBytes(6 * 1024 * 1024); // incompressible: a 6 MiB gzip layer
      const build = await writeBuild(images, { machine: 'qemux86-64', image: 'flaky', stamp: '20260112143022', layers: [[{ name: 'big.bin', content: big }]] });
      proxy.cutNext(2, 1024 * 1024);
      const [r] = await push(ps, join(images, 'qemux86-64'));
      t.equal(proxy.cuts(), 2, 'two uploads were cut mid-way');
      t.equal(r!.digest, build.image.manifest.digest);
      // A whole run that fails (every attempt cut) leaves the tag as it was; the next run completes it.
      proxy.cutNext(1000, 1024 * 1024);
      const build2 = await writeBuild(images, {
        machine: 'qemux86-64',
        image: 'flaky',
        stamp: '20260113143022',
        layers: [[{ name: 'big.bin', content: randomBytes(3 * 1024 * 1024) }]],
      });
      await t.rejects(push(ps, join(images, 'qemux86-64')));
      t.equal((await getManifest(s, 'yocto/flaky', 'latest'))!.digest, build.image.manifest.digest, 'a failed push leaves the tag as it was');
      proxy.cutNext(0, Infinity);
      const [r2] = await push(ps, join(images, 'qemux86-64'));
      t.equal(r2!.digest, build2.image.manifest.digest);
      t.same(await listTags(s, 'yocto/flaky'), ['latest'], 'no temporary tags');
      if (skopeoMissing) return;
      t.equal(await skopeoCopyAll(t, reg.host, 'yocto/flaky:latest'), build2.image.manifest.digest, 'every blob is whole');
    });

    t.test('a streamed upload cut midway resumes where the registry stopped (or starts over where it cannot)', async (t) => {
      const proxy = await startFaultyProxy(t, reg.port);
      const ps = session(t, proxy.host);
      const root = await tempDir(t);
      const images = join(root, 'images');
      const big = randomBytes(40 * 1024 * 1024); // over MONOLITHIC_MAX: one streamed PATCH
      const build = await writeBuild(images, {
        machine: 'qemux86-64',
        image: 'resumed',
        stamp: '20260112143022',
        layers: [[{ name: 'big.bin', content: big }]],
      });
      proxy.cutNext(1, 20 * 1024 * 1024);
      const [r] = await push(ps, join(images, 'qemux86-64'));
      t.equal(proxy.cuts(), 1, 'the PATCH was cut once');
      t.equal(r!.digest, build.image.manifest.digest);
      // Starting again passes on 20 MiB + the whole 40 MiB layer; resuming, about 40 MiB. Ours keeps
      // what arrived and says so; distribution 2.8 answers the status of a cut upload with 404.
      const mib = proxy.forwarded() / (1024 * 1024);
      if (peer.name === 'our registry') t.ok(mib < 44, `${mib.toFixed(1)} MiB passed on for a 40 MiB layer cut at 20 MiB: resumed`);
      else t.ok(mib > 55, `${mib.toFixed(1)} MiB passed on: started over, as this registry cannot resume`);
      if (skopeoMissing) return;
      t.equal(await skopeoCopyAll(t, reg.host, 'yocto/resumed:latest'), build.image.manifest.digest, 'every blob is whole');
    });

    t.test('labels rewrite the config; layers are mounted/skipped, not re-uploaded', async (t) => {
      const root = await tempDir(t);
      const images = join(root, 'images');
      const build = await writeBuild(images, { machine: 'qemux86-64', image: 'labelled', stamp: '20260112143022' });
      const [r] = await push(s, join(images, 'qemux86-64'), { labels: { 'org.opencontainers.image.version': '9.9' } });
      t.not(r!.digest, build.image.manifest.digest);
      const info = await inspectImage(s, 'yocto/labelled', 'latest');
      t.equal(info.images[0]!.labels['org.opencontainers.image.version'], '9.9');
      t.equal(info.images[0]!.layers[0]!.digest, build.image.layers[0]!.digest, 'layer digest unchanged');
    });

    t.test('import: all platforms with digests kept, or one platform', async (t) => {
      const root = await tempDir(t);
      const images = join(root, 'images');
      await writeBuild(images, { machine: 'qemux86-64', image: 'src', stamp: '20260112143022' });
      await writeBuild(images, { machine: 'qemuarm64', image: 'src', stamp: '20260112143022', architecture: 'arm64' });
      const [pushed] = await push(s, join(images, 'qemux86-64'), { tags: ['v1'] });
      const src = session(t, reg.host);
      const ctx = newPushContext(s, new SilentReporter());
      const all = await importImage(ctx, src, { ...parseSourceReference(`${reg.host}/yocto/src:v1`), registry: `http://${reg.host}` }, 'yocto/copied', 'v1');
      t.equal(all.digest, pushed!.digest, 'index digest preserved');
      const one = await importImage(
        ctx,
        src,
        { ...parseSourceReference(`${reg.host}/yocto/src:v1`), registry: `http://${reg.host}` },
        'yocto/copied-arm',
        'v1',
        [parsePlatform('linux/arm64')],
      );
      t.equal(one.mediaType, 'application/vnd.oci.image.manifest.v1+json');
      t.same(one.platforms, ['linux/arm64']);
      await t.rejects(
        importImage(ctx, src, { ...parseSourceReference(`${reg.host}/yocto/src:v1`), registry: `http://${reg.host}` }, 'yocto/x', 'v1', [
          parsePlatform('linux/s390x'),
        ]),
        { message: /has no linux\/s390x/ },
      );
      if (skopeoMissing) return;
      t.equal((await skopeoRaw(reg.host, 'yocto/copied:v1')).digest, pushed!.digest);
    });

    t.test('delete removes one tag; a registry deleting by digest only refuses when tags share it', async (t) => {
      const root = await tempDir(t);
      const images = join(root, 'images');
      await writeBuild(images, { machine: 'qemux86-64', image: 'del', stamp: '20260112143022' });
      await push(s, join(images, 'qemux86-64'), { tags: ['20260112-143022', 'latest'] });
      let result;
      try {
        result = await deleteTag(s, 'yocto/del', '20260112-143022');
      } catch (err) {
        t.match(err, { code: 'shared-digest', message: /also carries yocto\/del:latest.*--force/ }, 'refused, naming the other tag');
        t.same((await listTags(s, 'yocto/del'))!.sort(), ['20260112-143022', 'latest'], 'nothing deleted');
        result = await deleteTag(s, 'yocto/del', '20260112-143022', true);
        t.equal(result.method, 'digest');
        t.same(result.alsoRemoved, ['latest']);
        return;
      }
      t.equal(result.method, 'tag');
      t.same(await listTags(s, 'yocto/del'), ['latest'], 'only that tag went; latest stays');
      await t.rejects(deleteTag(s, 'yocto/del', 'nope'), { code: 'not-found' });
    });

    t.test('catalog and tags follow Link pagination', async (t) => {
      const root = await tempDir(t);
      const images = join(root, 'images');
      for (const n of ['pa', 'pb', 'pc']) await writeBuild(images, { machine: 'qemux86-64', image: n, stamp: '20260112143022' });
      await push(s, join(images, 'qemux86-64'), { tags: ['t1', 't2', 't3', 't4', 't5'] });
      const all = await catalog(s, 2);
      for (const n of ['pa', 'pb', 'pc']) t.ok(all.includes(`yocto/${n}`), n);
      t.same(all, [...all].sort());
      // distribution 2.8 pages tags in storage order, not lexically: compare as sets
      t.same((await listTags(s, 'yocto/pa', 2))!.sort(), ['t1', 't2', 't3', 't4', 't5']);
      t.equal(await listTags(s, 'yocto/none'), undefined);
    });
  });
}
