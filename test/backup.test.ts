// Backups against the real registry process: a backup taken while 20 pushes run holds every push
// acknowledged before its metadata pass and verifies; restored into a fresh storage and served,
// every image pulls with skopeo with its digests; verify names a corrupted blob's images; a second
// backup copies no blob twice; prune keeps what the remaining backups need; the tar form round
// trips; bad input changes nothing; serve's scheduled backups run, prune, and survive a failed run.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { cp, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli, startTestRegistry, type TestRegistry } from './helpers/registry.js';
import { makeImage, makeIndex, pushImage, putManifest, sha256, type TestImage } from './helpers/images.js';
import { tempDir } from './helpers/tmp.js';
import { exec, fileDigest, mustExec } from './helpers/exec.js';
import { missingPeer } from './helpers/peers.js';
import { waitFor } from './helpers/ports.js';
import { createBackup } from '../tools/src/backup/create.js';
import { ImageStore } from '../tools/src/storage/store.js';
import { StoragePaths } from '../tools/src/storage/paths.js';
import { parseDuration } from '../tools/src/backup/schedule-config.js';
import { choose } from '../tools/src/backup/prune.js';

interface Index {
  id: string;
  startedAt: string;
  repositories: Array<{ name: string; tags: Record<string, string>; manifests: string[] }>;
  blobs: Record<string, number>;
  counts: { repositories: number; tags: number; manifests: number; blobs: number };
  bytes: number;
  copied: { blobs: number; bytes: number };
  skipped: unknown[];
}

/** files lists every file under `dir` (relative paths), sorted. */
async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, rel: string) => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      if (e.isDirectory()) await walk(join(d, e.name), join(rel, e.name));
      else out.push(join(rel, e.name));
    }
  };
  await walk(dir, '');
  return out.sort();
}

async function blobFiles(dir: string): Promise<Array<{ path: string; size: number }>> {
  const out = [];
  for (const f of await files(join(dir, 'blobs'))) out.push({ path: f, size: (await stat(join(dir, 'blobs', f))).size });
  return out;
}

async function indexes(dir: string): Promise<Index[]> {
  const out: Index[] = [];
  for (const f of (await readdir(join(dir, 'backups'))).filter((n) => n.endsWith('.json')).sort()) {
    out.push(JSON.parse(await readFile(join(dir, 'backups', f), 'utf8')) as Index);
  }
  return out;
}

function tagged(index: Index): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of index.repositories) for (const [tag, d] of Object.entries(r.tags)) out.set(`${r.name}:${tag}`, d);
  return out;
}

/** bigImage is an image with one layer of `kib` random KiB (so a push takes a moment) and a small shared one. */
function bigImage(kib: number, shared: string): TestImage {
  return makeImage({ layers: [[{ name: 'base.txt', content: shared }], [{ name: 'data.bin', content: randomBytes(kib * 1024) }]] });
}

const skopeoSkip = missingPeer('skopeo');
/** root owns what the tests share: the registry and the backup folder live until the file ends. */
const root = t;

// Shared by the tests below, in order.
let reg: TestRegistry;
let backups: string;
const pushed = new Map<string, string>(); // repo:tag -> manifest digest

