// BitBake's buildstats as a trace: one process per recipe, one complete event per task run, with
// the task's CPU and I/O figures as args; the host's CPU use and pressure as counters.
//
// The layout oe-core's buildstats.bbclass writes (scarthgap to master; scripts/lib/buildstats.py
// and pybootchartgui's parser read the same):
//
//   tmp/buildstats/<BUILDNAME>/
//     build_stats                "Host Info: ...", "Build Started: <epoch>", "Elapsed time: N seconds",
//                                "CPU usage: N%", "Failed at: <PF> at task: <task>"
//     <PF>/<task>                per task run, appended: "Event: TaskStarted", "Started: <epoch>",
//                                "<PF>: <task>", "Elapsed time: N seconds", "utime: N" (clock ticks;
//                                stime, cutime, cstime), "IO rchar: N" (/proc/<pid>/io), "rusage
//                                ru_utime: S" and "Child rusage ru_...: N", "Status: PASSED|FAILED",
//                                "Ended: <epoch>"
//     reduced_proc_stat.log      blocks "<epoch>\n<user> <system> <iowait>\n" (fractions of the CPU)
//     reduced_proc_pressure/{cpu,io,memory}.log   blocks "<epoch>\n<avg10> <avg60> <avg300> <delta>\n"
//     reduced_proc_meminfo.log, reduced_proc_diskstats.log, monitor_disk.log, host_stats_*
//
// Nothing here trusts the folder: files are read bounded, only regular files (no FIFO, no symlink),
// at most so many recipes and tasks; what cannot be used is skipped and counted in otherData.
import { constants } from 'node:fs';
import { open, opendir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { mapLimited } from '../common/bounded.js';
import { HelperError } from '../errors/helper-error.js';
import { processName, processSortIndex, threadName, type TraceDocument, type TraceEvent } from './events.js';

/** BuildstatsLimits bound what one trace reads. */
export interface BuildstatsLimits {
  /** bytes of one task file (a real one is under 2 KiB; a task run again in the same build appends) */
  taskFileBytes: number;
  /** recipe folders of one build (a full image build has a few thousand) */
  recipes: number;
  /** task files of one recipe folder */
  tasksPerRecipe: number;
  /** task runs of the whole build */
  tasks: number;
  /** bytes of one host log (reduced_proc_*.log) */
  hostLogBytes: number;
}

/** DEFAULT_LIMITS are generous for any real build and keep a hostile folder to a few hundred MiB at most. */
export const DEFAULT_LIMITS: BuildstatsLimits = {
  taskFileBytes: 64 * 1024,
  recipes: 50_000,
  tasksPerRecipe: 1_000,
  tasks: 500_000,
  hostLogBytes: 16 * 1024 * 1024,
};

/** TaskRun is one run of one task, as its file tells it. */
export interface TaskRun {
  task: string;
  /** seconds since the epoch */
  started: number;
  ended: number;
  /** no Ended line: the build was cut short (ended is then the build's end, or started) */
  unfinished: boolean;
  status: string | undefined;
  /** "Elapsed time" as BitBake measured it, seconds */
  elapsed: number | undefined;
  /** utime, stime, cutime, cstime: clock ticks of the task's process (/proc/<pid>/stat) */
  cpu: Record<string, number>;
  /** /proc/<pid>/io: rchar, wchar, syscr, syscw, read_bytes, write_bytes, cancelled_write_bytes */
  io: Record<string, number>;
  rusage: Record<string, number>;
  childRusage: Record<string, number>;
}

/** RecipeStats is one recipe folder (<PF>) and its task runs, in start order. */
export interface RecipeStats {
  name: string;
  runs: TaskRun[];
}

/** SkippedFile is a file the trace could not use, and why. */
export interface SkippedFile {
  path: string;
  reason: string;
}

/** HostSample is one sample of a host log: its time (epoch seconds) and values. */
export interface HostSample {
  time: number;
  values: number[];
}

/** BuildInfo is what build_stats says of the whole build. */
export interface BuildInfo {
  name: string;
  host: string | undefined;
  started: number | undefined;
  elapsed: number | undefined;
  cpuUsagePercent: number | undefined;
  failedAt: string[];
}

/** Buildstats is a build's folder, read. */
export interface Buildstats {
  dir: string;
  build: BuildInfo;
  recipes: RecipeStats[];
  /** host counters: `cpu` (reduced_proc_stat), `pressure/cpu`, `pressure/io`, `pressure/memory` */
  host: Record<string, HostSample[]>;
  skipped: SkippedFile[];
  /** skipped files beyond those listed (only the first SKIPPED_LISTED are named) */
  skippedCount: number;
}

/** RECIPES_AT_ONCE and FILES_AT_ONCE bound the reads in flight (at most their product of open files). */
const RECIPES_AT_ONCE = 8;
const FILES_AT_ONCE = 8;
/** SKIPPED_LISTED is how many skipped files otherData names; the rest are counted. */
const SKIPPED_LISTED = 50;
/** EPOCH_MAX bounds a timestamp (year 2286): a larger one is junk, not a time. */
const EPOCH_MAX = 1e10;

const isTime = (n: number | undefined): n is number => n !== undefined && Number.isFinite(n) && n > 0 && n < EPOCH_MAX;

/** numberOf parses a buildstats number ("1795988776.91", "0.26 seconds", "26.7%"); undefined if none. */
function numberOf(text: string): number | undefined {
  const m = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?/.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[0]);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * parseTaskFile reads the text of one task file into its runs (usually one; a task run twice in one
 * build appends a second). A run needs a Started line; one without Ended is marked unfinished and
 * ends at `fallbackEnd`. Returns the runs and, for a file with none usable, why.
 */
export function parseTaskFile(task: string, text: string, fallbackEnd?: number): { runs: TaskRun[]; problem?: string } {
  const runs: TaskRun[] = [];
  let current: Omit<TaskRun, 'ended' | 'unfinished'> & { ended: number | undefined } = blankRun(task, Number.NaN);
  let sawStarted = false;
  let problem: string | undefined;
  const finish = () => {
    if (!isTime(current.started)) return;
    let ended = current.ended;
    let unfinished = false;
    if (ended === undefined || !isTime(ended)) {
      unfinished = true;
      ended = fallbackEnd !== undefined && fallbackEnd >= current.started ? fallbackEnd : current.started;
    }
    if (ended < current.started) {
      problem = 'Ended before Started';
      return;
    }
    runs.push({ ...current, ended, unfinished });
  };
  for (const raw of text.split('\n')) {
    const colon = raw.indexOf(':');
    if (colon <= 0) continue;
    const key = raw.slice(0, colon).trim();
    const value = raw.slice(colon + 1).trim();
    if (key === 'Started') {
      if (sawStarted) finish();
      sawStarted = true;
      current = blankRun(task, numberOf(value) ?? Number.NaN);
      if (!isTime(current.started)) problem = `Started is no time (${JSON.stringify(value.slice(0, 40))})`;
      continue;
    }
    const n = numberOf(value);
    if (key === 'Ended') current.ended = n;
    else if (key === 'Status') current.status = value.slice(0, 16);
    else if (key === 'Elapsed time') current.elapsed = n;
    else if (n === undefined) continue;
    else if (key === 'utime' || key === 'stime' || key === 'cutime' || key === 'cstime') current.cpu[key] = n;
    else if (key.startsWith('IO ')) setBounded(current.io, key.slice(3).trim(), n);
    else if (key.startsWith('rusage ')) setBounded(current.rusage, key.slice(7).trim(), n);
    else if (key.startsWith('Child rusage ')) setBounded(current.childRusage, key.slice(13).trim(), n);
  }
  if (sawStarted) finish();
  if (!runs.length) problem ??= sawStarted ? 'no usable run' : 'no Started line (not a task file, or the task failed before it started)';
  return runs.length ? { runs } : { runs, problem };
}

/** setBounded sets a figure under a short, plain key; junk keys and too many of them are dropped. */
function setBounded(into: Record<string, number>, key: string, value: number): void {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,39}$/.test(key) || key === '__proto__') return;
  if (!(key in into) && Object.keys(into).length >= 32) return;
  into[key] = value;
}

