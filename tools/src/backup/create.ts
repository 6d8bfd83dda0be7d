// backup create: the metadata pass (snapshot.ts), then the blobs it names, into a destination
// folder shared by every backup made there (a blob already there is not copied again) or into one
// self-contained tar archive. Every blob is hashed as it is copied; the index is written last, so
// a run that stops half-way leaves blobs no index names (prune removes them) and no backup.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { link, mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import { HelperError } from '../errors/helper-error.js';
import { fsyncDir, tempPath, writeFileAtomic } from '../common/atomic-write.js';
import { PathNotFound, type FileReader } from '../storage/driver.js';
import type { ImageStore } from '../storage/store.js';
import { newHasher, parseDigest, type Digest } from '../oci/digest.js';
import {
  BACKUP_FORMAT,
  BACKUP_VERSION,
  blobMember,
  indexMember,
  isTarPath,
  markerText,
  MARKER_FILE,
  newBackupId,
  type BackupIndex,
  type BackupPaths,
  type SkippedManifest,
} from './format.js';
import { prepareFolder, withFolderLock } from './destination.js';
import { blobsOf, childrenOf, readManifest, takeSnapshot, type Snapshot } from './snapshot.js';
import { TarWriter } from './tar-writer.js';

/** CreateOptions say where a backup goes. */
export interface CreateOptions {
  /** a destination folder, or FILE.tar for one archive */
  to: string;
  /** the storage directory, as the index records it */
  storageDir: string;
  /** progress lines */
  log?: (line: string) => void;
  /** runs between the metadata pass and the copy; tests put a gc there (nothing does in production) */
  afterPass?: () => Promise<void>;
}

/** CreateResult is the index written, and where. */
export interface CreateResult {
  location: string;
  kind: 'folder' | 'archive';
  index: BackupIndex;
}

/** BlobSink is where the copy puts blobs. */
interface BlobSink {
  /** the size of a blob the destination holds already, else undefined */
  has(d: Digest): Promise<number | undefined>;
  /** copy a blob from the storage; false when its bytes do not match its digest (nothing is kept) */
  copy(d: Digest, size: number, reader: FileReader): Promise<boolean>;
}

const CHUNK = 1024 * 1024;

/** pump copies `size` bytes of a blob through `write`, hashing them; true when they are the digest's. */
async function pump(reader: FileReader, d: Digest, size: number, write: (chunk: Uint8Array) => Promise<void>): Promise<boolean> {
  const hash = newHasher(d.algorithm);
  const buf = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(size, 1)));
  let pos = 0;
  while (pos < size) {
    const n = await reader.read(buf, Math.min(buf.length, size - pos), pos);
    if (n === 0) break;
    const chunk = buf.subarray(0, n);
    hash.update(chunk);
    await write(chunk);
    pos += n;
  }
  return pos === size && hash.digest('hex') === d.hex;
}

/** folderSink writes blobs into a destination folder: temp file, fsync, rename, never a partial blob under its name. */
function folderSink(paths: BackupPaths): BlobSink {
  return {
    async has(d) {
      const s = await stat(paths.blob(d)).catch(() => undefined);
      return s?.isFile() ? s.size : undefined;
    },
    async copy(d, size, reader) {
      const dest = paths.blob(d);
      await mkdir(dirname(dest), { recursive: true });
      const tmp = tempPath(dest);
      const handle = await open(tmp, 'wx', 0o644);
      let ok = false;
      try {
        ok = await pump(reader, d, size, async (chunk) => {
          await handle.write(chunk);
        });
        if (ok) await handle.sync();
      } finally {
        await handle.close();
        if (!ok) await unlink(tmp).catch(() => {});
      }
      if (!ok) return false;
      await rename(tmp, dest);
      await fsyncDir(dirname(dest));
      return true;
    },
  };
}

/** archiveSink appends blobs to a tar archive; each digest once. */
function archiveSink(tar: TarWriter): BlobSink {
  const written = new Map<string, number>();
  const key = (d: Digest) => `${d.algorithm}:${d.hex}`;
  return {
    has: async (d) => written.get(key(d)),
    async copy(d, size, reader) {
      await tar.begin(blobMember(d), size);
      const ok = await pump(reader, d, size, (chunk) => tar.chunk(chunk));
      // The member's header is written: bytes that are not the digest's cannot be taken back.
      if (!ok)
        throw new HelperError(
          'backup',
          `blob ${key(d)} in the storage does not match its digest; no archive was written (run a backup into a folder to see which images it breaks)`,
        );
      await tar.pad(size);
      written.set(key(d), size);
      return true;
    },
  };
}