t.test('a backup taken while 20 pushes run holds every push acknowledged before its pass, and verifies', async (t) => {
  reg = await startTestRegistry(root);
  backups = join(await tempDir(root, 'cr-backups-'), 'store');
  const shared = `shared ${randomBytes(4).toString('hex')}\n`;
  // A few images first, an index among them, so the backup has children to follow.
  const amd = makeImage({ architecture: 'amd64' });
  const arm = makeImage({ architecture: 'arm64', variant: 'v8' });
  await pushImage(reg.url, 'base/multi', amd.manifest.digest, amd);
  await pushImage(reg.url, 'base/multi', arm.manifest.digest, arm);
  const index = makeIndex([amd, arm]);
  t.equal((await putManifest(reg.url, 'base/multi', 'v1', index)).status, 201);
  pushed.set('base/multi:v1', index.digest);
  const one = bigImage(64, shared);
  await pushImage(reg.url, 'base/one', 'v1', one);
  pushed.set('base/one:v1', one.manifest.digest);

  // 20 pushes, four at a time, each acknowledged at a known moment; the backup starts after the first few.
  const acked = new Map<string, number>();
  const work = Array.from({ length: 20 }, (_, i) => ({ ref: `load/app${i}:v1`, image: bigImage(768, shared) }));
  let next = 0;
  const pusher = async () => {
    while (next < work.length) {
      const w = work[next++]!;
      const [repo, tag] = w.ref.split(':') as [string, string];
      await pushImage(reg.url, repo, tag, w.image);
      acked.set(w.ref, Date.now());
      pushed.set(w.ref, w.image.manifest.digest);
    }
  };
  const pushing = Promise.all(Array.from({ length: 4 }, pusher));
  await waitFor(async () => acked.size >= 4, 30_000, 'the first pushes');
  const r = await runCli(['backup', 'create', '--storage', reg.storage, '--to', backups]);
  await pushing;
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^Backup \S+ in .*: \d+ repositories, \d+ manifest\(s\), \d+ tag\(s\), \d+ blob\(s\)/);
  const [idx] = await indexes(backups);
  const started = Date.parse(idx!.startedAt);
  const inBackup = tagged(idx!);
  let before = 0;
  for (const [ref, at] of acked) {
    if (at >= started) continue;
    before++;
    t.equal(inBackup.get(ref), pushed.get(ref), `${ref}, acknowledged before the pass, is in the backup`);
  }
  t.ok(before >= 4, `${before} pushes were acknowledged before the pass`);
  t.comment(`${before} push(es) acknowledged before the pass, ${acked.size - before} during or after it`);
  t.equal(inBackup.get('base/multi:v1'), index.digest, 'the index is in it');
  const multi = idx!.repositories.find((x) => x.name === 'base/multi')!;
  t.ok(multi.manifests.includes(amd.manifest.digest) && multi.manifests.includes(arm.manifest.digest), "with the index's children");
  t.same(idx!.skipped, [], 'nothing left out');
  // Everything in it is whole: every blob a manifest names is in the backup.
  const v = await runCli(['backup', 'verify', '--from', backups]);
  t.equal(v.code, 0, v.stdout + v.stderr);
  t.match(v.stdout, /Verified 1 backup\(s\): \d+ blob\(s\) hashed .*, 0 problem\(s\)/);
  t.equal(
    (await blobFiles(backups)).length,
    Object.keys(idx!.blobs).length,
    'one file per blob the index names (blobs of pushes after the pass are not copied)',
  );
});

t.test('a second backup copies no blob twice; a third copies only what a new push added', async (t) => {
  const filesBefore = await blobFiles(backups);
  const r = await runCli(['backup', 'create', '--storage', reg.storage, '--to', backups, '--json']);
  t.equal(r.code, 0, r.stderr);
  const second = JSON.parse(r.stdout) as Index;
  // Pushes that ended after the first pass are in the second backup: only their blobs are new.
  const first = (await indexes(backups))[0]!;
  const newBlobs = Object.keys(second.blobs).filter((d) => !(d in first.blobs));
  t.equal(second.copied.blobs, newBlobs.length, 'copied exactly the blobs the first backup lacked');
  const filesAfter = await blobFiles(backups);
  t.equal(filesAfter.length, filesBefore.length + newBlobs.length, 'and no file twice');
  t.equal(second.counts.tags, pushed.size, 'every tag pushed is in the second backup');

  const extra = makeImage();
  await pushImage(reg.url, 'base/extra', 'v1', extra);
  pushed.set('base/extra:v1', extra.manifest.digest);
  const r3 = await runCli(['backup', 'create', '--storage', reg.storage, '--to', backups, '--json']);
  t.equal(r3.code, 0, r3.stderr);
  const third = JSON.parse(r3.stdout) as Index;
  const bytes = extra.manifest.data.length + extra.config.data.length + extra.layers.reduce((n, l) => n + l.data.length, 0);
  t.same(third.copied, { blobs: 3, bytes }, 'the new image: manifest, config and layer, nothing else');
  t.equal((await blobFiles(backups)).length, filesAfter.length + 3);
  const list = await runCli(['backup', 'list', '--from', backups]);
  t.equal(list.code, 0);
  t.equal(list.stdout.trim().split('\n').length, 3, 'three backups listed');
  // A blob truncated in the folder since is copied again by the next backup, whole.
  const layer = extra.layers[0]!;
  const path = join(backups, 'blobs', 'sha256', layer.digest.slice(7, 9), layer.digest.slice(7));
  await writeFile(path, layer.data.subarray(0, 10));
  const r4 = await runCli(['backup', 'create', '--storage', reg.storage, '--to', backups, '--json']);
  t.equal(r4.code, 0, r4.stderr);
  t.same((JSON.parse(r4.stdout) as Index).copied, { blobs: 1, bytes: layer.data.length }, 'the truncated blob, and nothing else');
  t.match(r4.stderr, new RegExp(`blob ${layer.digest} has 10 bytes in the backup folder and ${layer.data.length} in the storage: copying it again`));
  t.equal(await fileDigest(path), layer.digest, 'whole again');
});