function blankRun(task: string, started: number) {
  return {
    task,
    started,
    ended: undefined as number | undefined,
    status: undefined as string | undefined,
    elapsed: undefined as number | undefined,
    cpu: {} as Record<string, number>,
    io: {} as Record<string, number>,
    rusage: {} as Record<string, number>,
    childRusage: {} as Record<string, number>,
  };
}

/** parseBuildStats reads the text of build_stats. */
export function parseBuildStats(name: string, text: string): BuildInfo {
  const info: BuildInfo = { name, host: undefined, started: undefined, elapsed: undefined, cpuUsagePercent: undefined, failedAt: [] };
  for (const raw of text.split('\n')) {
    const colon = raw.indexOf(':');
    if (colon <= 0) continue;
    const key = raw.slice(0, colon).trim();
    const value = raw.slice(colon + 1).trim();
    if (key === 'Host Info') info.host = value.slice(0, 200);
    else if (key === 'Build Started') info.started = isTime(numberOf(value)) ? numberOf(value) : undefined;
    else if (key === 'Elapsed time') info.elapsed = numberOf(value);
    else if (key === 'CPU usage') info.cpuUsagePercent = numberOf(value);
    else if (key === 'Failed at' && info.failedAt.length < 100) info.failedAt.push(value.slice(0, 300));
  }
  return info;
}