/** openSource opens a stored blob for reading with its size; undefined when gc (or a delete) took it. */
async function openSource(store: ImageStore, d: Digest): Promise<{ size: number; reader: FileReader } | undefined> {
  // size() puts back a blob a gc in flight set aside: a backup reading it is a use, as a pull is.
  const size = await store.blobs.size(d);
  if (size === undefined) return undefined;
  try {
    return { size, reader: await store.blobs.openReader(d) };
  } catch (err) {
    if (err instanceof PathNotFound) return undefined;
    throw err;
  }
}

/** copyAll stores every blob the snapshot names; the sizes of those stored, and why the others are not. */
async function copyAll(
  store: ImageStore,
  snap: Snapshot,
  sink: BlobSink,
  log: (line: string) => void,
): Promise<{ stored: Map<string, number>; lost: Map<string, string>; copied: { blobs: number; bytes: number } }> {
  const stored = new Map<string, number>();
  const lost = new Map<string, string>();
  const copied = { blobs: 0, bytes: 0 };
  // Manifests and blobs alike: read again from the storage and checked against their digests as
  // they are copied (what the pass kept is their digests only).
  const wanted = new Set<string>([...snap.manifests.keys(), ...snap.blobs]);
  for (const key of [...wanted].sort()) {
    const d = parseDigest(key);
    const have = await sink.has(d);
    if (have !== undefined) {
      // Copied by an earlier backup. One of another size there (a truncated file) is copied again.
      const size = await store.blobs.size(d);
      if (size === undefined || size === have) {
        stored.set(key, have);
        continue;
      }
      log(`warning: blob ${key} has ${have} bytes in the backup folder and ${size} in the storage: copying it again`);
    }
    const source = await openSource(store, d);
    if (!source) {
      lost.set(key, 'gone from the storage before it was copied (deleted, or collected by gc)');
      log(`warning: blob ${key} is gone from the storage; the images that need it are left out`);
      continue;
    }
    let ok: boolean;
    try {
      ok = await sink.copy(d, source.size, source.reader);
    } finally {
      await source.reader.close();
    }
    if (!ok) {
      lost.set(key, 'its content in the storage does not match its digest');
      log(`warning: blob ${key} in the storage does not match its digest; the images that need it are left out`);
      continue;
    }
    stored.set(key, source.size);
    copied.blobs++;
    copied.bytes += source.size;
  }
  return { stored, lost, copied };
}

/**
 * buildIndex keeps the manifests whose every blob and child was stored, and reports the others. It
 * reads each manifest once more (one at a time; what it keeps per manifest is what it lacks, an
 * empty list for a whole one): one gone since it was copied cannot be checked, and is skipped.
 */
