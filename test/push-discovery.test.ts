// Naming and discovery on real deploy/ trees built in temp folders.
import t from 'tap';
import { mkdir, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseEntryName, repositoryFor } from '../tools/src/push/naming.js';
import { discoverImages } from '../tools/src/push/discover.js';
import { planDeployPush } from '../tools/src/push/deploy.js';
import { tempDir } from './helpers/tmp.js';
import { writeBuild } from './helpers/deploy.js';

const machines = ['qemux86-64', 'qemuarm64', 'qemuarm', 'raspberrypi4-64', 'genericx86-64'];

t.test('entry names: timestamps, rootfs, -latest and the machine suffix go', async (t) => {
  const cases: Array<[string, string, Record<string, unknown>]> = [
    ['container-base-qemux86-64.rootfs-20260112143022-oci', 'container-base', { built: Date.UTC(2026, 0, 12, 14, 30, 22), archive: false }],
    ['container-base-qemux86-64-20260112143022-oci', 'container-base', {}],
    ['container-base-qemux86-64-latest-oci', 'container-base', { latestLink: true, built: undefined }],
    ['container-base-latest-oci', 'container-base', { latestLink: true }],
    ['container-base-qemux86-64.rootfs-oci', 'container-base', {}],
    ['container-base-qemux86-64.rootfs-20260112143022-oci.tar', 'container-base', { archive: true }],
    ['app-server-raspberrypi4-64.rootfs-20260112-143022-oci', 'app-server', { built: Date.UTC(2026, 0, 12, 14, 30, 22) }],
    ['my-qemuarm-app-qemuarm.rootfs-oci', 'my-qemuarm-app', {}],
    ['app-qemuarm64-oci', 'app', {}],
    ['qemuarm64-oci', 'qemuarm64', {}],
    ['tool-1.2-oci', 'tool-1.2', {}],
  ];
  for (const [entry, name, extra] of cases) {
    const p = parseEntryName(entry, machines)!;
    t.equal(p.name, name, entry);
    for (const [k, v] of Object.entries(extra)) t.equal((p as unknown as Record<string, unknown>)[k], v, `${entry}: ${k}`);
  }
  t.equal(parseEntryName('container-base.ext4', machines), undefined, 'not an OCI entry');
  t.equal(parseEntryName('app-qemuarm64-oci', [])!.name, 'app-qemuarm64', 'a machine not among the folders is not stripped');
});

t.test('repository names are checked against the OCI grammar, naming the image and the rule', async (t) => {
  t.equal(repositoryFor('yocto', 'container-base', 'x'), 'yocto/container-base');
  t.equal(repositoryFor('', 'container-base', 'x'), 'container-base');
  t.equal(repositoryFor('team/yocto/', 'a', 'x'), 'team/yocto/a');
  t.throws(() => repositoryFor('yocto', 'Container_Base', 'image "Container_Base-qemux86-64-oci"'), {
    message: /image "Container_Base-qemux86-64-oci" gives the repository name "yocto\/Container_Base", which is not valid: .*lowercase/,
    code: 'name',
  });
  t.throws(() => repositoryFor('yocto', 'app..x', 'image y'), { message: /image y .*not valid/ });
});

t.test('discovery: newest build per machine, -latest link and its target are one, archives, siblings, filter', async (t) => {
  const root = await tempDir(t);
  const images = join(root, 'deploy', 'images');
  const newest = await writeBuild(images, { machine: 'qemux86-64', image: 'container-base', stamp: '20260112143022', latestLink: true });
  await writeBuild(images, { machine: 'qemux86-64', image: 'container-base', stamp: '20260110090000' });
  await writeBuild(images, { machine: 'qemux86-64', image: 'container-base', stamp: '20260111090000', archive: 'only' });
  await writeBuild(images, { machine: 'qemuarm64', image: 'container-base', stamp: '20260105000000', architecture: 'arm64' });
  const app = await writeBuild(images, { machine: 'qemuarm64', image: 'app', stamp: '20260105000000', architecture: 'arm64', archive: 'also' });
  // noise: not OCI, a dangling link, a folder without index.json
  await writeFile(join(images, 'qemux86-64', 'container-base-qemux86-64.rootfs.ext4'), 'x');
  await symlink('nowhere-oci', join(images, 'qemux86-64', 'gone-qemux86-64-latest-oci'));
  await mkdir(join(images, 'qemux86-64', 'empty-oci'));
  const found = await discoverImages(join(images, 'qemux86-64'));
  t.same(
    found.map((f) => [f.name, f.machine, f.path]),
    [
      ['app', 'qemuarm64', app.path],
      ['container-base', 'qemuarm64', join(images, 'qemuarm64', 'container-base-qemuarm64.rootfs-20260105000000-oci')],
      ['container-base', 'qemux86-64', newest.path],
    ],
    'one entry per image and machine; the folder is preferred over the archive of the same build',
  );
  t.same(
    (await discoverImages(join(images, 'qemuarm64'), ['app'])).map((f) => f.name),
    ['app'],
  );
  await t.rejects(discoverImages(join(images, 'qemuarm64'), ['nope']), { message: /no image named "nope" .*found: app, container-base/, code: 'discovery' });
  await t.rejects(discoverImages(join(root, 'missing')), { code: 'discovery', message: /DEPLOY_DIR_IMAGE/ });
});