/** parseHostLog reads a reduced host log: blocks of "<epoch>\n<value> <value>...\n" separated by blank lines. */
export function parseHostLog(text: string): HostSample[] {
  const out: HostSample[] = [];
  for (const block of text.split(/\n\s*\n/)) {
    const [first, second] = block.trim().split('\n');
    const time = numberOf(first ?? '');
    if (!isTime(time) || second === undefined) continue;
    const values = second
      .trim()
      .split(/\s+/)
      .slice(0, 8)
      .map((v) => numberOf(v));
    if (values.some((v) => v === undefined)) continue;
    out.push({ time, values: values as number[] });
  }
  return out;
}

/**
 * readBoundedFile reads a regular file up to `max` bytes: no symlink followed, no FIFO or device
 * opened for reading (O_NONBLOCK, then fstat). Larger: an error saying so.
 */
async function readBoundedFile(path: string, max: number): Promise<string> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new Error('not a regular file');
    if (st.size > max) throw new Error(`larger than ${max} bytes (${st.size})`);
    const buf = Buffer.alloc(Math.min(st.size, max) + 1);
    let got = 0;
    while (got < buf.length) {
      const { bytesRead } = await handle.read(buf, got, buf.length - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    if (got > max) throw new Error(`larger than ${max} bytes`);
    const text = buf.subarray(0, got).toString('utf8');
    if (text.includes('\0')) throw new Error('binary content');
    return text;
  } finally {
    await handle.close();
  }
}

/** Entry is a folder entry by kind. */
interface Entry {
  name: string;
  kind: 'dir' | 'file' | 'other';
}

