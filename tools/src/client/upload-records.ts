// Upload sessions remembered across processes, so a push that is killed mid-upload (Ctrl-C,
// kill -9, a killed BitBake task) goes on next time from what the registry holds, instead of
// sending the blob again and leaving the old session orphaned on the registry.
//
//   $XDG_CACHE_HOME/container-registry/uploads/     (else ~/.cache/...; folders 0700)
//   ├── <key>.<id>.json     one streamed upload session a push started (file 0600); key is a
//   │                       hash of registry, repository and digest, id is random per session
//   └── .<id>.tmp           a record being written, renamed into place when complete
//
// A record holds the registry's origin, the repository, digest and size, the upload Location, when
// it was saved and which process (pid, host) owns it: never credentials or tokens. It is written
// before the first byte goes out and removed when the blob is committed or the session is known
// dead. The next push of the same blob takes a record whose owner is gone by renaming it (only one
// rename wins), so two pushes never share a session; a record of a live process (this one, or
// another on this host) or of another host is left alone. Records older than RECORD_MAX_AGE_MS
// are ignored and removed, and the folder never holds more than RECORDS_MAX files.
import { createHash, randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { homedir, hostname } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { isProcessAlive } from '../common/process.js';

/** RECORD_MAX_AGE_MS is how long a record is trusted (registries collect old sessions anyway). */
export const RECORD_MAX_AGE_MS = 7 * 24 * 3600 * 1000;

/** RECORDS_MAX bounds the folder: the oldest files go first. */
export const RECORDS_MAX = 256;

/** UploadRecord is what is remembered of one streamed upload session. */
export interface UploadRecord {
  /** the registry's origin (`https://host:port`) */
  registry: string;
  repository: string;
  digest: string;
  size: number;
  /** the upload Location (absolute, on the registry's origin, no secret query parameters) */
  location: string;
  /** when it was written (ms since the epoch) */
  savedAt: number;
  /** the process that owns the session, and its host */
  pid: number;
  host: string;
}

/** SavedUpload is a record this process wrote: forget it when its session is over. */
export interface SavedUpload {
  file: string;
  record: UploadRecord;
}

/** uploadRecordsDir is `$XDG_CACHE_HOME/container-registry/uploads` (else `~/.cache/...`); undefined without a home. */
export function uploadRecordsDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  // The XDG base directory spec says a relative XDG_CACHE_HOME is invalid and to be ignored.
  const xdg = env.XDG_CACHE_HOME;
  if (xdg && isAbsolute(xdg)) return join(xdg, 'container-registry', 'uploads');
  let home = env.HOME;
  if (!home) {
    try {
      home = homedir();
    } catch {
      home = undefined;
    }
  }
  return home && isAbsolute(home) ? join(home, '.cache', 'container-registry', 'uploads') : undefined;
}

/** SECRET_PARAM names query parameters that may carry a credential (pre-signed URLs, tokens). */
const SECRET_PARAM = /token|auth|sig|secret|credential|passw|key|jwt|session|policy|code|^x-amz-|^x-goog-/i;
/** JWT_VALUE looks like a JSON Web Token, whatever its parameter's name. */
const JWT_VALUE = /^eyJ[\w-]+\.[\w-]+\.[\w-]*$/;

/**
 * persistableLocation is the upload Location as it may be written to disk, or undefined when it
 * must not be. Refused (not stripped: without its parameters the URL would not work anyway): a
 * Location on another origin than the registry (a storage backend's URL may itself be the
 * credential), one with userinfo, and one whose query holds anything that looks like a token.
 *
 * distribution's `_state` is kept. It is no secret: the registry's own bookkeeping (repository,
 * upload id, offset, start time) in readable base64, signed with its HTTP secret, and every request
 * on the session still needs the Authorization header. Across processes it seldom helps:
 * distribution 2.8 checks the signed offset against what the session holds and answers 404 "upload
 * resumed at wrong offset" to any session cut mid-PATCH (its clean-up there fails, the writer being
 * closed first: registry/handlers/blobupload.go ResumeBlobUpload), so that session waits for the
 * registry's upload purging. But without `_state` the Location names no session at all (400 to
 * every request), while with it a session the killed push opened and sent nothing to is found and
 * deleted, and one whose offset does match resumes.
 */