t.test('restored into a fresh storage and served, every image pulls with skopeo and its digests verify', { skip: skopeoSkip }, async (t) => {
  const fresh = join(await tempDir(t, 'cr-restored-'), 'storage');
  const r = await runCli(['backup', 'restore', '--from', backups, '--storage', fresh]);
  t.equal(r.code, 0, r.stdout + r.stderr);
  const latest = (await indexes(backups)).at(-1)!;
  t.match(
    r.stdout,
    new RegExp(
      `Restored backup ${latest.id} into ${fresh}: ${latest.counts.repositories} repositories, ${latest.counts.manifests} manifest\\(s\\), ${latest.counts.tags} tag\\(s\\), ${latest.counts.blobs} blob\\(s\\) \\(${latest.counts.blobs} written, 0 already there\\)`,
    ),
  );
  const served = await startTestRegistry(t, { storage: fresh });
  const out = await tempDir(t, 'cr-pulled-');
  for (const [ref, digest] of pushed) {
    const raw = await mustExec('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${served.host}/${ref}`]);
    t.equal(sha256(raw.stdout), digest, `${ref}: the manifest's digest`);
    const layout = join(out, ref.replace(/[/:]/g, '-'));
    await mustExec('skopeo', ['copy', '--all', '--src-tls-verify=false', `docker://${served.host}/${ref}`, `oci:${layout}:x`]);
    // skopeo checked every blob's digest as it pulled; check the layout's files against their names too.
    for (const f of await readdir(join(layout, 'blobs', 'sha256'))) {
      t.equal(await fileDigest(join(layout, 'blobs', 'sha256', f)), `sha256:${f}`, `${ref}: blob ${f.slice(0, 12)}`);
    }
  }
  // Restoring again with the registry stopped: it holds images and is not the backup's storage, so
  // only with --merge; then everything is there already.
  await served.stop();
  const refused = await runCli(['backup', 'restore', '--from', backups, '--storage', fresh]);
  t.equal(refused.code, 2, 'not empty, not the source: refused');
  const again = await runCli(['backup', 'restore', '--from', backups, '--storage', fresh, '--merge']);
  t.equal(again.code, 0, again.stdout + again.stderr);
  t.match(again.stdout, /\(0 written, \d+ already there\), 0 B written/);
});

t.test('verify finds a corrupted blob, exits non-zero and names the images that use it', async (t) => {
  const copy = join(await tempDir(t, 'cr-corrupt-'), 'store');
  await cp(backups, copy, { recursive: true });
  const first = (await indexes(copy))[0]!;
  const one = first.repositories.find((r) => r.name === 'base/one')!;
  const manifest = JSON.parse(await readFile(join(copy, 'blobs', 'sha256', one.tags.v1!.slice(7, 9), one.tags.v1!.slice(7)), 'utf8')) as {
    layers: Array<{ digest: string }>;
  };
  const layer = manifest.layers[0]!.digest; // the layer every image shares
  const path = join(copy, 'blobs', 'sha256', layer.slice(7, 9), layer.slice(7));
  const data = await readFile(path);
  data[data.length - 1]! ^= 0xff;
  await writeFile(path, data);
  const v = await runCli(['backup', 'verify', '--from', copy, first.id]);
  t.equal(v.code, 1, 'exit 1');
  t.match(v.stdout, new RegExp(`CORRUPT ${layer} in backup ${first.id}: its content hashes to sha256:[0-9a-f]{64}; used by .*base/one:v1`));
  t.match(v.stdout, /load\/app\d+:v1/, 'the pushed images sharing it are named too');
  t.match(v.stderr, /error \[backup-corrupt\]/);
  // The untouched original verifies.
  t.equal((await runCli(['backup', 'verify', '--from', backups])).code, 0);
});

t.test('prune keeps what the remaining backups need, and removes the rest', async (t) => {
  // A manifest only the older backups hold: delete it from the registry, back up, prune the old.
  const gone = makeImage();
  await pushImage(reg.url, 'base/gone', 'v1', gone);
  t.equal((await runCli(['backup', 'create', '--storage', reg.storage, '--to', backups])).code, 0);
  t.equal((await fetch(`${reg.url}/v2/base/gone/manifests/${gone.manifest.digest}`, { method: 'DELETE' })).status, 202);
  t.equal((await runCli(['backup', 'create', '--storage', reg.storage, '--to', backups])).code, 0);
  const all = await indexes(backups);
  t.equal(all.length, 6);
  const dry = await runCli(['backup', 'prune', '--from', backups, '--keep', '1', '--dry-run']);
  t.equal(dry.code, 0, dry.stderr);
  t.match(dry.stdout, /Would delete 5 backup\(s\)/);
  t.equal((await indexes(backups)).length, 6, 'a dry run changes nothing');
  const p = await runCli(['backup', 'prune', '--from', backups, '--keep', '1', '--keep-days', '0']);
  t.equal(p.code, 0, p.stderr);
  t.match(p.stdout, /Deleted 5 backup\(s\) and [1-9]\d* blob\(s\), freed .*; kept 1 backup\(s\)/);
  const [last] = await indexes(backups);
  t.equal(last!.id, all.at(-1)!.id, 'the newest stays');
  const left = (await blobFiles(backups)).map((f) => `sha256:${f.path.split('/').at(-1)}`).sort();
  t.same(left, Object.keys(last!.blobs).sort(), 'exactly the blobs it names stay');
  t.notOk(left.includes(gone.layers[0]!.digest), "the deleted image's layer is gone");
  t.equal((await runCli(['backup', 'verify', '--from', backups])).code, 0, 'and it verifies');
  // --keep-days keeps what is recent whatever --keep says.
  t.equal((await runCli(['backup', 'create', '--storage', reg.storage, '--to', backups])).code, 0);
  const kd = await runCli(['backup', 'prune', '--from', backups, '--keep', '1', '--keep-days', '1']);
  t.equal(kd.code, 0);
  t.equal((await indexes(backups)).length, 2, 'both are younger than a day');
});

t.test('the tar form: one self-contained archive that lists, verifies and restores', { skip: skopeoSkip }, async (t) => {
  const dir = await tempDir(t, 'cr-tar-');
  const file = join(dir, 'registry.tar');
  const r = await runCli(['backup', 'create', '--storage', reg.storage, '--to', file]);
  t.equal(r.code, 0, r.stderr);
  t.same(
    (await readdir(dir)).filter((n) => n !== 'registry.tar'),
    [],
    'no temp file left beside it',
  );
  const tar = await exec('tar', ['-tf', file]);
  if (tar.code === 0) {
    t.ok(tar.stdout.split('\n').includes('backup-store.json'), 'GNU tar reads it');
    t.ok(
      tar.stdout.split('\n').some((l) => /^backups\/\S+\.json$/.test(l)),
      'with the index',
    );
  }
  const list = await runCli(['backup', 'list', '--from', file]);
  t.equal(list.code, 0, list.stderr);
  t.equal(list.stdout.trim().split('\n').length, 1);
  const v = await runCli(['backup', 'verify', '--from', file]);
  t.equal(v.code, 0, v.stdout + v.stderr);
  const again = await runCli(['backup', 'create', '--storage', reg.storage, '--to', file]);
  t.equal(again.code, 1, 'an archive is never overwritten');
  t.match(again.stderr, /error \[backup\]: .*registry\.tar exists/);
  const fresh = join(dir, 'storage');
  const rr = await runCli(['backup', 'restore', '--from', file, '--storage', fresh]);
  t.equal(rr.code, 0, rr.stdout + rr.stderr);
  const served = await startTestRegistry(t, { storage: fresh });
  for (const ref of ['base/multi:v1', 'load/app7:v1']) {
    const raw = await mustExec('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${served.host}/${ref}`]);
    t.equal(sha256(raw.stdout), pushed.get(ref), `${ref} from the archive`);
    await mustExec('skopeo', ['copy', '--all', '--src-tls-verify=false', `docker://${served.host}/${ref}`, `oci:${join(dir, 'pulled')}:x`]);
  }
});

t.test('a manifest whose blobs gc deletes between the pass and the copy is reported, not silently dropped', async (t) => {
  const g = await startTestRegistry(t);
  const keep = makeImage();
  const drop = makeImage();
  await pushImage(g.url, 'gc/keep', 'v1', keep);
  await pushImage(g.url, 'gc/drop', 'v1', drop);
  // The tag goes before the pass; the untagged manifest is still a revision, so the pass takes it.
  t.equal((await fetch(`${g.url}/v2/gc/drop/manifests/v1`, { method: 'DELETE' })).status, 202);
  const dir = join(await tempDir(t, 'cr-gc-race-'), 'store');
  const warnings: string[] = [];
  const { index } = await createBackup(new ImageStore(new StoragePaths(g.storage)), {
    to: dir,
    storageDir: g.storage,
    log: (l) => warnings.push(l),
    // A real gc, between the metadata pass and the copy: it deletes the untagged manifest and its blobs.
    afterPass: async () => {
      const gc = await runCli(['gc', '--storage', g.storage, '--delete-untagged', '--grace', '0', '--settle', '0']);
      t.equal(gc.code, 0, gc.stderr);
      t.match(gc.stdout, new RegExp(`Deleted manifest gc/drop@${drop.manifest.digest}`));
    },
  });
  t.same(
    index.skipped.map((s) => [s.repository, s.manifest]),
    [['gc/drop', drop.manifest.digest]],
    'the manifest gc took is reported in the index',
  );
  t.match(index.skipped[0]!.reason, /gone from the storage before it was copied/);
  // The pass keeps no manifest bodies (bounded memory): the manifest itself went with its blobs, and
  // that is what it lacks.
  t.same(index.skipped[0]!.missing, [drop.manifest.digest], 'with what it lacks: itself, gone with its blobs');
  t.match(warnings.join('\n'), new RegExp(`blob ${drop.manifest.digest} is gone from the storage`));
  t.notOk(
    [drop.config.digest, drop.layers[0]!.digest].some((b) => b in index.blobs),
    'none of its blobs is in the index',
  );
  t.same(
    index.repositories.map((r) => r.name),
    ['gc/keep'],
    'the rest is backed up',
  );
  t.equal((await runCli(['backup', 'verify', '--from', dir])).code, 0, 'and what the backup holds verifies');
});

t.test('bad input gets a clear error and changes nothing', async (t) => {
  const dir = await tempDir(t, 'cr-bad-');
  const missing = await runCli(['backup', 'list', '--from', join(dir, 'nope')]);
  t.equal(missing.code, 2);
  t.match(missing.stderr, /error \[no-backup\]: .*nope does not exist/);

  const other = join(dir, 'other');
  await mkdir(other);
  await writeFile(join(other, 'notes.txt'), 'mine');
  const v = await runCli(['backup', 'verify', '--from', other]);
  t.equal(v.code, 2);
  t.match(v.stderr, /error \[no-backup\]: .*other is not a backup folder/);
  const c = await runCli(['backup', 'create', '--storage', reg.storage, '--to', other]);
  t.equal(c.code, 2);
  t.match(c.stderr, /is not empty and not a backup folder/);
  t.same(await files(other), ['notes.txt'], 'the folder is as it was');

  const noStorage = await runCli(['backup', 'create', '--storage', join(dir, 'no-storage'), '--to', join(dir, 'b')]);
  t.equal(noStorage.code, 2);
  t.match(noStorage.stderr, /error \[no-storage\]/);

  const noDir = await runCli(['backup', 'list'], { env: { CONTAINER_REGISTRY_BACKUP_DIR: '' } });
  t.equal(noDir.code, 2);
  t.match(noDir.stderr, /error \[usage\]: name the backup folder/);

  // A storage with other images is not a restore target; nor is one a registry serves from.
  const busy = await startTestRegistry(t);
  await pushImage(busy.url, 'other/app', 'v1', makeImage());
  const before = await files(busy.storage);
  const r = await runCli(['backup', 'restore', '--from', backups, '--storage', busy.storage]);
  t.equal(r.code, 2);
  t.match(r.stderr, /error \[restore-target\]: a registry serves \S+ and takes pushes/);
  await busy.stop();
  const r2 = await runCli(['backup', 'restore', '--from', backups, '--storage', busy.storage]);
  t.equal(r2.code, 2);
  t.match(r2.stderr, /error \[restore-target\]: .* already holds images and is not the storage backup \S+ was taken from/);
  t.same(
    await files(busy.storage),
    before.filter((f) => f !== 'container-registry.pid'),
    'the storage is as it was',
  );

  // --merge into a storage whose tag points elsewhere: the tag is a conflict, left as it was; the rest is restored.
  const mine = makeImage();
  const restarted = await startTestRegistry(t, { storage: busy.storage });
  await pushImage(restarted.url, 'base/one', 'v1', mine);
  await restarted.stop();
  const m = await runCli(['backup', 'restore', '--from', backups, '--storage', busy.storage, '--merge']);
  t.equal(m.code, 1, m.stdout + m.stderr);
  t.match(m.stdout, /CONFLICT .*base\/one\/_manifests\/tags\/v1\/current\/link: holds sha256:\S+, the backup sha256:/);
  t.match(m.stderr, /error \[restore-conflict\]: 1 conflict\(s\), 0 blob\(s\) not restorable; everything else is restored/);
  const link = join(busy.storage, 'docker/registry/v2/repositories/base/one/_manifests/tags/v1/current/link');
  t.equal(await readFile(link, 'utf8'), mine.manifest.digest, 'the differing tag is not replaced');
  const app0 = join(busy.storage, 'docker/registry/v2/repositories/load/app0/_manifests/tags/v1/current/link');
  t.equal(await readFile(app0, 'utf8'), pushed.get('load/app0:v1'), 'the rest is restored');

  const prune = await runCli(['backup', 'prune', '--from', backups]);
  t.equal(prune.code, 2);
  t.match(prune.stderr, /prune needs --keep N, --keep-days D or both/);
  const badId = await runCli(['backup', 'restore', '--from', backups, '../../etc', '--storage', join(dir, 'x')]);
  t.not(badId.code, 0);
  t.match(badId.stderr, /no backup "..\/..\/etc"/);
});

t.test('with several workers the primary alone runs the schedule', async (t) => {
  const dir = join(await tempDir(t, 'cr-sched-w-'), 'store');
  const w = await startTestRegistry(t, { args: ['--workers', '2', '--backup-every', '1s', '--backup-keep', '3', '--backup-dir', dir] });
  await pushImage(w.url, 'w/app', 'v1', makeImage());
  await waitFor(async () => (w.output().match(/backups: \d{8}T/g) ?? []).length >= 2, 30_000, 'two scheduled runs').catch(() => {});
  t.equal((w.output().match(/backups: every 1 s/g) ?? []).length, 1, 'one schedule, in the primary');
  t.ok((w.output().match(/backups: \d{8}T/g) ?? []).length >= 2, 'runs one after another');
  t.notMatch(w.output(), /run failed/, 'never two at once (the folder lock would refuse the second)');
});

t.test('durations and what prune keeps', async (t) => {
  t.equal(parseDuration('--x', '6h'), 6 * 3_600_000);
  t.equal(parseDuration('--x', '1h30m'), 90 * 60_000);
  t.equal(parseDuration('--x', ' 2D '), 2 * 86_400_000);
  for (const bad of ['', '6', 'h', '0s', '1h 30m', '-1h', '1.5h', 'often']) t.throws(() => parseDuration('--x', bad), { code: 'usage' }, JSON.stringify(bad));
  const day = 86_400_000;
  const now = Date.UTC(2026, 10, 29, 12);
  const id = (daysAgo: number) => `${new Date(now - daysAgo * day).toISOString().replace(/[-:.]/g, '')}-abcdef`;
  const ids = [id(10), id(5), id(2), id(0.5)];
  t.same(choose(ids, { keep: 2, now }).kept, [id(2), id(0.5)]);
  t.same(choose(ids, { keepDays: 3, now }).kept, [id(2), id(0.5)]);
  t.same(choose(ids, { keep: 1, keepDays: 6, now }).kept, [id(5), id(2), id(0.5)], 'either rule keeps');
  t.same(choose(ids, { keep: 1, keepDays: 6, now }).deleted, [id(10)]);
});

t.test('serve runs scheduled backups, prunes them, and survives a failed run', async (t) => {
  const dir = join(await tempDir(t, 'cr-sched-'), 'store');
  const sched = await startTestRegistry(t, { args: ['--backup-every', '1s', '--backup-keep', '2', '--backup-dir', dir] });
  await pushImage(sched.url, 'sched/app', 'v1', makeImage());
  await waitFor(async () => /backups: pruned/.test(sched.output()), 30_000, 'a scheduled backup and a prune').catch(() => {});
  t.match(sched.output(), /backups: every 1 s into .*, keeping 2/);
  t.match(sched.output(), /backups: \d{8}T\d{9}Z-[0-9a-f]{6}: 1 manifest\(s\), 1 tag\(s\), 3 blob\(s\)/);
  t.match(sched.output(), /backups: pruned /);
  // A run that fails (another process holds the folder's lock) is logged; the next one runs.
  await writeFile(join(dir, '.lock'), `${process.pid}\n`);
  await waitFor(async () => /backups: run failed: another backup or prune runs/.test(sched.output()), 15_000, 'a failed run').catch(() => {});
  t.match(sched.output(), /backups: run failed: another backup or prune runs on .* \(pid \d+\)/);
  const failedAt = sched.output().length;
  await (await import('node:fs/promises')).unlink(join(dir, '.lock'));
  await waitFor(async () => /backups: \d{8}T/.test(sched.output().slice(failedAt)), 15_000, 'a run after the failure').catch(() => {});
  t.match(sched.output().slice(failedAt), /backups: \d{8}T\d{9}Z-[0-9a-f]{6}: 1 manifest/, 'the next run works');
  await sched.stop();
  // Restore into the storage the backups came from, the registry stopped: a lost tag comes back.
  const tagDir = join(sched.storage, 'docker/registry/v2/repositories/sched/app/_manifests/tags/v1');
  await (await import('node:fs/promises')).rm(tagDir, { recursive: true });
  const back = await runCli(['backup', 'restore', '--from', dir, '--storage', sched.storage]);
  t.equal(back.code, 0, back.stdout + back.stderr);
  t.match(back.stdout, /1 tag\(s\), 3 blob\(s\) \(0 written, 3 already there\), 0 B written/);
  t.ok((await stat(join(tagDir, 'current', 'link'))).isFile(), 'the tag is back');
  const left = await indexes(dir);
  t.ok(left.length >= 1 && left.length <= 3, `${left.length} backups kept (2, and perhaps one a run made before its prune)`);
  t.equal((await runCli(['backup', 'verify', '--from', dir])).code, 0, 'they verify');

  const bad = await runCli(['serve', '--storage', join(dir, 's'), '--backup-every', 'often']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /--backup-every must be a duration such as 30m, 6h, 1d or 1h30m/);
  const noDir = await runCli(['serve', '--storage', join(dir, 's'), '--backup-every', '1h'], { env: { CONTAINER_REGISTRY_BACKUP_DIR: '' } });
  t.equal(noDir.code, 2);
  t.match(noDir.stderr, /--backup-every needs the backup folder/);
});
