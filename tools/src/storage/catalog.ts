// The repository catalog: every folder under repositories/ that has `_manifests` is a repository
// (distribution's catalog.go walks the same way and skips other `_` folders). The catalog the API
// and the web UI show leaves out a repository with no tag and no manifest left (every tag deleted,
// then gc): its folder stays, because removing it could race a push into it (a push is a series of
// requests, any of which may come just as the folder goes), while leaving it out of a listing
// races nothing, and a manifest pushed there lists it again.
import { join } from 'node:path';
import type { StorageDriver } from './driver.js';
import type { StoragePaths } from './paths.js';
import { isValidRepositoryName } from '../oci/names.js';
import { compareLexical, FAN_OUT } from './manifests.js';
import { mapLimited } from '../common/bounded.js';

/** REPOSITORY_PARTS are the folders that make a folder a repository for listRepositoryFolders. */
const REPOSITORY_PARTS = ['_manifests', '_layers', '_uploads'];

async function walkRepositories(paths: StoragePaths, driver: StorageDriver, isRepository: (entries: string[]) => boolean): Promise<string[]> {
  const out: string[] = [];
  async function walk(dir: string, prefix: string): Promise<void> {
    const entries = await driver.list(dir);
    if (isRepository(entries) && prefix && isValidRepositoryName(prefix)) out.push(prefix);
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

/** listRepositories returns every repository name (a folder with `_manifests`) in lexical order. */
export function listRepositories(paths: StoragePaths, driver: StorageDriver): Promise<string[]> {
  return walkRepositories(paths, driver, (entries) => entries.includes('_manifests'));
}

/**
 * listRepositoryFolders returns every folder that holds manifests, blob links or uploads, also one
 * a first push is still filling (blobs before any manifest): what gc must look through.
 */
export function listRepositoryFolders(paths: StoragePaths, driver: StorageDriver): Promise<string[]> {
  return walkRepositories(paths, driver, (entries) => entries.some((e) => REPOSITORY_PARTS.includes(e)));
}

/** hasManifests tells whether a repository holds a tag folder or a manifest revision. */
export async function hasManifests(paths: StoragePaths, driver: StorageDriver, name: string): Promise<boolean> {
  const visible = (names: string[]) => names.some((n) => !n.startsWith('.'));
  if (visible(await driver.list(paths.tagsRoot(name)))) return true;
  const root = paths.manifestRevisionsRoot(name);
  for (const alg of await driver.list(root)) {
    if (!alg.startsWith('.') && visible(await driver.list(join(root, alg)))) return true;
  }
  return false;
}

/** listCatalog returns the repositories that hold a tag or a manifest, in lexical order. */
export async function listCatalog(paths: StoragePaths, driver: StorageDriver): Promise<string[]> {
  const all = await listRepositories(paths, driver);
  const keep = await mapLimited(all, FAN_OUT, (name) => hasManifests(paths, driver, name));
  return all.filter((_, i) => keep[i]);
}