export function persistableLocation(location: string, registryOrigin: string): string | undefined {
  let u: URL;
  try {
    u = new URL(location);
  } catch {
    return undefined;
  }
  if (u.origin !== registryOrigin || u.username || u.password) return undefined;
  for (const [name, value] of u.searchParams) {
    if (name === '_state') continue;
    if (SECRET_PARAM.test(name) || JWT_VALUE.test(value)) return undefined;
  }
  u.hash = '';
  return u.toString();
}

function keyOf(registry: string, repository: string, digest: string): string {
  return createHash('sha256').update(`${registry}\n${repository}\n${digest}`).digest('hex').slice(0, 32);
}

function isRecord(x: unknown): x is UploadRecord {
  const r = x as UploadRecord;
  return (
    typeof r === 'object' &&
    r !== null &&
    typeof r.registry === 'string' &&
    typeof r.repository === 'string' &&
    typeof r.digest === 'string' &&
    Number.isSafeInteger(r.size) &&
    typeof r.location === 'string' &&
    Number.isFinite(r.savedAt) &&
    Number.isSafeInteger(r.pid) &&
    typeof r.host === 'string'
  );
}

/**
 * UploadRecords is the folder of remembered sessions. Every operation is best effort: a cache that
 * cannot be written (read-only home, full disk) only means a killed push starts over, as it did
 * before, never that a push fails.
 */
export class UploadRecords {
  private ready: Promise<boolean> | undefined;
  private readonly maxAgeMs: number;
  private readonly maxRecords: number;

  constructor(
    readonly dir: string,
    opts: { maxAgeMs?: number; maxRecords?: number } = {},
  ) {
    this.maxAgeMs = opts.maxAgeMs ?? RECORD_MAX_AGE_MS;
    this.maxRecords = opts.maxRecords ?? RECORDS_MAX;
  }

  /** forUser is the records of the user's cache folder (see uploadRecordsDir), or undefined without one. */
  static forUser(env: NodeJS.ProcessEnv = process.env): UploadRecords | undefined {
    const dir = uploadRecordsDir(env);
    return dir ? new UploadRecords(dir) : undefined;
  }

  /** take claims the newest usable record of `digest` in `repository` of `registry`: it is then this process's alone. */
  async take(registry: string, repository: string, digest: string, size: number): Promise<UploadRecord | undefined> {
    if (!(await this.prepare())) return undefined;
    const prefix = `${keyOf(registry, repository, digest)}.`;
    let names: string[];
    try {
      names = (await readdir(this.dir)).filter((n) => n.startsWith(prefix) && n.endsWith('.json'));
    } catch {
      return undefined;
    }
    const found: Array<{ name: string; record: UploadRecord }> = [];
    for (const name of names) {
      const record = await this.read(name);
      if (!record) continue;
      // The Location is checked again: a record is data from disk, and only the registry gets bytes.
      const fits =
        record.registry === registry &&
        record.repository === repository &&
        record.digest === digest &&
        record.size === size &&
        persistableLocation(record.location, registry) === record.location;
      if (!fits || Date.now() - record.savedAt > this.maxAgeMs) {
        await unlink(join(this.dir, name)).catch(() => undefined);
        continue;
      }
      if (!this.ownerGone(record)) continue;
      found.push({ name, record });
    }
    found.sort((a, b) => b.record.savedAt - a.record.savedAt);
    for (const { name, record } of found) {
      // The claim: one rename wins, every other process gets ENOENT. A name is never written twice,
      // so what was read is what was claimed.
      const claimed = join(this.dir, `.${randomBytes(8).toString('hex')}.taken`);
      try {
        await rename(join(this.dir, name), claimed);
      } catch {
        continue;
      }
      // Until save() writes this process's own record (one status request later), the session
      // is only in memory: a kill just then orphans it, as every kill did before records existed.
      await unlink(claimed).catch(() => undefined);
      return record;
    }
    return undefined;
  }