async function buildIndex(
  store: ImageStore,
  id: string,
  snap: Snapshot,
  stored: Map<string, number>,
  lost: Map<string, string>,
  storageDir: string,
  copied: BackupIndex['copied'],
): Promise<BackupIndex> {
  const memo = new Map<string, string[]>();
  // The blobs of whole manifests: every manifest of a repository is kept there when whole, so these
  // are the blobs of the manifests kept.
  const keptBlobs = new Set<string>();
  // missingOf lists what a manifest lacks, through its children; [] when it is whole.
  const missingOf = async (key: string, depth: number): Promise<string[]> => {
    const known = memo.get(key);
    if (known) return known;
    if (!snap.manifests.has(key) || !stored.has(key) || depth > 8) return [key];
    memo.set(key, []); // a cycle (never valid) counts as whole here, and fails verify
    const m = await readManifest(store, parseDigest(key));
    if (typeof m === 'string') {
      if (!lost.has(key)) lost.set(key, `${m} after it was copied`);
      memo.set(key, [key]);
      return [key];
    }
    const missing = blobsOf(m.parsed).filter((b) => !stored.has(b));
    for (const c of childrenOf(m.parsed)) if ((await missingOf(c, depth + 1)).length > 0) missing.push(c);
    if (missing.length === 0) for (const b of blobsOf(m.parsed)) keptBlobs.add(b);
    memo.set(key, missing);
    return missing;
  };
  const blobs: Record<string, number> = {};
  const skipped: SkippedManifest[] = snap.unreadable.map((u) => ({ ...u, missing: [u.manifest] }));
  const repositories: BackupIndex['repositories'] = [];
  for (const r of snap.repositories) {
    const manifests: string[] = [];
    for (const key of [...r.manifests].sort()) {
      const missing = await missingOf(key, 0);
      const tags = [...r.tags].filter(([, d]) => d === key).map(([t]) => t);
      if (missing.length > 0) {
        const why = missing.map((b) => lost.get(b)).find(Boolean) ?? 'a child manifest is incomplete';
        skipped.push({ repository: r.name, manifest: key, tags, missing, reason: why });
        continue;
      }
      manifests.push(key);
      blobs[key] = stored.get(key)!;
    }
    const tags: Record<string, string> = {};
    const kept = new Set(manifests);
    for (const [t, d] of r.tags) if (kept.has(d)) tags[t] = d;
    if (manifests.length > 0) repositories.push({ name: r.name, tags, manifests });
  }
  for (const b of keptBlobs) if (stored.has(b)) blobs[b] = stored.get(b)!;
  const values = Object.values(blobs);
  return {
    format: BACKUP_FORMAT,
    version: BACKUP_VERSION,
    id,
    startedAt: snap.startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    source: { storage: storageDir, host: hostname() },
    repositories,
    blobs,
    counts: {
      repositories: repositories.length,
      tags: repositories.reduce((n, r) => n + Object.keys(r.tags).length, 0),
      manifests: repositories.reduce((n, r) => n + r.manifests.length, 0),
      blobs: values.length,
    },
    bytes: values.reduce((a, b) => a + b, 0),
    copied,
    skipped,
  };
}

/** createBackup backs up every repository of `store` into `o.to`. */
export async function createBackup(store: ImageStore, o: CreateOptions): Promise<CreateResult> {
  const log = o.log ?? (() => {});
  if (isTarPath(o.to)) return createArchive(store, o, log);
  const paths = await prepareFolder(o.to);
  return withFolderLock(paths, async () => {
    const snap = await takeSnapshot(store);
    await o.afterPass?.();
    const id = newBackupId(snap.startedAt, randomBytes(3).toString('hex'));
    const { stored, lost, copied } = await copyAll(store, snap, folderSink(paths), log);
    const index = await buildIndex(store, id, snap, stored, lost, o.storageDir, copied);
    await writeFileAtomic(paths.index(id), `${JSON.stringify(index, null, 1)}\n`);
    return { location: o.to, kind: 'folder', index };
  });
}

async function createArchive(store: ImageStore, o: CreateOptions, log: (line: string) => void): Promise<CreateResult> {
  const file = o.to;
  if (await stat(file).catch(() => undefined)) throw new HelperError('backup', `${file} exists; an archive is never overwritten (name a new file)`);
  const parent = await stat(dirname(file)).catch(() => undefined);
  if (!parent?.isDirectory()) throw new HelperError('no-backup', `${file} cannot be written: its folder does not exist`);
  const tmp = tempPath(file);
  const handle = await open(tmp, 'wx', 0o644);
  let done = false;
  try {
    const tar = new TarWriter(handle, Math.floor(Date.now() / 1000));
    await tar.add(MARKER_FILE, Buffer.from(markerText()));
    const snap = await takeSnapshot(store);
    await o.afterPass?.();
    const id = newBackupId(snap.startedAt, randomBytes(3).toString('hex'));
    const { stored, lost, copied } = await copyAll(store, snap, archiveSink(tar), log);
    const index = await buildIndex(store, id, snap, stored, lost, o.storageDir, copied);
    await tar.add(indexMember(id), Buffer.from(`${JSON.stringify(index, null, 1)}\n`));
    await tar.end();
    await handle.sync();
    await handle.close();
    // link(2) never replaces: an archive made meanwhile under the same name stays as it was.
    try {
      await link(tmp, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new HelperError('backup', `${file} appeared meanwhile; it was left as it is`);
      throw err;
    }
    await unlink(tmp);
    await fsyncDir(dirname(file));
    done = true;
    return { location: file, kind: 'archive', index };
  } finally {
    if (!done) {
      await handle.close().catch(() => {});
      await unlink(tmp).catch(() => {});
    }
  }
}
