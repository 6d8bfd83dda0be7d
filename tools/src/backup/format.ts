// What a backup destination holds, and the index of one backup. A destination is a folder shared
// by every backup made into it, or one self-contained tar archive with the same member names:
//
//   <DIR>/                                  or  FILE.tar
//   ├── backup-store.json                    the marker: {"format":"container-registry-backup","version":1}
//   ├── blobs/<alg>/<hex[0:2]>/<hex>         content, stored once by digest (manifests, configs, layers)
//   ├── backups/<id>.json                    one index per backup: what it holds, when, from where
//   └── .lock                                held by create and prune (a folder only)
//
// An index names every blob its images need, so a blob is copied once and shared by every backup
// naming it; prune deletes an index first and then the blobs no remaining index names. An index
// read back is checked as hostile input: names, tags and digests must match their grammars before
// any of them becomes a path.
import { join, posix } from 'node:path';
import { HelperError } from '../errors/helper-error.js';
import { isValidRepositoryName, isValidTag } from '../oci/names.js';
import { tryParseDigest, type Digest } from '../oci/digest.js';

/** BACKUP_FORMAT is the marker's and every index's `format`. */
export const BACKUP_FORMAT = 'container-registry-backup';
/** BACKUP_VERSION is the layout version this helper writes and reads. */
export const BACKUP_VERSION = 1;
/** MARKER_FILE names a destination as one (folder and archive alike). */
export const MARKER_FILE = 'backup-store.json';

/**
 * BACKUP_ID is the shape of a backup id: its UTC start time to the millisecond and a random suffix,
 * so ids sort by time (runs into one folder take turns under its lock, never in one millisecond).
 */
export const BACKUP_ID = /^\d{8}T\d{9}Z-[0-9a-f]{6}$/;

/** isTarPath tells whether a destination names an archive (FILE.tar) rather than a folder. */
export function isTarPath(path: string): boolean {
  return /\.tar$/i.test(path);
}

/** markerText is the marker's content. */
export function markerText(): string {
  return `${JSON.stringify({ format: BACKUP_FORMAT, version: BACKUP_VERSION })}\n`;
}

/** blobMember is where a blob lives in a destination, relative to it (posix, as in an archive). */
export function blobMember(d: Digest): string {
  return posix.join('blobs', d.algorithm, d.hex.slice(0, 2), d.hex);
}

/** indexMember is where the index of backup `id` lives, relative to the destination. */
export function indexMember(id: string): string {
  return posix.join('backups', `${id}.json`);
}

/** BackupPaths builds the paths of a destination folder. */
export class BackupPaths {
  constructor(readonly dir: string) {}

  marker(): string {
    return join(this.dir, MARKER_FILE);
  }

  blobsRoot(): string {
    return join(this.dir, 'blobs');
  }

  blob(d: Digest): string {
    return join(this.dir, blobMember(d));
  }

  backupsRoot(): string {
    return join(this.dir, 'backups');
  }

  index(id: string): string {
    return join(this.dir, indexMember(id));
  }

  lock(): string {
    return join(this.dir, '.lock');
  }
}

/** BackupRepository is one repository as a backup holds it. */
export interface BackupRepository {
  name: string;
  /** tag -> manifest digest */
  tags: Record<string, string>;
  /** every manifest of the repository in the backup (tagged or not, index children, referrers) */
  manifests: string[];
}

/** SkippedManifest is a manifest the metadata pass saw whose content went away before it was copied. */
export interface SkippedManifest {
  repository: string;
  manifest: string;
  /** tags that pointed at it (left out with it) */
  tags: string[];
  /** the blobs or child manifests that were missing */
  missing: string[];
  reason: string;
}

/** BackupIndex is backups/<id>.json. */
export interface BackupIndex {
  format: typeof BACKUP_FORMAT;
  version: typeof BACKUP_VERSION;
  id: string;
  /** when the metadata pass began: a push acknowledged before this is in the backup */
  startedAt: string;
  finishedAt: string;
  source: { storage: string; host: string };
  repositories: BackupRepository[];
  /** digest -> size of every blob the backup needs, manifests included */
  blobs: Record<string, number>;
  counts: { repositories: number; tags: number; manifests: number; blobs: number };
  /** the bytes of every blob above */
  bytes: number;
  /** what this run copied (the rest was in the destination already) */
  copied: { blobs: number; bytes: number };
  skipped: SkippedManifest[];
}

/** newBackupId names a backup started at `at`. */
export function newBackupId(at: Date, random: string): string {
  return `${at.toISOString().replace(/[-:.]/g, '')}-${random}`;
}

function bad(where: string, why: string): HelperError {
  return new HelperError('no-backup', `${where} is not a backup index this helper can read: ${why}`);
}

/** parseIndex checks an index read from `where` (a hostile file until proven otherwise). */
export function parseIndex(text: string, where: string, id: string): BackupIndex {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw bad(where, 'not JSON');
  }
  const o = v as Partial<BackupIndex>;
  if (typeof o !== 'object' || o === null) throw bad(where, 'not an object');
  if (o.format !== BACKUP_FORMAT) throw bad(where, 'format is not container-registry-backup');
  if (o.version !== BACKUP_VERSION) throw bad(where, `version ${JSON.stringify(o.version)} (this helper reads ${BACKUP_VERSION})`);
  if (o.id !== id) throw bad(where, 'its id is not its file name');
  if (typeof o.startedAt !== 'string' || typeof o.finishedAt !== 'string') throw bad(where, 'no times');
  if (!o.blobs || typeof o.blobs !== 'object') throw bad(where, 'no blobs');
  for (const [d, size] of Object.entries(o.blobs)) {
    if (!tryParseDigest(d)) throw bad(where, `bad digest ${JSON.stringify(d.slice(0, 80))}`);
    if (!Number.isSafeInteger(size) || size < 0) throw bad(where, `bad size of ${d}`);
  }
  if (!Array.isArray(o.repositories)) throw bad(where, 'no repositories');
  for (const r of o.repositories) {
    if (!r || typeof r.name !== 'string' || !isValidRepositoryName(r.name)) throw bad(where, 'a bad repository name');
    if (!Array.isArray(r.manifests) || !r.tags || typeof r.tags !== 'object') throw bad(where, `repository ${r.name} is malformed`);
    for (const m of r.manifests)
      if (typeof m !== 'string' || !(m in o.blobs)) throw bad(where, `${r.name}: manifest ${String(m).slice(0, 80)} is not among its blobs`);
    for (const [tag, d] of Object.entries(r.tags)) {
      if (!isValidTag(tag)) throw bad(where, `${r.name}: bad tag ${JSON.stringify(tag.slice(0, 80))}`);
      if (typeof d !== 'string' || !r.manifests.includes(d)) throw bad(where, `${r.name}:${tag} names no manifest of the backup`);
    }
  }
  if (!o.source || typeof o.source.storage !== 'string') throw bad(where, 'no source');
  return {
    ...(o as BackupIndex),
    counts: o.counts ?? { repositories: 0, tags: 0, manifests: 0, blobs: 0 },
    copied: o.copied ?? { blobs: 0, bytes: 0 },
    skipped: Array.isArray(o.skipped) ? o.skipped : [],
  };
}

/** parseMarker checks a marker's text; false when it is not ours. */
export function isMarker(text: string): boolean {
  try {
    const v = JSON.parse(text) as { format?: unknown; version?: unknown };
    return v.format === BACKUP_FORMAT && v.version === BACKUP_VERSION;
  } catch {
    return false;
  }
}
