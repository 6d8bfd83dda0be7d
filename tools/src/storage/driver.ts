// The storage driver: the only way the image store (store.ts) and gc touch data. StorageDriver is
// the interface (read, write, stat, list, walk, move, delete, and the appendable file an upload
// grows); FsDriver is the filesystem backend and s3-driver.ts the object store one.
// The image store knows the OCI rules; a driver knows only files, and makes every write atomic:
// here a temp file in the same folder, fsync, rename, fsync of the folder (common/atomic-write.ts).
// Blob content is read through libuv's thread pool, taking turns (bulk-reads.ts); every other
// operation runs whole in a thread of the file lane, one event-loop round trip each (file-lane.ts).
import { createReadStream } from 'node:fs';
import { open, readdir, rename, rmdir, stat as statPath, statfs, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { AppendWriter } from './append-writer.js';
import { BULK_READS, type BulkReads } from './bulk-reads.js';
import { fileLanes, type FileLanes } from './file-lane.js';

/** PathNotFound is thrown for a path that does not exist. */
export class PathNotFound extends Error {
  readonly code = 'PATH_NOT_FOUND';
  constructor(
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(`path not found: ${path}`, options);
    this.name = 'PathNotFound';
  }
}

/** FileInfo is what stat tells. */
export interface FileInfo {
  size: number;
  mtimeMs: number;
  isDirectory: boolean;
}

function isNotFound(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function notFound(path: string, err: unknown): never {
  if (isNotFound(err)) throw new PathNotFound(path, { cause: err });
  throw err;
}

/** FileReader reads a file at given offsets into the caller's buffers (FsDriver.openReader). */
export interface FileReader {
  /** read fills `buffer` from its start with up to `length` bytes at `position`; resolves the count, 0 at the end. */
  read(buffer: Buffer, length: number, position: number): Promise<number>;
  /** close releases the descriptor; call it once, after the last read has settled. */
  close(): Promise<void>;
}

/** WalkedFile is one file a walk found. */
export interface WalkedFile {
  path: string;
  size: number;
  mtimeMs: number;
}

/** PendingMultipart is an object store's multipart upload not completed yet. */
export interface PendingMultipart {
  /** the path of the object it would become */
  path: string;
  id: string;
  /** when it was started, by the store's clock */
  startedAt: number;
}

/** AppendSink takes an upload's body onto the end of an appendable file (append-writer.ts for files). */
export interface AppendSink {
  /** consume appends all of `body`; `onChunk` sees each piece as it is taken; rejects when the body or a write fails */
  consume(body: Readable, onChunk: (chunk: Buffer) => void): Promise<void>;
  /** close keeps every byte that arrived (the file is the upload's state); safe to call more than once */
  close(): Promise<void>;
}

/**
 * StorageDriver is what the image store and gc need of a backend. Paths are absolute paths under
 * the storage directory (paths.ts builds them); a backend without files maps them to its own keys.
 */
export interface StorageDriver {
  /** kind names the backend in logs and /readyz ('filesystem', 's3') */
  readonly kind: string;
  /**
   * atomicRename: rename is one atomic step (a filesystem). False on an object store, where it is a
   * copy and a delete: there a use records itself before it looks, and gc holds a lease and reads
   * the records before it deletes (gc-lease.ts, docs/storage-s3.md "Several replicas").
   */
  readonly atomicRename: boolean;
  /** warm starts what the first request would otherwise wait for */
  warm(): Promise<void>;
  /** readFile returns the whole content of a (small) file; PathNotFound */
  readFile(path: string): Promise<Buffer>;
  /** readStream streams a range of a file; `end` is inclusive */
  readStream(path: string, range?: { start: number; end: number }): Readable;
  /** openReader opens a file for positioned reads into the caller's buffers; PathNotFound */
  openReader(path: string): Promise<FileReader>;
  /** stat tells size, mtime and kind; PathNotFound */
  stat(path: string): Promise<FileInfo>;
  exists(path: string): Promise<boolean>;
  /** writeFileAtomic: readers see the old content or the new, never a part */
  writeFileAtomic(path: string, data: Buffer | string, mode?: number): Promise<void>;
  /** list gives the names in a folder (empty when it does not exist) */
  list(path: string): Promise<string[]>;
  /** walk yields the files under `dir`, at any depth, whose name `wanted` accepts (all without it) */
  walk(dir: string, wanted?: (name: string) => boolean): AsyncIterable<WalkedFile>;
  /** move puts `from` at `to` durably; with `syncFirst` `from`'s content is durable before it is visible as `to`; PathNotFound */
  move(from: string, to: string, o?: { syncFirst?: boolean }): Promise<void>;
  /** rename moves `from` onto `to` if `from` is there and nothing is in the way; false otherwise (gc's quarantine) */
  rename(from: string, to: string): Promise<boolean>;
  /** delete removes a file or a folder tree; PathNotFound */
  delete(path: string): Promise<void>;
  deleteIfExists(path: string): Promise<boolean>;
  /** removeEmptyFolder removes a folder only when it is empty (a backend without folders has nothing to do) */
  removeEmptyFolder(path: string): Promise<void>;
  /** touch sets a file's mtime to now; PathNotFound */
  touch(path: string): Promise<void>;
  /** usedAt tells when a file was last written or touched; its touch record outlives a rename away (undefined: none) */
  usedAt(path: string): Promise<number | undefined>;
  /** createExclusive writes a small file only if none is there; false when one is (gc's lease) */
  createExclusive(path: string, data: string): Promise<boolean>;
  /** stamp writes an empty file into a folder that must exist; false when it is gone */
  stamp(path: string): Promise<boolean>;
  mkdirp(path: string): Promise<void>;
  /** createFiles makes `dir` and creates each file in it exclusively */
  createFiles(dir: string, files: Array<[path: string, content: string]>): Promise<void>;
  /** openAppend opens an appendable file (an upload's data, made by createFiles) for one body */
  openAppend(path: string): Promise<AppendSink>;
  /** appendedSize tells how many bytes an appendable file holds; PathNotFound */
  appendedSize(path: string): Promise<number>;
  /** finishAppend makes an appendable file readable whole (readStream, move) */
  finishAppend(path: string): Promise<void>;
  /** checkWritable proves a real, durable write works under `dir` now; throws why not */
  checkWritable(dir: string): Promise<void>;
  /** freeBytes tells the space left under `dir`, undefined where the backend has no such limit */
  freeBytes(dir: string): Promise<number | undefined>;
  /** pendingMultipart lists the multipart uploads under `dir` nobody completed yet (S3; a filesystem has none) */
  pendingMultipart?(dir: string): Promise<PendingMultipart[]>;
  /** abortMultipart drops one, with the parts it holds */
  abortMultipart?(upload: PendingMultipart): Promise<void>;
  /** redirectUrl: a short-lived URL a client may GET the file from directly, where configured (S3's presigned URLs) */
  redirectUrl?(path: string): Promise<string | undefined>;
}

/** FsDriver is the filesystem driver. */
export class FsDriver implements StorageDriver {
  readonly kind = 'filesystem';
  readonly atomicRename = true;

  /**
   * bulk: the gate blob reads take turns at (bulk-reads.ts); lanes: the threads every other
   * operation runs in, one round trip each (file-lane.ts): what writes in the sync lane, what only
   * reads in the quick one, so that a stat never waits behind an fsync
   */
  constructor(
    private readonly bulk: BulkReads = BULK_READS,
    private readonly lanes: FileLanes = fileLanes(),
  ) {}

  /** warm starts the lanes' threads (a server does, before its first request). */
  async warm(): Promise<void> {
    await Promise.all([this.lanes.sync.warm(), this.lanes.quick.warm()]);
  }

  /** readFile returns the whole content of a (small) file. */
  async readFile(path: string): Promise<Buffer> {
    try {
      const bytes = await this.lanes.quick.run('readFile', path);
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    } catch (err) {
      return notFound(path, err);
    }
  }

  /** readStream streams a range of a file; `end` is inclusive. Its reads take turns with other streams' (bulk-reads.ts). */
  readStream(path: string, range?: { start: number; end: number }): Readable {
    return createReadStream(path, { highWaterMark: 1024 * 1024, fs: this.bulk.fs, ...(range ?? {}) });
  }

  /**
   * openReader opens a file for reads into buffers the caller owns and reuses (a ReadStream
   * allocates a new one per read); each read takes its turn like readStream's (bulk-reads.ts).
   * PathNotFound when the file does not exist.
   */
  async openReader(path: string): Promise<FileReader> {
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (err) {
      return notFound(path, err);
    }
    const fd = handle.fd;
    const bulkRead = this.bulk.fs.read;
    return {
      read: (buffer, length, position) =>
        new Promise<number>((resolve, reject) => {
          bulkRead(fd, buffer, 0, length, position, (err, bytesRead) => (err ? reject(err) : resolve(bytesRead)));
        }),
      close: () => handle.close(),
    };
  }

  /** stat tells size, mtime and kind. */
  async stat(path: string): Promise<FileInfo> {
    try {
      return await this.lanes.quick.run('stat', path);
    } catch (err) {
      return notFound(path, err);
    }
  }

  /** exists tells whether a path exists. */
  exists(path: string): Promise<boolean> {
    return this.lanes.quick.run('exists', path);
  }

  /** writeFileAtomic writes `data` so that readers see the old content or the new, never a part (common/atomic-write.ts). */
  writeFileAtomic(path: string, data: Buffer | string, mode = 0o644): Promise<void> {
    return this.lanes.sync.run('writeAtomic', path, data, mode);
  }

  /** list gives the names in a folder (empty when it does not exist). */
  list(path: string): Promise<string[]> {
    return this.lanes.quick.run('list', path);
  }

  /**
   * move renames `from` onto `to` (atomic on one filesystem) and makes it durable; with
   * `syncFirst`, `from`'s content is made durable before it becomes visible as `to`.
   */
  async move(from: string, to: string, o: { syncFirst?: boolean } = {}): Promise<void> {
    try {
      await this.lanes.sync.run('move', from, to, o.syncFirst ?? false);
    } catch (err) {
      notFound(from, err);
    }
  }

  /** delete removes a file or a folder tree; a missing path is PathNotFound. */
  async delete(path: string): Promise<void> {
    if (!(await this.lanes.sync.run('deleteIfExists', path))) throw new PathNotFound(path);
  }

  /** deleteIfExists removes a file or folder tree and tells whether it was there. */
  deleteIfExists(path: string): Promise<boolean> {
    return this.lanes.sync.run('deleteIfExists', path);
  }

  /** touch sets a file's mtime to now (gc's grace period reads it). */
  async touch(path: string): Promise<void> {
    try {
      await this.lanes.quick.run('touch', path);
    } catch (err) {
      notFound(path, err);
    }
  }

  /** usedAt is the file's mtime (touch sets it; a rename keeps it with the file). */
  async usedAt(path: string): Promise<number | undefined> {
    return (await this.stat(path).catch(() => undefined))?.mtimeMs;
  }

  /** createExclusive is an open with O_EXCL. */
  async createExclusive(path: string, data: string): Promise<boolean> {
    let handle: FileHandle;
    try {
      handle = await open(path, 'wx', 0o644);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    }
    try {
      await handle.writeFile(data);
    } finally {
      await handle.close();
    }
    return true;
  }

  /**
   * stamp writes an empty file whose mtime records when, into a folder that must exist (it never
   * makes one); false when the folder is gone.
   */
  stamp(path: string): Promise<boolean> {
    return this.lanes.sync.run('stamp', path);
  }

  /** mkdirp creates a folder and its parents. */
  mkdirp(path: string): Promise<void> {
    return this.lanes.sync.run('mkdirp', path);
  }

  /** createFiles makes `dir` and creates each file in it exclusively (an existing one fails all, and `dir` is removed). */
  createFiles(dir: string, files: Array<[path: string, content: string]>): Promise<void> {
    return this.lanes.sync.run('createFiles', dir, files);
  }

  /** walk yields files under `dir` (readdir here: one pass over the tree, a stat only for the wanted). */
  async *walk(dir: string, wanted?: (name: string) => boolean): AsyncIterable<WalkedFile> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const path = join(dir, e.name);
      if (e.isDirectory()) yield* this.walk(path, wanted);
      else if (!wanted || wanted(e.name)) {
        const info = await statPath(path).catch(() => undefined);
        if (info) yield { path, size: info.size, mtimeMs: info.mtimeMs };
      }
    }
  }

  /** rename is a plain rename(2): atomic, no fsync (gc's quarantine, which a crash may leave either way). */
  async rename(from: string, to: string): Promise<boolean> {
    try {
      await rename(from, to);
      return true;
    } catch {
      // ENOENT: nothing there; ENOTEMPTY/EEXIST: a new copy is in the way
      return false;
    }
  }

  /** removeEmptyFolder is rmdir(2), which fails harmlessly on a folder that is not empty. */
  async removeEmptyFolder(path: string): Promise<void> {
    await rmdir(path).catch(() => {});
  }

  /** openAppend opens the file for appends in batches (append-writer.ts). */
  async openAppend(path: string): Promise<AppendSink> {
    try {
      return await AppendWriter.open(path);
    } catch (err) {
      return notFound(path, err);
    }
  }

  /** appendedSize is the file's size. */
  async appendedSize(path: string): Promise<number> {
    return (await this.stat(path)).size;
  }

  /** finishAppend has nothing to do: a file is readable as it grows. */
  async finishAppend(_path: string): Promise<void> {}

  /** checkWritable writes a probe file, syncs it and removes it: a read-only remount or a full disk shows here. */
  async checkWritable(dir: string): Promise<void> {
    const probe = join(dir, `.readyz-${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      const handle = await open(probe, 'wx', 0o600);
      try {
        await handle.writeFile('ok');
        await handle.sync();
      } finally {
        await handle.close();
      }
      await unlink(probe);
    } catch (err) {
      await unlink(probe).catch(() => {});
      throw err;
    }
  }

  /** freeBytes is what statfs tells an unprivileged writer. */
  async freeBytes(dir: string): Promise<number> {
    const st = await statfs(dir);
    return st.bavail * st.bsize;
  }
}