t.test('discovery: machine folders linked in, `.oci` names and archives; dangling links, loops and other entries are passed over', async (t) => {
  const root = await tempDir(t);
  const images = join(root, 'deploy', 'images');
  const layout = async (dir: string) => {
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'index.json'), '{}');
  };
  await layout(join(images, 'qemux86-64', 'dotted-qemux86-64.oci'));
  await writeFile(join(images, 'qemux86-64', 'tarred-qemux86-64.rootfs-20260112143022.oci.tar'), 'x');
  await layout(join(images, 'qemux86-64', 'nested', 'deep-qemux86-64-oci'));
  // a machine folder kept elsewhere and linked in; a dangling sibling link; a sibling file; a link back to deploy/images
  await layout(join(root, 'elsewhere', 'raspberrypi4-64', 'app-raspberrypi4-64.rootfs-20260101000000-oci'));
  await symlink(join(root, 'elsewhere', 'raspberrypi4-64'), join(images, 'raspberrypi4-64'));
  await symlink(join(root, 'nowhere'), join(images, 'broken'));
  await writeFile(join(images, 'README'), 'x');
  await symlink('.', join(images, 'loop'));
  const found = await discoverImages(join(images, 'qemux86-64'));
  t.same(
    found.map((f) => [f.name, f.machine, f.entry, f.archive]),
    [
      ['app', 'raspberrypi4-64', 'app-raspberrypi4-64.rootfs-20260101000000-oci', false],
      ['dotted', 'qemux86-64', 'dotted-qemux86-64.oci', false],
      ['tarred', 'qemux86-64', 'tarred-qemux86-64.rootfs-20260112143022.oci.tar', true],
    ],
    'the entries of each machine folder only, not of folders inside them',
  );
  t.equal(found[0]!.path, join(root, 'elsewhere', 'raspberrypi4-64', 'app-raspberrypi4-64.rootfs-20260101000000-oci'), 'the real path is read');
});

t.test('discovery: without timestamps in the names, the newest by modification time wins', async (t) => {
  const root = await tempDir(t);
  const folder = join(root, 'images', 'qemux86-64');
  const { rename } = await import('node:fs/promises');
  const a = await writeBuild(join(root, 'images'), { machine: 'qemux86-64', image: 'x', stamp: '20260101000000' });
  await rename(a.path, join(folder, 'x-qemux86-64-oci'));
  const b = await writeBuild(join(root, 'images'), { machine: 'qemux86-64', image: 'x', stamp: '20260101000001' });
  await rename(b.path, join(folder, 'x-qemux86-64.rootfs-oci'));
  const old = new Date('2020-01-01T00:00:00Z');
  await utimes(join(folder, 'x-qemux86-64-oci'), old, old);
  let found = await discoverImages(folder);
  t.same(
    found.map((f) => [f.name, f.entry]),
    [['x', 'x-qemux86-64.rootfs-oci']],
  );
  await utimes(join(folder, 'x-qemux86-64.rootfs-oci'), new Date('2019-01-01'), new Date('2019-01-01'));
  found = await discoverImages(folder);
  t.same(
    found.map((f) => [f.name, f.entry]),
    [['x', 'x-qemux86-64-oci']],
  );
});

t.test('plan: same name from two machines is one repository with two platforms; bad names stop before any push', async (t) => {
  const root = await tempDir(t);
  const images = join(root, 'images');
  await writeBuild(images, { machine: 'qemux86-64', image: 'base', stamp: '20260112143022' });
  await writeBuild(images, { machine: 'qemuarm', image: 'base', stamp: '20260112143022', architecture: 'arm', variant: 'v7' });
  const plans = await planDeployPush({ deployDir: join(images, 'qemux86-64'), only: [], namespace: 'yocto', tags: ['latest'], arch: false, labels: {} });
  t.equal(plans.length, 1);
  t.equal(plans[0]!.repository, 'yocto/base');
  t.same(plans[0]!.images.map((i) => `${i.platform.architecture}${i.platform.variant ?? ''}`).sort(), ['amd64', 'armv7']);
  await writeBuild(images, { machine: 'qemux86-64', image: 'Bad_Name', stamp: '20260112143022' });
  await t.rejects(planDeployPush({ deployDir: join(images, 'qemux86-64'), only: [], namespace: 'yocto', tags: ['latest'], arch: false, labels: {} }), {
    code: 'name',
    message: /image "Bad_Name-qemux86-64.rootfs-20260112143022-oci" \(machine qemux86-64\) gives the repository name "yocto\/Bad_Name"/,
  });
});
