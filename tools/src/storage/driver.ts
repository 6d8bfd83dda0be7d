// A small storage driver over the local filesystem: read, write, stat, list, move, delete.
// The image store (store.ts) knows the OCI rules; this knows only files, and makes every write
// atomic: a temp file in the same folder, fsync, rename, fsync of the folder (common/atomic-write.ts).
import { createReadStream, type ReadStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fsyncDir, writeFileAtomic } from '../common/atomic-write.js';

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

/** FsDriver is the filesystem driver. */
export class FsDriver {
  /** readFile returns the whole content of a (small) file. */
  async readFile(path: string): Promise<Buffer> {
    try {
      return await readFile(path);
    } catch (err) {
      return notFound(path, err);
    }
  }

  /** readStream streams a range of a file; `end` is inclusive. */
  readStream(path: string, range?: { start: number; end: number }): ReadStream {
    return createReadStream(path, { highWaterMark: 1024 * 1024, ...(range ?? {}) });
  }

  /** stat tells size, mtime and kind. */
  async stat(path: string): Promise<FileInfo> {
    try {
      const st = await stat(path);
      return { size: st.size, mtimeMs: st.mtimeMs, isDirectory: st.isDirectory() };
    } catch (err) {
      return notFound(path, err);
    }
  }

  /** exists tells whether a path exists. */
  async exists(path: string): Promise<boolean> {
    try {
      await stat(path);
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /** writeFileAtomic writes `data` so that readers see the old content or the new, never a part (common/atomic-write.ts). */
  writeFileAtomic(path: string, data: Buffer | string, mode = 0o644): Promise<void> {
    return writeFileAtomic(path, data, mode);
  }

  /** list gives the names in a folder (empty when it does not exist). */
  async list(path: string): Promise<string[]> {
    try {
      return await readdir(path);
    } catch (err) {
      if (isNotFound(err)) return [];
      throw err;
    }
  }

  /** move renames `from` onto `to` (atomic on one filesystem) and makes it durable. */
  async move(from: string, to: string): Promise<void> {
    await mkdir(dirname(to), { recursive: true });
    try {
      await rename(from, to);
    } catch (err) {
      notFound(from, err);
    }
    await fsyncDir(dirname(to));
  }

  /** delete removes a file or a folder tree; a missing path is PathNotFound. */
  async delete(path: string): Promise<void> {
    if (!(await this.exists(path))) throw new PathNotFound(path);
    await rm(path, { recursive: true, force: true });
  }

  /** deleteIfExists removes a file or folder tree and tells whether it was there. */
  async deleteIfExists(path: string): Promise<boolean> {
    if (!(await this.exists(path))) return false;
    await rm(path, { recursive: true, force: true });
    return true;
  }

  /** touch sets a file's mtime to now (gc's grace period reads it). */
  async touch(path: string): Promise<void> {
    const now = new Date();
    try {
      await utimes(path, now, now);
    } catch (err) {
      notFound(path, err);
    }
  }

  /**
   * stamp writes an empty file whose mtime records when, into a folder that must exist (it never
   * makes one); false when the folder is gone.
   */
  async stamp(path: string): Promise<boolean> {
    try {
      await writeFile(path, '');
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /** mkdirp creates a folder and its parents. */
  async mkdirp(path: string): Promise<void> {
    await mkdir(path, { recursive: true });
  }
}
