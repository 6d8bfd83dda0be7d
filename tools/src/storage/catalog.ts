// The repository catalog: every folder under repositories/ that has `_manifests` is a repository
// (distribution's catalog.go walks the same way and skips other `_` folders).
import { join } from 'node:path';
import type { FsDriver } from './driver.js';
import type { StoragePaths } from './paths.js';
import { isValidRepositoryName } from '../oci/names.js';
import { compareLexical } from './manifests.js';

/** listRepositories returns every repository name in lexical order. */
export async function listRepositories(paths: StoragePaths, driver: FsDriver): Promise<string[]> {
  const out: string[] = [];
  async function walk(dir: string, prefix: string): Promise<void> {
    const entries = await driver.list(dir);
    if (entries.includes('_manifests') && prefix && isValidRepositoryName(prefix)) out.push(prefix);
    for (const entry of entries) {
      if (entry.startsWith('_') || entry.startsWith('.')) continue;
      const path = join(dir, entry);
      let info;
      try {
        info = await driver.stat(path);
      } catch {
        continue;
      }
      if (info.isDirectory) await walk(path, prefix ? `${prefix}/${entry}` : entry);
    }
  }
  await walk(paths.repositoriesRoot(), '');
  return out.sort(compareLexical);
}
