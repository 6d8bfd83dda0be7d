// The PID file of a running server, in the storage dir (never a shared /tmp). It records enough to
// tell our live server from a stale file or a recycled PID: the process start time from /proc and
// an instance id the server sends on every response.
import { readFile, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../common/atomic-write.js';

/** PidRecord is what the PID file holds. */
export interface PidRecord {
  pid: number;
  /** /proc/<pid>/stat field 22, the start time in clock ticks since boot */
  startTime: string;
  instance: string;
  url: string;
  host: string;
  port: number;
  tls: boolean;
  /** serving read-only (`serve --read-only`): pulls only; a restore may write meanwhile */
  readOnly?: boolean;
}

/** processStartTime reads a process's start time, or undefined when there is no such process. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and ')', so count from the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (rest[0] === 'Z' || rest[0] === 'X') return undefined; // exited, not yet reaped
    return rest[19];
  } catch {
    return undefined;
  }
}

/** isAlive tells whether the process recorded in `rec` is still that process. */
export function isAlive(rec: PidRecord): boolean {
  const now = processStartTime(rec.pid);
  return now !== undefined && now === rec.startTime;
}

/** writePidFile records this process. */
export async function writePidFile(path: string, rec: Omit<PidRecord, 'pid' | 'startTime'>): Promise<PidRecord> {
  const full: PidRecord = { pid: process.pid, startTime: processStartTime(process.pid) ?? '', ...rec };
  await writeFileAtomic(path, `${JSON.stringify(full)}\n`);
  return full;
}

/** readPidFile reads the record, or undefined when the file is missing or unreadable. */
export async function readPidFile(path: string): Promise<PidRecord | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const rec = JSON.parse(text) as PidRecord;
    if (!Number.isInteger(rec.pid) || typeof rec.startTime !== 'string') return undefined;
    return rec;
  } catch {
    return undefined;
  }
}

/** removePidFileIfOurs deletes the PID file when it still names `pid`. */
export async function removePidFileIfOurs(path: string, pid: number): Promise<void> {
  const rec = await readPidFile(path);
  if (rec && rec.pid === pid) await rm(path, { force: true });
}
