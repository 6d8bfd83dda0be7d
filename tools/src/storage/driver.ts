// A small storage driver over the local filesystem: read, write, stat, list, move, delete.
// The image store (store.ts) knows the OCI rules; this knows only files, and makes every write
// atomic: a temp file in the same folder, fsync, rename, fsync of the folder (common/atomic-write.ts).
// Blob content is read through libuv's thread pool, taking turns (bulk-reads.ts); every other
// operation runs whole in a thread of the file lane, one event-loop round trip each (file-lane.ts).
import { createReadStream, type ReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
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

/** FsDriver is the filesystem driver. */
export class FsDriver {
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
  readStream(path: string, range?: { start: number; end: number }): ReadStream {
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
}
