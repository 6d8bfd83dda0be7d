// gc runs as its own process (`container-registry gc`), so the server cannot count its runs in
// memory: each run adds its report to gc-stats.json in the state directory, and /metrics reads it.
// Cumulative totals, so the server exports them as counters.
import { readFile } from 'node:fs/promises';
import type { GcReport } from '../storage/gc.js';
import type { StateDir } from './state-dir.js';

/** GcStats are the totals over every gc run on this storage. */
export interface GcStats {
  runs: number;
  bytesFreed: number;
  blobsDeleted: number;
  /** cached manifests expired by --cache-max-age/--cache-max-size */
  cacheExpired: number;
  /** ISO time of the last run, with what it freed */
  lastRun?: string;
  lastBytesFreed?: number;
}

/** readGcStats reads the totals; none yet (or unreadable) reads as zero runs. */
export async function readGcStats(state: StateDir): Promise<GcStats> {
  try {
    const v = JSON.parse(await readFile(state.gcStats(), 'utf8')) as Partial<GcStats>;
    return {
      runs: Number(v.runs) || 0,
      bytesFreed: Number(v.bytesFreed) || 0,
      blobsDeleted: Number(v.blobsDeleted) || 0,
      cacheExpired: Number(v.cacheExpired) || 0,
      ...(typeof v.lastRun === 'string' ? { lastRun: v.lastRun, lastBytesFreed: Number(v.lastBytesFreed) || 0 } : {}),
    };
  } catch {
    return { runs: 0, bytesFreed: 0, blobsDeleted: 0, cacheExpired: 0 };
  }
}

/** recordGcRun adds one (non dry-run) report to the totals, written atomically. */
export async function recordGcRun(state: StateDir, report: GcReport, now = new Date()): Promise<GcStats> {
  const before = await readGcStats(state);
  const after: GcStats = {
    runs: before.runs + 1,
    bytesFreed: before.bytesFreed + report.bytesFreed,
    blobsDeleted: before.blobsDeleted + report.blobsDeleted.length,
    cacheExpired: before.cacheExpired + report.cacheExpired.length,
    lastRun: now.toISOString(),
    lastBytesFreed: report.bytesFreed,
  };
  await state.writeFile(state.gcStats(), `${JSON.stringify(after)}\n`, 0o644);
  return after;
}
