// backup prune: keep the newest N backups and those younger than D days, delete the other indexes,
// then the blobs no remaining index names (and temp files of copies a stopped run left). It holds
// the folder's lock, so no create copies blobs into the folder while the sweep decides what is
// unnamed.
import { readdir, readFile, rmdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { HelperError } from '../errors/helper-error.js';
import { fsyncDir } from '../common/atomic-write.js';
import { tryParseDigest } from '../oci/digest.js';
import { listIds, openBackupSource, withFolderLock } from './destination.js';
import { BackupPaths, parseIndex } from './format.js';

/** PruneOptions say what to keep; at least one of them. */
export interface PruneOptions {
  /** the newest this many backups */
  keep?: number;
  /** every backup started less than this many days ago */
  keepDays?: number;
  dryRun?: boolean;
  now?: number;
}

/** PruneReport tells what was (or would be) deleted. */
export interface PruneReport {
  kept: string[];
  deleted: string[];
  blobsDeleted: number;
  bytesFreed: number;
  tempFilesDeleted: number;
}

/** idTime is when a backup started, from its id (newBackupId). */
export function idTime(id: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z/.exec(id);
  return m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, +m[7]!) : 0;
}

/** choose splits ids (oldest first) into those kept and those deleted. */
export function choose(ids: string[], o: PruneOptions): { kept: string[]; deleted: string[] } {
  const now = o.now ?? Date.now();
  const newest = new Set(o.keep !== undefined ? ids.slice(Math.max(0, ids.length - o.keep)) : []);
  const recent = (id: string) => o.keepDays !== undefined && now - idTime(id) < o.keepDays * 86_400_000;
  const kept = ids.filter((id) => newest.has(id) || recent(id));
  return { kept, deleted: ids.filter((id) => !kept.includes(id)) };
}

/** pruneBackups prunes the destination folder `dir`. */
export async function pruneBackups(dir: string, o: PruneOptions): Promise<PruneReport> {
  if (o.keep === undefined && o.keepDays === undefined) throw new HelperError('usage', 'prune needs --keep N, --keep-days D or both');
  const src = await openBackupSource(dir);
  if (src.kind !== 'folder') throw new HelperError('usage', `${dir} is a backup archive: it holds one backup; delete the file instead`);
  const paths = new BackupPaths(dir);
  return withFolderLock(paths, async () => {
    const { kept, deleted } = choose(await listIds(paths), o);
    const report: PruneReport = { kept, deleted, blobsDeleted: 0, bytesFreed: 0, tempFilesDeleted: 0 };
    // Every blob a kept index names; an index that cannot be read stops the prune (its blobs would go).
    const named = new Set<string>();
    for (const id of kept) {
      const text = await readFile(paths.index(id), 'utf8');
      for (const d of Object.keys(parseIndex(text, paths.index(id), id).blobs)) named.add(d);
    }
    if (o.dryRun) {
      await sweep(paths, named, report, true);
      return report;
    }
    for (const id of deleted) await unlink(paths.index(id));
    if (deleted.length) await fsyncDir(paths.backupsRoot());
    await sweep(paths, named, report, false);
    return report;
  });
}

/** sweep deletes the blobs `named` does not hold, and leftover temp files, folder by folder. */
async function sweep(paths: BackupPaths, named: Set<string>, report: PruneReport, dryRun: boolean): Promise<void> {
  // Temp files of index writes a stopped run left (the lock is held: no write is in progress).
  for (const name of await readdir(paths.backupsRoot()).catch(() => [] as string[])) {
    if (!name.startsWith('.')) continue;
    report.tempFilesDeleted++;
    if (!dryRun) await unlink(join(paths.backupsRoot(), name)).catch(() => {});
  }
  const root = paths.blobsRoot();
  for (const alg of await readdir(root).catch(() => [] as string[])) {
    for (const prefix of await readdir(join(root, alg)).catch(() => [] as string[])) {
      const folder = join(root, alg, prefix);
      for (const name of await readdir(folder).catch(() => [] as string[])) {
        const path = join(folder, name);
        const temp = name.startsWith('.');
        if (!temp) {
          const d = tryParseDigest(`${alg}:${name}`);
          if (d && named.has(`${d.algorithm}:${d.hex}`)) continue;
        }
        const size = (await stat(path).catch(() => undefined))?.size ?? 0;
        if (temp) report.tempFilesDeleted++;
        else {
          report.blobsDeleted++;
          report.bytesFreed += size;
        }
        if (!dryRun) await unlink(path).catch(() => {});
      }
      if (!dryRun) await rmdir(folder).catch(() => {}); // only when empty
    }
  }
}