  /** save writes a record of a session this process is about to send (or go on sending) bytes to. */
  async save(entry: Omit<UploadRecord, 'savedAt' | 'pid' | 'host'>): Promise<SavedUpload | undefined> {
    const location = persistableLocation(entry.location, entry.registry);
    if (!location || !(await this.prepare())) return undefined;
    const record: UploadRecord = { ...entry, location, savedAt: Date.now(), pid: process.pid, host: hostname() };
    const id = randomBytes(8).toString('hex');
    const tmp = join(this.dir, `.${id}.tmp`);
    const file = join(this.dir, `${keyOf(record.registry, record.repository, record.digest)}.${id}.json`);
    try {
      // 'wx' creates a new file (never follows a planted link); the mode is set before any byte.
      const fh = await open(tmp, 'wx', 0o600);
      try {
        await fh.writeFile(`${JSON.stringify(record)}\n`);
      } finally {
        await fh.close();
      }
      await rename(tmp, file);
      return { file, record };
    } catch {
      await unlink(tmp).catch(() => undefined);
      return undefined;
    }
  }

  /** forget removes a record this process saved (the blob is committed, or its session is dead). */
  async forget(saved: SavedUpload | undefined): Promise<void> {
    if (saved) await unlink(saved.file).catch(() => undefined);
  }

  /** ownerGone tells whether a record's session has nobody sending to it any more. */
  private ownerGone(record: UploadRecord): boolean {
    // Another host's process cannot be checked from here: its record waits until it ages out.
    if (record.host !== hostname()) return false;
    if (record.pid === process.pid) return false;
    return !isProcessAlive(record.pid);
  }

  private async read(name: string): Promise<UploadRecord | undefined> {
    try {
      const doc = JSON.parse(await readFile(join(this.dir, name), 'utf8')) as unknown;
      if (isRecord(doc)) return doc;
    } catch {
      // gone meanwhile (another push took it), or unreadable: removed below when it is there
    }
    await unlink(join(this.dir, name)).catch(() => undefined);
    return undefined;
  }

  /** prepare makes the folder (0700) and prunes it, once per process; false when it cannot be used. */
  private prepare(): Promise<boolean> {
    return (this.ready ??= (async () => {
      try {
        await mkdir(this.dir, { recursive: true, mode: 0o700 });
        // Only a real folder of this user's (not a link, not someone else's under a shared
        // XDG_CACHE_HOME); one made with a looser mode is tightened.
        const st = await lstat(this.dir);
        if (!st.isDirectory() || (typeof process.getuid === 'function' && st.uid !== process.getuid())) return false;
        await chmod(this.dir, 0o700);
        await this.prune();
        return true;
      } catch {
        return false;
      }
    })());
  }

  /** prune removes files older than the age limit, then the oldest ones above the count limit. */
  private async prune(): Promise<void> {
    const now = Date.now();
    const files: Array<{ path: string; mtimeMs: number }> = [];
    for (const name of await readdir(this.dir)) {
      const path = join(this.dir, name);
      const st = await stat(path).catch(() => undefined);
      if (!st?.isFile()) continue;
      // A .tmp or a .taken file older than a minute belongs to a process that died writing it.
      const leftover = !name.endsWith('.json') && now - st.mtimeMs > 60_000;
      if (leftover || now - st.mtimeMs > this.maxAgeMs) await unlink(path).catch(() => undefined);
      else files.push({ path, mtimeMs: st.mtimeMs });
    }
    files.sort((a, b) => a.mtimeMs - b.mtimeMs);
    for (const f of files.slice(0, Math.max(0, files.length - this.maxRecords))) await unlink(f.path).catch(() => undefined);
  }
}
