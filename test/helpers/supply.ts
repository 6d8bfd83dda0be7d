// Supply-chain fixtures for a deploy folder: the SPDX documents oe-core's create-spdx writes
// (generated with oe-core's own serializers: test/fixtures/spdx-2.2 and spdx-3.0, each with its
// generate.py), the image's testdata.json, a buildstats folder, and a layer that is a git checkout.
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './registry.js';
import { mustExec } from './exec.js';

/** SPDX22_DIR holds create-spdx-2.2's documents of the fixture image (and the archive's index.json). */
export const SPDX22_DIR = join(ROOT, 'test', 'fixtures', 'spdx-2.2', 'documents');
/** SPDX22_IMAGE_NAME is that image's IMAGE_NAME (its document is `${IMAGE_NAME}.spdx.json`). */
export const SPDX22_IMAGE_NAME = 'core-image-minimal-qemux86-64.rootfs-20260101120000';
/** SPDX30_FILE is create-spdx-image-3.0's document of the fixture image. */
export const SPDX30_FILE = join(ROOT, 'test', 'fixtures', 'spdx-3.0', 'core-image-minimal-qemuarm64.rootfs-20260101120000.spdx.json');

/**
 * writeSpdx22Archive packs the 2.2 documents into `${imageName}.spdx.tar.zst` in `folder`, as
 * combine_spdx does (a tar of `<doc name>.spdx.json` files and index.json, zstd-compressed), and
 * links `${linkName}.spdx.tar.zst` to it. Needs python3 and zstd.
 */
export async function writeSpdx22Archive(folder: string, imageName: string, linkName?: string): Promise<string> {
  const work = await mkdtemp(join(tmpdir(), 'cr-spdx-fixture-'));
  try {
    const names = (await readdir(SPDX22_DIR)).sort();
    for (const n of names) {
      // The image document is named after the image being pushed.
      const target = n === `${SPDX22_IMAGE_NAME}.spdx.json` ? `${imageName}.spdx.json` : n;
      await copyFile(join(SPDX22_DIR, n), join(work, target));
    }
    const tar = join(work, 'spdx.tar');
    const members = names.map((n) => (n === `${SPDX22_IMAGE_NAME}.spdx.json` ? `${imageName}.spdx.json` : n));
    // Python's tarfile in stream mode, as combine_spdx writes it (PAX format, root:root), index.json last.
    const script = [
      'import sys, tarfile',
      'out, work, *names = sys.argv[1:]',
      'with tarfile.open(out, mode="w|") as tar:',
      '    for n in names:',
      '        info = tar.gettarinfo(work + "/" + n, arcname=n)',
      '        info.uid = info.gid = 0',
      '        info.uname = info.gname = "root"',
      '        with open(work + "/" + n, "rb") as f:',
      '            tar.addfile(info, f)',
    ].join('\n');
    const ordered = [...members.filter((m) => m !== 'index.json'), 'index.json'];
    await mustExec('python3', ['-c', script, tar, work, ...ordered]);
    const out = join(folder, `${imageName}.spdx.tar.zst`);
    await mustExec('zstd', ['-q', '-f', '-o', out, tar]);
    if (linkName) await symlink(`${imageName}.spdx.tar.zst`, join(folder, `${linkName}.spdx.tar.zst`));
    return out;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** spdx22ImageDocument is the bytes the archive holds as `${imageName}.spdx.json`. */
export function spdx22ImageDocument(): Promise<Buffer> {
  return readFile(join(SPDX22_DIR, `${SPDX22_IMAGE_NAME}.spdx.json`));
}

/** writeTestdata writes `${imageName}.testdata.json` as rootfs-postcommands' write_image_test_data does (a few of its keys). */
export async function writeTestdata(folder: string, imageName: string, vars: Record<string, string>): Promise<void> {
  await writeFile(join(folder, `${imageName}.testdata.json`), JSON.stringify(vars, null, 4));
}

/** writeBuildstats writes `<base>/<build>/build_stats` and the image recipe's task files, as buildstats.bbclass does. */
export async function writeBuildstats(base: string, build: string, recipeDir: string, started: number, ended: number): Promise<void> {
  const dir = join(base, build);
  await mkdir(join(dir, recipeDir), { recursive: true });
  await writeFile(
    join(dir, 'build_stats'),
    `Host Info: Linux test\nBuild Started: ${started.toFixed(2)} \nElapsed time: ${(ended - started + 5).toFixed(2)} seconds \n`,
  );
  await writeFile(
    join(dir, recipeDir, 'do_rootfs'),
    `Event: TaskStarted \nStarted: ${(ended - 60).toFixed(2)} \nElapsed time: 50.00 seconds\nEnded: ${(ended - 10).toFixed(2)} \n`,
  );
  await writeFile(
    join(dir, recipeDir, 'do_image_complete'),
    `Event: TaskStarted \nStarted: ${(ended - 5).toFixed(2)} \nElapsed time: 5.00 seconds\nEnded: ${ended.toFixed(2)} \n`,
  );
}

/** makeLayer makes a layer folder (conf/layer.conf naming `collection`) that is a git checkout with an origin remote; returns its revision. */
export async function makeLayer(path: string, collection: string, remote: string): Promise<string> {
  await mkdir(join(path, 'conf'), { recursive: true });
  await writeFile(
    join(path, 'conf', 'layer.conf'),
    `BBPATH .= ":\${LAYERDIR}"\nBBFILE_COLLECTIONS += "${collection}"\nBBFILE_PATTERN_${collection} = "^\${LAYERDIR}/"\n`,
  );
  const git = (...args: string[]) =>
    mustExec('git', ['-C', path, ...args], { env: { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' } });
  await git('init', '-q', '-b', 'scarthgap');
  await git('add', '.');
  await git('commit', '-q', '-m', 'layer');
  await git('remote', 'add', 'origin', remote);
  return (await git('rev-parse', 'HEAD')).stdout.trim();
}
