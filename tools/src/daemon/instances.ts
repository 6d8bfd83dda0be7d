// Records of the registries running for this user, one small file per serving process, so that
// `status`, `stop`, `start` and the client commands find a registry from any folder without
// --storage:
//
//   $XDG_RUNTIME_DIR/container-registry/instances/<pid>.json
//   <temp dir>/container-registry-<uid>/instances/<pid>.json     (XDG_RUNTIME_DIR unset or relative)
//
// Both folders are the user's alone (0700); a folder in the temp dir that is a link, belongs to
// another user or cannot be made so is never used. A record is the PID file's record (pidfile.ts)
// plus the storage directory. `serve` writes it right after its PID file and removes it when it
// stops; `stop` removes it after a SIGKILL. A record whose process is gone or is another process
// now (its start time differs: a recycled PID) is ignored, and deleted by whoever reads it. The
// PID file in the storage stays the authority on one storage: a record only says where to look.
import { chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { writeFileAtomic } from '../common/atomic-write.js';
import { HelperError } from '../errors/helper-error.js';
import { isAlive, type PidRecord } from './pidfile.js';

/** InstanceRecord is a running server: its PID record and its storage directory. */
export interface InstanceRecord extends PidRecord {
  /** absolute storage directory */
  storage: string;
}

type Env = Readonly<Record<string, string | undefined>>;

const RECORD = /^(\d+)\.json$/;
const uid = (): number | undefined => (typeof process.getuid === 'function' ? process.getuid() : undefined);

/** runtimeDir is the user's folder for the records' folder: $XDG_RUNTIME_DIR/container-registry, else one in the temp dir. */
export function runtimeDir(env: Env = process.env): string {
  const xdg = env.XDG_RUNTIME_DIR;
  // The XDG base directory spec: a relative path is invalid and to be ignored.
  if (xdg && isAbsolute(xdg)) return join(xdg, 'container-registry');
  return join(tmpdir(), `container-registry-${uid() ?? 'user'}`);
}

/** instancesDir is where the records are. */
export function instancesDir(env: Env = process.env): string {
  return join(runtimeDir(env), 'instances');
}

/** privateDir tells whether `dir` is a real folder of this user that no one else may enter, making it 0700 when it is ours but wider. */
function privateDir(dir: string): boolean {
  const st = lstatSync(dir);
  if (!st.isDirectory()) return false;
  const me = uid();
  if (me !== undefined && st.uid !== me) return false;
  if ((st.mode & 0o077) !== 0) chmodSync(dir, 0o700);
  return true;
}

/** usableDir makes (when `create`) and checks the runtime folder and the records' folder; undefined when they are missing or not the user's alone. */
function usableDir(env: Env, create: boolean): string | undefined {
  const base = runtimeDir(env);
  const dir = join(base, 'instances');
  try {
    if (create) mkdirSync(dir, { recursive: true, mode: 0o700 });
    return privateDir(base) && privateDir(dir) ? dir : undefined;
  } catch (err) {
    if (!create && (err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if (create) throw err;
    return undefined;
  }
}

function parseRecord(text: string): InstanceRecord | undefined {
  try {
    const r = JSON.parse(text) as Partial<InstanceRecord>;
    const ok =
      Number.isInteger(r.pid) &&
      typeof r.startTime === 'string' &&
      typeof r.storage === 'string' &&
      isAbsolute(r.storage) &&
      typeof r.host === 'string' &&
      Number.isInteger(r.port) &&
      typeof r.url === 'string';
    return ok ? (r as InstanceRecord) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * runningInstances lists the live records, by storage; a record of a process that is gone or
 * recycled (or one that cannot be read) is deleted on the way. Reading is synchronous: a handful of
 * tiny files, read once per command.
 */
export function runningInstances(env: Env = process.env): InstanceRecord[] {
  const dir = usableDir(env, false);
  if (!dir) return [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: InstanceRecord[] = [];
  for (const name of names) {
    const m = RECORD.exec(name);
    if (!m) continue;
    const file = join(dir, name);
    let rec: InstanceRecord | undefined;
    try {
      rec = parseRecord(readFileSync(file, 'utf8'));
    } catch {
      continue; // gone in between
    }
    if (rec && rec.pid === Number(m[1]) && isAlive(rec)) out.push(rec);
    else rmSync(file, { force: true });
  }
  return out.sort((a, b) => a.storage.localeCompare(b.storage) || a.port - b.port);
}

/** writeInstanceRecord records this serving process (`rec` is what it wrote to its PID file); returns the record's path. */
export async function writeInstanceRecord(rec: PidRecord, storage: string, env: Env = process.env): Promise<string> {
  const dir = usableDir(env, true);
  if (!dir) throw new Error(`${runtimeDir(env)} is not a folder of this user alone`);
  const file = join(dir, `${rec.pid}.json`);
  const full: InstanceRecord = { ...rec, storage };
  await writeFileAtomic(file, `${JSON.stringify(full)}\n`, 0o600);
  return file;
}

/** removeInstanceRecord deletes the record of `rec`'s process, if the record still names that process. */
export function removeInstanceRecord(rec: Pick<PidRecord, 'pid' | 'startTime'>, env: Env = process.env): void {
  const dir = usableDir(env, false);
  if (!dir) return;
  const file = join(dir, `${rec.pid}.json`);
  let found: InstanceRecord | undefined;
  try {
    found = parseRecord(readFileSync(file, 'utf8'));
  } catch {
    return;
  }
  if (!found || found.startTime === rec.startTime) rmSync(file, { force: true });
}

const WILDCARD = new Set(['0.0.0.0', '::', '']);
const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** collides tells whether binding host:port would collide with a server bound to `rec` (same port, same or wildcard host). */
function collides(rec: InstanceRecord, host: string, port: number): boolean {
  if (rec.port !== port) return false;
  const a = rec.host.toLowerCase();
  const b = host.toLowerCase();
  return a === b || WILDCARD.has(a) || WILDCARD.has(b) || (LOOPBACK.has(a) && b === 'localhost') || (a === 'localhost' && LOOPBACK.has(b));
}

/** instanceOnPort is the running registry of ours that holds (or would collide with) host:port, if any. */
export function instanceOnPort(host: string, port: number, env: Env = process.env): InstanceRecord | undefined {
  return runningInstances(env).find((r) => collides(r, host, port));
}

/** portUsedByUs is the error for a port one of our registries holds: which process, which storage, and what to do. */
export function portUsedByUs(rec: InstanceRecord): HelperError {
  return new HelperError(
    'port-in-use',
    `port ${rec.port} is used by container-registry (pid ${rec.pid}, storage ${rec.storage}); \`container-registry stop --storage ${rec.storage}\` stops it, --listen picks another port`,
  );
}

/**
 * clientAddress is how a client command names a running registry: `localhost:PORT` when it listens
 * on loopback or every interface (the name the default URL and the docs use), else its own host.
 */
export function clientAddress(rec: InstanceRecord): string {
  const host = rec.host.toLowerCase();
  if (WILDCARD.has(host) || LOOPBACK.has(host) || host.startsWith('127.')) return `localhost:${rec.port}`;
  return host.includes(':') ? `[${host}]:${rec.port}` : `${host}:${rec.port}`;
}
