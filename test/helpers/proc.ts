// What a process holds open, read from /proc (Linux).
import { readdirSync, readlinkSync } from 'node:fs';

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
