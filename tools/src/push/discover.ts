// Discovery in deploy/: DEPLOY_DIR_IMAGE and every machine folder next to it. A `-latest-oci` link
// and the folder it points at are one image; of several builds of an image only the newest is
// pushed; a folder and an archive of the same build are one build (the folder is read).
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { isOciEntryName, parseEntryName } from './naming.js';
import { HelperError } from '../errors/helper-error.js';

/** DeployImage is the newest build of one image in one machine folder. */
export interface DeployImage {
  name: string;
  machine: string;
  /** the entry as found (a link, maybe) */
  entry: string;
  /** the real path read */
  path: string;
  archive: boolean;
  built: number;
}

/** DiscoveryError is a deploy folder that cannot be searched, or a filter that matches nothing. */
export class DiscoveryError extends HelperError {
  constructor(message: string) {
    super('discovery', message);
    this.name = 'DiscoveryError';
  }
}

/** machineFolders lists DEPLOY_DIR_IMAGE and its sibling folders (the other machines' deploy folders). */
export async function machineFolders(deployDir: string): Promise<string[]> {
  const dir = resolve(deployDir);
  try {
    if (!(await stat(dir)).isDirectory()) throw new Error('not a folder');
  } catch (err) {
    throw new DiscoveryError(
      `deploy folder ${dir} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); set DEPLOY_DIR_IMAGE or --deploy-dir`,
    );
  }
  const parent = dirname(dir);
  const out = [dir];
  for (const e of await readdir(parent, { withFileTypes: true }).catch(() => [])) {
    const p = join(parent, e.name);
    if (p === dir) continue;
    if (
      e.isDirectory() ||
      (e.isSymbolicLink() &&
        (await stat(p).then(
          (s) => s.isDirectory(),
          () => false,
        )))
    )
      out.push(p);
  }
  return out;
}

/** discoverImages finds the newest build of every image in every machine folder; `only` filters by name. */
export async function discoverImages(deployDir: string, only: string[] = []): Promise<DeployImage[]> {
  const folders = await machineFolders(deployDir);
  const machines = folders.map((f) => basename(f));
  const found = new Map<string, DeployImage>();
  for (const folder of folders) {
    const machine = basename(folder);
    let entries: string[];
    try {
      entries = await readdir(folder);
    } catch {
      continue;
    }
    for (const entry of entries.sort()) {
      if (!isOciEntryName(entry)) continue;
      const parsed = parseEntryName(entry, [machine, ...machines]);
      if (!parsed?.name) continue;
      const full = join(folder, entry);
      let real: string;
      let isDir: boolean;
      let mtime: number;
      try {
        real = await realpath(full);
        const s = await stat(real);
        isDir = s.isDirectory();
        mtime = s.mtimeMs;
        if (!isDir && !s.isFile()) continue;
        if (
          isDir &&
          !(await stat(join(real, 'index.json')).then(
            (x) => x.isFile(),
            () => false,
          ))
        )
          continue;
      } catch {
        continue; // a dangling -latest link
      }
      // A link's own name has no timestamp: the build time is the target's.
      const target = (await lstat(full)).isSymbolicLink() ? parseEntryName(basename(real), [machine, ...machines]) : parsed;
      const built = target?.built ?? parsed.built ?? mtime;
      const archive = !isDir;
      const key = `${machine}\0${parsed.name}`;
      const prev = found.get(key);
      const candidate: DeployImage = { name: parsed.name, machine, entry, path: real, archive, built };
      if (!prev || built > prev.built || (built === prev.built && prev.archive && !archive)) found.set(key, candidate);
    }
  }
  let images = [...found.values()];
  if (only.length) {
    const wanted = new Set(only);
    images = images.filter((i) => wanted.has(i.name));
    const missing = only.filter((n) => !images.some((i) => i.name === n));
    if (missing.length) {
      const known = [...new Set([...found.values()].map((i) => i.name))].sort();
      throw new DiscoveryError(
        `no image named ${missing.map((m) => JSON.stringify(m)).join(', ')} in ${dirname(resolve(deployDir))}/* (found: ${known.join(', ') || 'none'})`,
      );
    }
  }
  return images.sort((a, b) => a.name.localeCompare(b.name) || a.machine.localeCompare(b.machine));
}
