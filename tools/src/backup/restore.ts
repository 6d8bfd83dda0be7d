// backup restore: a backup back into a storage directory, in the order a push writes: blobs (each
// hashed as it is copied), then each manifest's blob links and its revision link, then the tags.
// Every file is written atomically (temp file, fsync, rename), so a restore stopped half-way leaves
// whole files only, and running it again finishes it. A file that exists with the same content is
// left alone; one that differs (another blob under the digest, a tag pointing elsewhere) is never
// replaced: it is reported as a conflict, and the restore ends non-zero.
//
// The target is an empty storage (or a new folder), or the storage the backup was taken from, with
// the registry stopped: a registry serving from the target is refused (its PID file is alive).
import { open, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { HelperError } from '../errors/helper-error.js';
import { tempPath } from '../common/atomic-write.js';
import { makeDirs } from '../common/make-dirs.js';
import type { ImageStore } from '../storage/store.js';
import { readLink, writeLink } from '../storage/links.js';
import { PathNotFound } from '../storage/driver.js';
import type { StateDir } from '../state/state-dir.js';
import { formatDigest, newHasher, parseDigest, type Digest } from '../oci/digest.js';
import type { ParsedManifest } from '../oci/manifest.js';
import type { BackupSource } from './destination.js';
import type { BackupIndex } from './format.js';
import { blobsOf, childrenOf } from './snapshot.js';

/** RestoreReport tells what a restore did. */
export interface RestoreReport {
  id: string;
  repositories: number;
  /** manifests restored (images, indexes, their children, referrers) */
  manifests: number;
  tags: number;
  blobs: { written: number; present: number };
  bytesWritten: number;
  links: { written: number; present: number };
  /** files that exist with other content: left as they were */
  conflicts: Array<{ path: string; detail: string }>;
  /** blobs of the backup that could not be restored, and the manifests left out for them */
  broken: Array<{ digest: string; detail: string }>;
  skippedManifests: Array<{ repository: string; manifest: string; tags: string[] }>;
}

/** storageIsEmpty tells whether a storage holds no repository and no blob. */
async function storageIsEmpty(store: ImageStore): Promise<boolean> {
  if ((await store.repositoryFolders()).length > 0) return false;
  const algs = await store.driver.list(store.paths.blobsRoot());
  for (const alg of algs) if ((await store.driver.list(`${store.paths.blobsRoot()}/${alg}`)).length > 0) return false;
  return true;
}

/**
 * checkRestoreTarget refuses a target a registry serves from (`servingPid`: the live process its PID
 * file names, which the caller looks up), and a non-empty one that is not the backup's own storage
 * (unless `merge`). It changes nothing.
 */
export async function checkRestoreTarget(store: ImageStore, state: StateDir, index: BackupIndex, o: { merge?: boolean; servingPid?: number }): Promise<void> {
  if (o.servingPid !== undefined) {
    throw new HelperError(
      'restore-target',
      `a registry serves from ${state.dir} (pid ${o.servingPid}); stop it first (container-registry stop --storage ${state.dir})`,
    );
  }
  if (o.merge || state.dir === index.source.storage) return;
  if (!(await storageIsEmpty(store))) {
    throw new HelperError(
      'restore-target',
      `${state.dir} already holds images and is not the storage backup ${index.id} was taken from (${index.source.storage}); restore into an empty storage, or add --merge`,
    );
  }
}

/** writeBlob copies a blob from the backup into the storage, hashing it; false when its bytes are not the digest's. */
async function writeBlob(store: ImageStore, src: BackupSource, d: Digest, size: number): Promise<boolean> {
  const dest = store.paths.blobData(d);
  await makeDirs(dirname(dest));
  const tmp = tempPath(dest);
  const handle = await open(tmp, 'wx', 0o644);
  const hash = newHasher(d.algorithm);
  let n = 0;
  let ok = false;
  try {
    for await (const chunk of src.openBlob(d)) {
      hash.update(chunk as Buffer);
      n += (chunk as Buffer).length;
      await handle.write(chunk as Buffer);
    }
    ok = n === size && hash.digest('hex') === d.hex;
    if (ok) await handle.sync();
  } finally {
    await handle.close();
    if (!ok) await unlink(tmp).catch(() => {});
  }
  if (ok) await store.driver.move(tmp, dest);
  return ok;
}

/** restoreBackup restores backup `id` of `src` into `store` (checkRestoreTarget first). */
export async function restoreBackup(store: ImageStore, src: BackupSource, index: BackupIndex, log: (line: string) => void = () => {}): Promise<RestoreReport> {
  const report: RestoreReport = {
    id: index.id,
    repositories: 0,
    manifests: 0,
    tags: 0,
    blobs: { written: 0, present: 0 },
    bytesWritten: 0,
    links: { written: 0, present: 0 },
    conflicts: [],
    broken: [],
    skippedManifests: [],
  };
  const good = new Set<string>();
  // 1. Blobs, each once: what exists with its size is kept, what differs is a conflict.
  for (const [key, size] of Object.entries(index.blobs).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const d = parseDigest(key);
    const dest = store.paths.blobData(d);
    const existing = await store.driver.stat(dest).catch((err) => {
      if (err instanceof PathNotFound) return undefined;
      throw err;
    });
    if (existing) {
      if (!existing.isDirectory && existing.size === size) {
        report.blobs.present++;
        good.add(key);
      } else {
        report.conflicts.push({ path: dest, detail: `the storage has ${existing.size} bytes under ${key}, the backup ${size}` });
      }
      continue;
    }
    if ((await src.blobSize(d)) !== size) {
      report.broken.push({ digest: key, detail: 'missing from the backup, or of the wrong size' });
      continue;
    }
    if (!(await writeBlob(store, src, d, size))) {
      report.broken.push({ digest: key, detail: 'its content in the backup does not match its digest (run backup verify)' });
      continue;
    }
    good.add(key);
    report.blobs.written++;
    report.bytesWritten += size;
  }
  if (report.broken.length) log(`warning: ${report.broken.length} blob(s) of the backup cannot be restored; the images that need them are left out`);

  // 2. Which manifests are whole (every blob and child restored), read back from the storage.
  const parsed = new Map<string, ParsedManifest>();
  const whole = new Map<string, boolean>();
  const isWhole = async (key: string, depth: number): Promise<boolean> => {
    const known = whole.get(key);
    if (known !== undefined) return known;
    if (!good.has(key) || depth > 8) return false;
    whole.set(key, false);
    let p: ParsedManifest;
    try {
      const d = parseDigest(key);
      p = store.manifests.parse(d, await store.blobs.read(d));
    } catch {
      return false;
    }
    parsed.set(key, p);
    let ok = blobsOf(p).every((b) => good.has(b));
    for (const c of childrenOf(p)) if (ok && !(await isWhole(c, depth + 1))) ok = false;
    whole.set(key, ok);
    return ok;
  };

  // 3. Per repository: blob links and revision links of each whole manifest, then its tags.
  const linkOnce = async (path: string, d: Digest): Promise<boolean> => {
    const have = await readLink(store.driver, path);
    if (have && formatDigest(have) === formatDigest(d)) {
      report.links.present++;
      return true;
    }
    if (have || (await store.driver.exists(path))) {
      report.conflicts.push({ path, detail: `holds ${have ? formatDigest(have) : 'something else'}, the backup ${formatDigest(d)}` });
      return false;
    }
    await writeLink(store.driver, path, d);
    report.links.written++;
    return true;
  };
  for (const r of index.repositories) {
    const restored = new Set<string>();
    for (const key of r.manifests) {
      if (!(await isWhole(key, 0))) {
        report.skippedManifests.push({
          repository: r.name,
          manifest: key,
          tags: Object.entries(r.tags)
            .filter(([, d]) => d === key)
            .map(([t]) => t),
        });
        continue;
      }
      const d = parseDigest(key);
      for (const b of blobsOf(parsed.get(key)!)) await linkOnce(store.paths.layerLink(r.name, parseDigest(b)), parseDigest(b));
      if (await linkOnce(store.paths.manifestRevisionLink(r.name, d), d)) restored.add(key);
    }
    for (const [tag, key] of Object.entries(r.tags).sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (!restored.has(key)) continue;
      const d = parseDigest(key);
      await linkOnce(store.paths.tagIndexLink(r.name, tag, d), d);
      if (await linkOnce(store.paths.tagCurrentLink(r.name, tag), d)) report.tags++;
    }
    if (restored.size > 0) report.repositories++;
    report.manifests += restored.size;
  }
  return report;
}
