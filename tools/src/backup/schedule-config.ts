// What serve's scheduled backups are told (--backup-every, --backup-keep, --backup-dir), parsed
// without loading the backup code itself: schedule.ts runs them.
import { HelperError } from '../errors/helper-error.js';

/** BackupSchedule is what serve is told to do. */
export interface BackupSchedule {
  dir: string;
  everyMs: number;
  keep: number;
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** MIN_INTERVAL_MS is the shortest interval taken (a second: tests; a real one is hours). */
export const MIN_INTERVAL_MS = 1000;

/** parseDuration reads `90s`, `15m`, `6h`, `1d`, or sums of them (`1h30m`); `label` names the flag in errors. */
export function parseDuration(label: string, text: string): number {
  const v = text.trim().toLowerCase();
  const parts = [...v.matchAll(/(\d+)([smhd])/g)];
  const total = parts.reduce((ms, p) => ms + Number(p[1]) * UNITS[p[2]!]!, 0);
  if (!v || parts.map((p) => p[0]).join('') !== v || total < MIN_INTERVAL_MS) {
    throw new HelperError('usage', `${label} must be a duration such as 30m, 6h, 1d or 1h30m (at least 1s), not ${JSON.stringify(text)}`);
  }
  return total;
}
