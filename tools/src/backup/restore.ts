// backup restore: a backup back into a storage (a folder or an S3 bucket), in the order a push
// writes: blobs (each streamed through the driver's upload path and hashed as it is copied), then
// each manifest's blob links and its revision link, then the tags. A blob is visible under its
// digest only once whole and verified, and every link is written atomically, so a restore stopped
// half-way leaves whole files only, and running it again finishes it. A file that exists with the
// same content is left alone; one that differs (another blob under the digest, a tag pointing
// elsewhere) is never replaced: it is reported as a conflict, and the restore ends non-zero.
//
// The target is an empty storage (or a new folder or prefix), or the storage the backup was taken
// from, with the registry stopped or serving read-only (`serve --read-only`: it takes no writes,
// and what the restore writes is served as it lands, tags last): a registry serving it writable is
// refused (its PID file is alive and does not say read-only).
import { randomUUID } from 'node:crypto';
import { HelperError } from '../errors/helper-error.js';
import type { ImageStore } from '../storage/store.js';
import { readLink, writeLink } from '../storage/links.js';
import { PathNotFound } from '../storage/driver.js';
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

/** ServingRegistry is a live registry of ours on the target: its PID, and whether it serves read-only. */
export interface ServingRegistry {
  pid: number;
  readOnly: boolean;
}

/**
 * checkRestoreTarget refuses a target a registry serves writable (`serving`: the live process its
 * PID file names, which the caller looks up; one serving read-only takes no writes, so the restore
 * may go on under it), and a non-empty one that is not the backup's own storage (unless `merge`).
 * `target` names the storage (StateDir.location). It changes nothing.
 */
export async function checkRestoreTarget(
  store: ImageStore,
  target: string,
  index: BackupIndex,
  o: { merge?: boolean; serving?: ServingRegistry; command?: string },
): Promise<void> {
  if (o.serving && !o.serving.readOnly) {
    const cmd = o.command ?? 'container-registry';
    throw new HelperError(
      'restore-target',
      `a registry serves ${target} and takes pushes (pid ${o.serving.pid}); stop it (${cmd} stop --storage ${target}), or restart it read-only (${cmd} serve --read-only --storage ${target}: pulls go on while the restore writes), then restore again`,
    );
  }
  if (o.merge || target === index.source.storage) return;
  if (!(await storageIsEmpty(store))) {
    throw new HelperError(
      'restore-target',
      `${target} already holds images and is not the storage backup ${index.id} was taken from (${index.source.storage}); restore into an empty storage, or add --merge`,
    );
  }
}

/**
 * writeBlob copies a blob from the backup into the storage through the driver's own write path, as
 * an upload does (uploads.ts): the bytes stream into an appendable file in an upload folder of
 * `repo` (a file on a filesystem, a multipart upload on S3), hashed as they pass; only when size and
 * digest match is the file made whole and moved under its digest (durable first). The upload folder
 * goes either way; one a crash leaves is an abandoned upload, which gc purges. False when the
 * backup's bytes are not the digest's.
 */
async function writeBlob(store: ImageStore, src: BackupSource, d: Digest, size: number, repo: string): Promise<boolean> {
  const { driver, paths } = store;
  const id = randomUUID();
  const data = paths.uploadData(repo, id);
  await driver.createFiles(paths.uploadDir(repo, id), [
    [paths.uploadStartedAt(repo, id), new Date().toISOString()],
    [data, ''],
  ]);
  try {
    const hash = newHasher(d.algorithm);
    let n = 0;
    const sink = await driver.openAppend(data);
    try {
      await sink.consume(src.openBlob(d), (chunk) => {
        hash.update(chunk);
        n += chunk.length;
      });
    } finally {
      await sink.close();
    }
    if (n !== size || hash.digest('hex') !== d.hex) return false;
    await driver.finishAppend(data);
    await driver.move(data, paths.blobData(d), { syncFirst: true });
    return true;
  } finally {
    await driver.deleteIfExists(paths.uploadDir(repo, id)).catch(() => false);
  }
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
  // Blobs are written through an upload folder of a repository the backup restores (it has one
  // whenever it has a blob): no folder outside distribution's layout, and no link is written by it.
  const uploadRepo = index.repositories[0]?.name ?? 'restore';
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
    if (!(await writeBlob(store, src, d, size, uploadRepo))) {
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
