// The one atomic file write, used by the storage driver, the state directory (pki/, auth/, PID file,
// gc-stats.json) and the files written for targets and the script: a temp file in the same folder
// created with its final mode, fsync, rename, fsync of the folder. A reader sees the old content or
// the new, never a part, and never a wider mode.
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { dirname, join, basename } from 'node:path';
import { randomBytes } from 'node:crypto';

/** TEMP_FILE matches the names tempPath gives: `.<name>.tmp-<pid>-<hex>` (gc removes old ones). */
export const TEMP_FILE = /^\..+\.tmp-(\d+)-[0-9a-f]{12}$/;

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

async function writeOnce(path: string, data: Uint8Array | string, mode: number): Promise<void> {
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

/**
 * writeFileAtomic writes `data` so that readers see the old content or the new, never a part; the
 * file is created with `mode` (0600 for keys and passwords, from the first byte). A folder that
 * vanishes meanwhile (gc setting a revision aside) is made again and the write retried.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string, mode = 0o644): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await writeOnce(path, data, mode);
      return;
    } catch (err) {
      if (attempt >= 3 || (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}
