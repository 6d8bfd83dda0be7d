// Opening a backup destination: a folder (made on the first create) or one tar archive, read the
// same way through BackupSource; and the lock that keeps two runs of create or prune on one folder
// from interleaving (a prune sweeping the blobs a create has copied but not yet named).
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { open, readdir, readFile, stat, unlink } from 'node:fs/promises';
import { basename } from 'node:path';
import { HelperError } from '../errors/helper-error.js';
import { makeDirs } from '../common/make-dirs.js';
import { writeFileAtomic } from '../common/atomic-write.js';
import { isProcessAlive } from '../common/process.js';
import { indexTar, type TarMember } from '../layout/tar.js';
import type { Digest } from '../oci/digest.js';
import { BACKUP_ID, BackupPaths, blobMember, indexMember, isMarker, markerText, MARKER_FILE, parseIndex, type BackupIndex } from './format.js';

/** BackupSource reads the backups of a destination, folder or archive alike. */
export interface BackupSource {
  kind: 'folder' | 'archive';
  location: string;
  /** ids of every backup, oldest first */
  ids(): Promise<string[]>;
  readIndex(id: string): Promise<BackupIndex>;
  /** size of a stored blob, undefined when it is not there */
  blobSize(d: Digest): Promise<number | undefined>;
  /** streams a stored blob (check blobSize first) */
  openBlob(d: Digest): Readable;
}

function noBackup(path: string, why: string): HelperError {
  return new HelperError('no-backup', `${path} ${why}`);
}

/** openBackupSource opens an existing destination for reading; anything else is `no-backup`. */
export async function openBackupSource(path: string): Promise<BackupSource> {
  const st = await stat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') throw noBackup(path, 'does not exist');
    throw new HelperError('backup', `cannot read ${path} (${err.code ?? 'error'})`);
  });
  if (st.isDirectory()) return openFolder(path);
  if (st.isFile()) return openArchive(path);
  throw noBackup(path, 'is neither a backup folder nor a backup archive');
}

async function openFolder(dir: string): Promise<BackupSource> {
  const paths = new BackupPaths(dir);
  const marker = await readFile(paths.marker(), 'utf8').catch(() => undefined);
  if (marker === undefined || !isMarker(marker)) throw noBackup(dir, `is not a backup folder (no ${MARKER_FILE} of this helper)`);
  return {
    kind: 'folder',
    location: dir,
    ids: () => listIds(paths),
    async readIndex(id) {
      if (!BACKUP_ID.test(id)) throw new HelperError('not-found', `no backup ${JSON.stringify(id.slice(0, 80))} in ${dir}`);
      const text = await readFile(paths.index(id), 'utf8').catch(() => undefined);
      if (text === undefined) throw new HelperError('not-found', `no backup ${id} in ${dir}`);
      return parseIndex(text, paths.index(id), id);
    },
    async blobSize(d) {
      const s = await stat(paths.blob(d)).catch(() => undefined);
      return s?.isFile() ? s.size : undefined;
    },
    openBlob: (d) => createReadStream(paths.blob(d), { highWaterMark: 1024 * 1024 }),
  };
}

/** listIds lists the backups of a folder, oldest first. */
export async function listIds(paths: BackupPaths): Promise<string[]> {
  const names = await readdir(paths.backupsRoot()).catch(() => [] as string[]);
  return names
    .filter((n) => n.endsWith('.json') && BACKUP_ID.test(n.slice(0, -5)))
    .map((n) => n.slice(0, -5))
    .sort();
}

async function openArchive(file: string): Promise<BackupSource> {
  let members: Map<string, TarMember>;
  try {
    members = await indexTar(file);
  } catch (err) {
    throw new HelperError('backup', `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const member = (name: string) => {
    const m = members.get(name);
    return m && (m.type === '0' || m.type === '\0') ? m : undefined;
  };
  const readMember = async (m: TarMember): Promise<string> => {
    const handle = await open(file, 'r');
    try {
      const buf = Buffer.alloc(m.size);
      await handle.read(buf, 0, m.size, m.offset);
      return buf.toString('utf8');
    } finally {
      await handle.close();
    }
  };
  const marker = member(MARKER_FILE);
  if (!marker || marker.size > 4096 || !isMarker(await readMember(marker))) throw noBackup(file, `is not a backup archive (no ${MARKER_FILE} of this helper)`);
  return {
    kind: 'archive',
    location: file,
    async ids() {
      const ids: string[] = [];
      for (const name of members.keys()) {
        const m = /^backups\/(.+)\.json$/.exec(name);
        if (m && BACKUP_ID.test(m[1]!)) ids.push(m[1]!);
      }
      return ids.sort();
    },
    async readIndex(id) {
      const m = BACKUP_ID.test(id) ? member(indexMember(id)) : undefined;
      if (!m) throw new HelperError('not-found', `no backup ${JSON.stringify(id.slice(0, 80))} in ${file}`);
      return parseIndex(await readMember(m), `${file}:${indexMember(id)}`, id);
    },
    async blobSize(d) {
      return member(blobMember(d))?.size;
    },
    openBlob(d) {
      const m = member(blobMember(d))!;
      // createReadStream's `end` is inclusive: an empty member has no range to read.
      if (m.size === 0) return Readable.from([]);
      return createReadStream(file, { start: m.offset, end: m.offset + m.size - 1, highWaterMark: 1024 * 1024 });
    },
  };
}

/**
 * prepareFolder makes `dir` a destination: a missing folder (its parent must exist) or an empty
 * one gets the marker; a folder with the marker is used as it is; anything else is refused, so a
 * typo never fills a folder of other files with blobs.
 */
export async function prepareFolder(dir: string): Promise<BackupPaths> {
  const paths = new BackupPaths(dir);
  const st = await stat(dir).catch(() => undefined);
  if (st && !st.isDirectory()) throw noBackup(dir, 'exists and is not a folder (a backup archive is named FILE.tar)');
  if (st) {
    const marker = await readFile(paths.marker(), 'utf8').catch(() => undefined);
    if (marker !== undefined && isMarker(marker)) return paths;
    const entries = await readdir(dir);
    if (marker !== undefined || entries.length > 0)
      throw noBackup(dir, `is not empty and not a backup folder (no ${MARKER_FILE} of this helper); name an empty or new folder`);
  } else {
    const parent = await stat(dirnameOf(dir)).catch(() => undefined);
    if (!parent?.isDirectory()) throw noBackup(dir, 'cannot be made: its parent folder does not exist');
    await makeDirs(dir);
  }
  await writeFileAtomic(paths.marker(), markerText());
  return paths;
}

function dirnameOf(path: string): string {
  const base = basename(path);
  return path.slice(0, path.length - base.length) || '.';
}

/**
 * withFolderLock runs `fn` holding the destination's lock file: created exclusively with this
 * process's PID; one whose process is gone is taken over. Another live holder is `locked` at once
 * (a backup can take long: waiting would only pile runs up).
 */
export async function withFolderLock<T>(paths: BackupPaths, fn: () => Promise<T>): Promise<T> {
  const path = paths.lock();
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await open(path, 'wx', 0o600);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 2) throw err;
      const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(pid) && pid > 0 && isProcessAlive(pid)) {
        throw new HelperError('locked', `another backup or prune runs on ${paths.dir} (pid ${pid})`);
      }
      await unlink(path).catch(() => {});
    }
  }
  try {
    return await fn();
  } finally {
    await unlink(path).catch(() => {});
  }
}
