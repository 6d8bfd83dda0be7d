// gc's quarantine: content gc means to delete is first renamed aside (readers see it gone), and only
// deleted after a settle period in which nothing used it. Any use in between (a manifest PUT that
// references it, a pull, a HEAD) renames it back; gc's final delete is itself a rename of the
// quarantined name, so of a use and the delete exactly one wins, atomically, and a push is never
// answered 201 for content that is then deleted.
// On a filesystem each step is one rename(2); an object store has no atomic rename, so there the
// steps are copies and deletes (s3-driver.ts) and replicas coordinate as docs/storage-s3.md says.
import type { StorageDriver } from './driver.js';
import type { StoragePaths } from './paths.js';
import type { Digest } from '../oci/digest.js';

/** restoreBlob puts a quarantined blob back; false when there was none to restore. */
export function restoreBlob(driver: StorageDriver, paths: StoragePaths, d: Digest): Promise<boolean> {
  return driver.rename(paths.blobQuarantine(d), paths.blobData(d));
}

/** restoreRevision puts a quarantined manifest revision back; false when there was none. */
export function restoreRevision(driver: StorageDriver, paths: StoragePaths, repo: string, d: Digest): Promise<boolean> {
  return driver.rename(paths.manifestRevisionQuarantine(repo, d), paths.manifestRevisionDir(repo, d));
}

/** setBlobAside moves a blob's content to its quarantine name; false when it was gone. */
export function setBlobAside(driver: StorageDriver, paths: StoragePaths, d: Digest): Promise<boolean> {
  return driver.rename(paths.blobData(d), paths.blobQuarantine(d));
}

/** setRevisionAside moves a manifest revision to its quarantine name; false when it was gone. */
export function setRevisionAside(driver: StorageDriver, paths: StoragePaths, repo: string, d: Digest): Promise<boolean> {
  return driver.rename(paths.manifestRevisionDir(repo, d), paths.manifestRevisionQuarantine(repo, d));
}

/**
 * deleteQuarantinedBlob deletes a blob still in quarantine; false when a use restored it first.
 * The rename to a doomed name is the atomic step; a restore after it finds nothing.
 */
export async function deleteQuarantinedBlob(driver: StorageDriver, paths: StoragePaths, d: Digest): Promise<boolean> {
  const doomed = `${paths.blobQuarantine(d)}.delete`;
  if (!(await driver.rename(paths.blobQuarantine(d), doomed))) return false;
  await driver.deleteIfExists(doomed);
  return true;
}

/** deleteQuarantinedRevision deletes a revision still in quarantine; false when a use restored it first. */
export async function deleteQuarantinedRevision(driver: StorageDriver, paths: StoragePaths, repo: string, d: Digest): Promise<boolean> {
  const doomed = `${paths.manifestRevisionQuarantine(repo, d)}.delete`;
  if (!(await driver.rename(paths.manifestRevisionQuarantine(repo, d), doomed))) return false;
  await driver.deleteIfExists(doomed);
  return true;
}
