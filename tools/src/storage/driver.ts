// A small storage driver over the local filesystem: read, write, stat, list, move, delete.
// The image store (store.ts) knows the OCI rules; this knows only files, and makes every write
// atomic: a temp file in the same folder, fsync, rename, fsync of the folder.
import { createReadStream, type ReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink, utimes } from 'node:fs/promises';
import { dirname, join, basename } from 'node:path';
import { randomBytes } from 'node:crypto';

/** PathNotFound is thrown for a path that does not exist. */
export class PathNotFound extends Error {
  readonly code = 'PATH_NOT_FOUND';
  constructor(readonly path: string, options?: { cause?: unknown }) {
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

/** tempPath names a temp file beside `path`, so rename() stays on one filesystem. */
export function tempPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
}

/** fsyncDir makes a rename in `dir` durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function writeOnce(path: string, data: Buffer | string, mode: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = tempPath(path);
  const handle = await open(tmp, 'wx', mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (err) {
    await handle.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await handle.close();
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await fsyncDir(dirname(path));
}

/** TEMP_FILE matches the names tempPath gives: `.<name>.tmp-<pid>-<hex>` (gc removes old ones). */
export const TEMP_FILE = /^\..+\.tmp-(\d+)-[0-9a-f]{12}$/;

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

  /**
   * writeFileAtomic writes `data` so that readers see the old content or the new, never a part.
   * A folder that vanishes meanwhile (gc setting a revision aside) is made again and the write retried.
   */
  async writeFileAtomic(path: string, data: Buffer | string, mode = 0o644): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await writeOnce(path, data, mode);
        return;
      } catch (err) {
        if (attempt >= 3 || (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
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

  /** mkdirp creates a folder and its parents. */
  async mkdirp(path: string): Promise<void> {
    await mkdir(path, { recursive: true });
  }
}
