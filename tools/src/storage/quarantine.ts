// gc's quarantine: content gc means to delete is first renamed aside (readers see it gone), and only
// deleted after a settle period in which nothing used it. Any use in between (a manifest PUT that
// references it, a pull, a HEAD) renames it back; gc's final delete is itself a rename of the
// quarantined name, so of a use and the delete exactly one wins, atomically, and a push is never
// answered 201 for content that is then deleted.
import { rename, rm } from 'node:fs/promises';
import type { StoragePaths } from './paths.js';
import type { Digest } from '../oci/digest.js';

async function renamed(from: string, to: string): Promise<boolean> {
  try {
    await rename(from, to);
    return true;
  } catch {
    // ENOENT: nothing set aside (the usual case), or gc deleted it first; ENOTEMPTY/EEXIST: a new copy is there
    return false;
  }
}

/** restoreBlob puts a quarantined blob back; false when there was none to restore. */
export function restoreBlob(paths: StoragePaths, d: Digest): Promise<boolean> {
  return renamed(paths.blobQuarantine(d), paths.blobData(d));
}

/** restoreRevision puts a quarantined manifest revision back; false when there was none. */
export function restoreRevision(paths: StoragePaths, repo: string, d: Digest): Promise<boolean> {
  return renamed(paths.manifestRevisionQuarantine(repo, d), paths.manifestRevisionDir(repo, d));
}

/** setBlobAside moves a blob's content to its quarantine name; false when it was gone. */
export function setBlobAside(paths: StoragePaths, d: Digest): Promise<boolean> {
  return renamed(paths.blobData(d), paths.blobQuarantine(d));
}

/** setRevisionAside moves a manifest revision to its quarantine name; false when it was gone. */
export function setRevisionAside(paths: StoragePaths, repo: string, d: Digest): Promise<boolean> {
  return renamed(paths.manifestRevisionDir(repo, d), paths.manifestRevisionQuarantine(repo, d));
}

/**
 * deleteQuarantinedBlob deletes a blob still in quarantine; false when a use restored it first.
 * The rename to a doomed name is the atomic step; a restore after it finds nothing.
 */
export async function deleteQuarantinedBlob(paths: StoragePaths, d: Digest): Promise<boolean> {
  const doomed = `${paths.blobQuarantine(d)}.delete`;
  if (!(await renamed(paths.blobQuarantine(d), doomed))) return false;
  await rm(doomed, { force: true });
  return true;
}

/** deleteQuarantinedRevision deletes a revision still in quarantine; false when a use restored it first. */
export async function deleteQuarantinedRevision(paths: StoragePaths, repo: string, d: Digest): Promise<boolean> {
  const doomed = `${paths.manifestRevisionQuarantine(repo, d)}.delete`;
  if (!(await renamed(paths.manifestRevisionQuarantine(repo, d), doomed))) return false;
  await rm(doomed, { recursive: true, force: true });
  return true;
}
