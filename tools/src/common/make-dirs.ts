// mkdir -p that walks the parent chain itself. Node's `mkdir(path, { recursive: true })` never ends
// where mkdir answers ENOENT although the parent is there (/proc and other pseudo file systems:
// `mkdir /proc/foo` is ENOENT): it makes the parent (EEXIST), tries the child again, and spins a
// CPU for ever (`start --storage /proc/foo`). Here each missing folder is made once, and the first
// failure is the answer.
import { mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

function isDirectory(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

/** makeDirs creates `path` and its missing parents (each with `mode`); a folder that exists is no error. */
export async function makeDirs(path: string, mode?: number): Promise<void> {
  const dir = resolve(path);
  const parent = dirname(dir);
  for (let attempt = 1; ; attempt++) {
    try {
      await mkdir(dir, { mode });
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') {
        // Made meanwhile by another process, or there already: as good, if it is a folder.
        if (await isDirectory(dir)) return;
        throw Object.assign(new Error(`${dir} exists and is not a folder`), { code: 'ENOTDIR', path: dir });
      }
      // A second ENOENT (the parent is there now): this place takes no new folders. The root has no parent.
      if (code !== 'ENOENT' || attempt > 1 || parent === dir) throw err;
    }
    if (!(await isDirectory(parent))) await makeDirs(parent, mode);
  }
}
