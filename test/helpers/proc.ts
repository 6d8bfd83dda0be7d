// What a process holds open, read from /proc (Linux).
import { readdirSync, readlinkSync } from 'node:fs';
import { processStartTime } from '../../tools/src/daemon/pidfile.js';

/** openFilesMatching counts the descriptors of `pid` whose target path passes `test`. */
export function openFilesMatching(pid: number | 'self', test: (path: string) => boolean): number {
  const dir = `/proc/${pid}/fd`;
  return readdirSync(dir).filter((fd) => {
    try {
      return test(readlinkSync(`${dir}/${fd}`));
    } catch {
      return false; // closed while we looked
    }
  }).length;
}

/** alive tells whether `pid` is a live process (not a zombie: it has a start time in /proc). */
export function alive(pid: number): boolean {
  return processStartTime(pid) !== undefined;
}
