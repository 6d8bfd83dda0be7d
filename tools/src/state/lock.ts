// A lock file, so two processes (a `start` and a BitBake task, say) never write the same secrets at once.
import { open, readFile, stat, unlink, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { HelperError } from '../errors/helper-error.js';
import { isProcessAlive } from '../common/process.js';

// A holder that died leaves its lock behind; after this long it is taken over.
const STALE_MS = 60_000;

async function isStale(path: string): Promise<boolean> {
  try {
    const [st, text] = await Promise.all([stat(path), readFile(path, 'utf8')]);
    const pid = Number(text.trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !isProcessAlive(pid)) return true;
    return Date.now() - st.mtimeMs > STALE_MS;
  } catch {
    return false;
  }
}

/** LockBusy is thrown when another live process keeps holding a lock (code `locked`). */
export class LockBusy extends HelperError {
  constructor(readonly path: string) {
    super('locked', `another process holds ${path}; remove it if no container-registry is running`);
    this.name = 'LockBusy';
  }
}

/** withLock runs `fn` while holding the lock file `path` (created exclusively; waits up to `timeoutMs`). */
export async function withLock<T>(path: string, fn: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const handle = await open(path, 'wx', 0o600);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (await isStale(path)) {
        await unlink(path).catch(() => {});
        continue;
      }
      if (Date.now() > deadline) throw new LockBusy(path);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    return await fn();
  } finally {
    await unlink(path).catch(() => {});
  }
}