/** listDir lists up to `max` entries of a folder (and whether there were more), sorted by name. */
async function listDir(dir: string, max: number): Promise<{ entries: Entry[]; more: boolean }> {
  const entries: Entry[] = [];
  let more = false;
  const handle = await opendir(dir, { bufferSize: 256 });
  try {
    for await (const d of handle) {
      if (entries.length >= max) {
        more = true;
        break;
      }
      entries.push({ name: d.name, kind: d.isDirectory() ? 'dir' : d.isFile() ? 'file' : 'other' });
    }
  } finally {
    await handle.close().catch(() => {});
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { entries, more };
}

/** HOST_LOGS names the host logs read as counters, by the counter's name. */
const HOST_LOGS: Record<string, string> = {
  cpu: 'reduced_proc_stat.log',
  'pressure/cpu': join('reduced_proc_pressure', 'cpu.log'),
  'pressure/io': join('reduced_proc_pressure', 'io.log'),
  'pressure/memory': join('reduced_proc_pressure', 'memory.log'),
};

/** NOT_RECIPES are folders of a build that hold host data, not a recipe's tasks. */
const NOT_RECIPES = new Set(['reduced_proc_pressure']);

/**
 * resolveBuildDir takes `tmp/buildstats/<build>` as it is, and `tmp/buildstats` as its newest build
 * (the latest "Build Started" of the builds' build_stats; a build without one by its folder's time).
 */
export async function resolveBuildDir(dir: string): Promise<string> {
  let listing: { entries: Entry[]; more: boolean };
  try {
    listing = await listDir(dir, 100_000);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such folder' : code === 'ENOTDIR' ? 'not a folder' : (err as Error).message;
    throw new HelperError('buildstats', `cannot read buildstats ${dir}: ${why}`, { cause: err });
  }
  if (listing.entries.some((e) => e.name === 'build_stats' && e.kind === 'file')) return dir;
  // Not a build itself: its folders that hold a build_stats are builds.
  let best: { path: string; when: number } | undefined;
  for (const e of listing.entries) {
    if (e.kind !== 'dir') continue;
    const path = join(dir, e.name);
    const file = join(path, 'build_stats');
    let when: number | undefined;
    try {
      when = parseBuildStats(e.name, await readBoundedFile(file, DEFAULT_LIMITS.taskFileBytes)).started;
      when ??= (await stat(path)).mtimeMs / 1000;
    } catch {
      continue;
    }
    if (!best || when > best.when || (when === best.when && path > best.path)) best = { path, when };
  }
  if (best) return best.path;
  // A build folder whose build_stats is missing (cut short) still has recipe folders of task files.
  if (listing.entries.some((e) => e.kind === 'dir' && !NOT_RECIPES.has(e.name))) return dir;
  throw new HelperError(
    'buildstats',
    `${dir} holds no buildstats: neither a build_stats file nor build folders (is INHERIT += "buildstats" set? BitBake writes tmp/buildstats/<build>/)`,
  );
}

/** readBuildstats reads a build's folder (or the newest build of tmp/buildstats) whole, within `limits`. */
export async function readBuildstats(dir: string, limits: BuildstatsLimits = DEFAULT_LIMITS): Promise<Buildstats> {
  const buildDir = await resolveBuildDir(dir);
  const skipped: SkippedFile[] = [];
  let skippedCount = 0;
  const skip = (path: string, reason: string) => {
    skippedCount++;
    if (skipped.length < SKIPPED_LISTED) skipped.push({ path, reason });
  };
  let build: BuildInfo = parseBuildStats(basename(buildDir), '');
  try {
    build = parseBuildStats(basename(buildDir), await readBoundedFile(join(buildDir, 'build_stats'), limits.taskFileBytes));
  } catch (err) {
    skip('build_stats', (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing (the build was cut short?)' : (err as Error).message);
  }
  const buildEnd = build.started !== undefined && build.elapsed !== undefined && build.elapsed >= 0 ? build.started + build.elapsed : undefined;

  let listing: { entries: Entry[]; more: boolean };
  try {
    listing = await listDir(buildDir, limits.recipes + NOT_RECIPES.size + 64);
  } catch (err) {
    throw new HelperError('buildstats', `cannot read buildstats ${buildDir}: ${(err as Error).message}`, { cause: err });
  }
  const { entries, more } = listing;
  if (more) skip('.', `more than ${limits.recipes} recipe folders: the rest are left out`);
  const folders = entries.filter((e) => e.kind === 'dir' && !NOT_RECIPES.has(e.name)).slice(0, limits.recipes);
  // Recipes are read a few at a time (their files too); what each skipped is kept with it, so the
  // list in otherData comes out in folder order whatever finished first.
  const read = await mapLimited(folders, RECIPES_AT_ONCE, async (folder) => {
    const recipeDir = join(buildDir, folder.name);
    const skips: SkippedFile[] = [];
    let tasks: { entries: Entry[]; more: boolean };
    try {
      tasks = await listDir(recipeDir, limits.tasksPerRecipe);
    } catch (err) {
      return { name: folder.name, runs: undefined, skips: [{ path: folder.name, reason: (err as Error).message }] };
    }
    if (tasks.more) skips.push({ path: folder.name, reason: `more than ${limits.tasksPerRecipe} task files: the rest are left out` });
    const parsed = await mapLimited(tasks.entries, FILES_AT_ONCE, async (e) => {
      const rel = `${folder.name}/${e.name}`;
      if (e.kind !== 'file') return { runs: [], skip: { path: rel, reason: e.kind === 'dir' ? 'a folder' : 'not a regular file' } };
      try {
        const result = parseTaskFile(e.name, await readBoundedFile(join(recipeDir, e.name), limits.taskFileBytes), buildEnd);
        return { runs: result.runs, skip: result.problem && !result.runs.length ? { path: rel, reason: result.problem } : undefined };
      } catch (err) {
        return { runs: [], skip: { path: rel, reason: (err as Error).message } };
      }
    });
    for (const p of parsed) if (p.skip) skips.push(p.skip);
    const runs = parsed.flatMap((p) => p.runs).sort((a, b) => a.started - b.started || (a.task < b.task ? -1 : 1));
    return { name: folder.name, runs, skips };
  });
  let taskBudget = limits.tasks;
  const recipes: RecipeStats[] = [];
  for (const r of read) {
    for (const s of r.skips) skip(s.path, s.reason);
    if (!r.runs) continue;
    if (r.runs.length > taskBudget) {
      skip(r.name, `past ${limits.tasks} tasks in the build: the rest are left out`);
      r.runs.length = Math.max(0, taskBudget);
    }
    taskBudget -= r.runs.length;
    recipes.push({ name: r.name, runs: r.runs });
  }

  const host: Record<string, HostSample[]> = {};
  for (const [counter, file] of Object.entries(HOST_LOGS)) {
    try {
      host[counter] = parseHostLog(await readBoundedFile(join(buildDir, file), limits.hostLogBytes));
    } catch (err) {
      // Optional: pressure logs exist only where /proc/pressure does, and older releases lack some.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') skip(file, (err as Error).message);
    }
  }
  return { dir: buildDir, build, recipes, host, skipped, skippedCount };
}

/** micros turns epoch seconds into the trace's whole microseconds. */
const micros = (seconds: number) => Math.round(seconds * 1_000_000);

/** lanes gives each run (in start order) the first lane free at its start, so no two overlap on one track. */
function lanes(runs: TaskRun[]): number[] {
  const ends: number[] = [];
  return runs.map((r) => {
    let lane = ends.findIndex((end) => end <= r.started);
    if (lane < 0) lane = ends.push(0) - 1;
    ends[lane] = r.ended;
    return lane;
  });
}

/** taskArgs are a run's figures as the event's args: status, times, CPU ticks, I/O bytes, rusage. */
function taskArgs(recipe: string, r: TaskRun): Record<string, unknown> {
  const cpuSeconds = (r.rusage.ru_utime ?? 0) + (r.rusage.ru_stime ?? 0) + (r.childRusage.ru_utime ?? 0) + (r.childRusage.ru_stime ?? 0);
  return {
    recipe,
    task: r.task,
    status: r.status ?? (r.unfinished ? 'UNFINISHED' : 'UNKNOWN'),
    ...(r.unfinished ? { unfinished: true } : {}),
    ...(r.elapsed !== undefined ? { elapsed_s: r.elapsed } : {}),
    cpu_s: Math.round(cpuSeconds * 1e6) / 1e6,
    cpu: r.cpu,
    io: r.io,
    rusage: r.rusage,
    child_rusage: r.childRusage,
  };
}

/** HOST_PID is the process of the build as a whole and the host's counters; recipes are 2, 3, ... (pid 0 is the idle task to some viewers). */
export const HOST_PID = 1;

/** HOST_SERIES names the values of each host counter, in the log's column order (the rest are not drawn). */
const HOST_SERIES: Record<string, { name: string; series: string[]; scale: number }> = {
  cpu: { name: 'CPU %', series: ['user', 'system', 'iowait'], scale: 100 },
  'pressure/cpu': { name: 'CPU pressure avg10 %', series: ['avg10'], scale: 1 },
  'pressure/io': { name: 'IO pressure avg10 %', series: ['avg10'], scale: 1 },
  'pressure/memory': { name: 'memory pressure avg10 %', series: ['avg10'], scale: 1 },
};

/**
 * buildstatsEvents yields the trace's events: the build's own track (a span from build_stats and
 * the host counters) as process 0, then one process per recipe in the order recipes started
 * (named after its folder, <PF>), a thread per lane of overlapping tasks, and a complete event per task run.
 */
export function* buildstatsEvents(bs: Buildstats): Generator<TraceEvent> {
  yield processName(HOST_PID, `build ${bs.build.name}`);
  yield processSortIndex(HOST_PID, 0);
  yield threadName(HOST_PID, 0, 'build');
  const { build } = bs;
  if (build.started !== undefined && build.elapsed !== undefined && build.elapsed >= 0) {
    yield {
      name: `build ${build.name}`,
      cat: 'build',
      ph: 'X',
      ts: micros(build.started),
      dur: micros(build.elapsed),
      pid: HOST_PID,
      tid: 0,
      args: {
        ...(build.host ? { host: build.host } : {}),
        ...(build.cpuUsagePercent !== undefined ? { cpu_usage_percent: build.cpuUsagePercent } : {}),
        ...(build.failedAt.length ? { failed_at: build.failedAt } : {}),
      },
    };
  }
  for (const [counter, samples] of Object.entries(bs.host)) {
    const spec = HOST_SERIES[counter];
    if (!spec) continue;
    for (const s of samples) {
      const args: Record<string, number> = {};
      spec.series.forEach((name, i) => {
        const v = s.values[i];
        if (v !== undefined) args[name] = Math.round(v * spec.scale * 100) / 100;
      });
      yield { name: spec.name, ph: 'C', ts: micros(s.time), pid: HOST_PID, tid: 0, args };
    }
  }
  const ordered = bs.recipes.map((r, i) => ({ r, i, first: r.runs[0]?.started ?? Number.POSITIVE_INFINITY })).sort((a, b) => a.first - b.first || a.i - b.i);
  let pid = HOST_PID;
  for (const { r } of ordered) {
    pid++;
    yield processName(pid, r.name);
    yield processSortIndex(pid, pid);
    const laneOf = lanes(r.runs);
    const laneCount = Math.max(1, ...laneOf.map((l) => l + 1));
    for (let lane = 0; lane < laneCount; lane++) yield threadName(pid, lane + 1, lane === 0 ? r.name : `${r.name} (${lane + 1})`);
    for (const [i, run] of r.runs.entries()) {
      const failed = run.status !== undefined && run.status !== 'PASSED';
      yield {
        name: run.task,
        cat: 'task',
        ph: 'X',
        ts: micros(run.started),
        dur: Math.max(0, micros(run.ended) - micros(run.started)),
        pid,
        tid: laneOf[i]! + 1,
        ...(failed ? { cname: 'terrible' } : {}),
        args: taskArgs(r.name, run),
      };
    }
  }
}

/** buildstatsOtherData is the document's otherData: where it came from and what was left out. */
export function buildstatsOtherData(bs: Buildstats): Record<string, unknown> {
  const runs = bs.recipes.flatMap((r) => r.runs);
  return {
    source: 'bitbake buildstats',
    build: bs.build.name,
    ...(bs.build.host ? { host: bs.build.host } : {}),
    ...(bs.build.started !== undefined ? { buildStarted: new Date(bs.build.started * 1000).toISOString() } : {}),
    ...(bs.build.elapsed !== undefined ? { buildElapsedSeconds: bs.build.elapsed } : {}),
    ...(bs.build.cpuUsagePercent !== undefined ? { cpuUsagePercent: bs.build.cpuUsagePercent } : {}),
    ...(bs.build.failedAt.length ? { failedAt: bs.build.failedAt } : {}),
    recipes: bs.recipes.length,
    tasks: runs.length,
    failedTasks: runs.filter((r) => r.status !== undefined && r.status !== 'PASSED').length,
    unfinishedTasks: runs.filter((r) => r.unfinished).length,
    skippedFiles: bs.skippedCount,
    ...(bs.skipped.length ? { skipped: bs.skipped } : {}),
  };
}

/**
 * buildstatsTrace is the trace document of a buildstats folder (`tmp/buildstats/<build>`, or
 * `tmp/buildstats` for its newest build), held whole: for attaching it to an image. The CLI streams
 * the same events instead (buildstatsEvents, writeTraceStream).
 */
export async function buildstatsTrace(dir: string, limits: BuildstatsLimits = DEFAULT_LIMITS): Promise<TraceDocument> {
  const bs = await readBuildstats(dir, limits);
  return { traceEvents: [...buildstatsEvents(bs)], displayTimeUnit: 'ms', otherData: buildstatsOtherData(bs) };
}
