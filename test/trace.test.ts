// Build traces: `trace` on a real buildstats folder (test/fixtures/buildstats-scarthgap, written by
// real BitBake) checked against the trace-event format, hostile folders, and `push --trace` against
// the real registry (a span per blob, skipped ones marked on a re-push).
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { cp, mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { BUNDLE, ROOT, runCli, startTestRegistry } from './helpers/registry.js';
import { tempDir } from './helpers/tmp.js';
import { writeBuild } from './helpers/deploy.js';
import { buildstatsTrace, parseTaskFile, readBuildstats, DEFAULT_LIMITS, HOST_PID } from '../tools/src/trace/buildstats.js';
import type { TraceDocument, TraceEvent } from '../tools/src/trace/events.js';

const FIXTURE = join(ROOT, 'test', 'fixtures', 'buildstats-scarthgap');
const PHASES = new Set(['X', 'M', 'C', 'i', 'B', 'E']);

type Tap = Pick<typeof t, 'ok' | 'equal' | 'type' | 'same'>;

/**
 * checkTrace holds a parsed document to the JSON Object Format: every event has name, ph, ts, pid
 * and tid of the right types; `X` events a dur >= 0; no two `X` events of one track overlap unless
 * one holds the other (the viewers draw nested slices, not crossed ones). Returns the events.
 */
function checkTrace(t: Tap, doc: unknown, what: string): TraceEvent[] {
  const d = doc as Partial<TraceDocument>;
  t.ok(Array.isArray(d.traceEvents), `${what}: traceEvents is an array`);
  t.equal(d.displayTimeUnit, 'ms', `${what}: displayTimeUnit`);
  t.type(d.otherData, 'object', `${what}: otherData`);
  const events = d.traceEvents ?? [];
  const bad = events.filter(
    (e) =>
      typeof e.name !== 'string' ||
      !e.name ||
      !PHASES.has(e.ph) ||
      typeof e.ts !== 'number' ||
      !Number.isFinite(e.ts) ||
      !Number.isInteger(e.pid) ||
      !Number.isInteger(e.tid) ||
      (e.ph === 'X' && !(typeof e.dur === 'number' && Number.isFinite(e.dur) && e.dur >= 0)),
  );
  t.same(bad.slice(0, 3), [], `${what}: every event has name, ph, ts, pid, tid (and X a dur >= 0)`);
  const tracks = new Map<string, TraceEvent[]>();
  for (const e of events) if (e.ph === 'X') tracks.set(`${e.pid}/${e.tid}`, [...(tracks.get(`${e.pid}/${e.tid}`) ?? []), e]);
  const crossed: string[] = [];
  for (const [track, list] of tracks) {
    const sorted = [...list].sort((a, b) => a.ts - b.ts || b.dur! - a.dur!);
    const open: TraceEvent[] = [];
    for (const e of sorted) {
      while (open.length && open.at(-1)!.ts + open.at(-1)!.dur! <= e.ts) open.pop();
      const parent = open.at(-1);
      if (parent && e.ts + e.dur! > parent.ts + parent.dur!) crossed.push(`${track}: ${parent.name} and ${e.name}`);
      open.push(e);
    }
  }
  t.same(crossed, [], `${what}: slices of one track nest, never cross`);
  return events;
}

/** taskFiles lists the fixture's recipe folders and their task files. */
async function taskFiles(dir: string): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (!e.isDirectory() || e.name === 'reduced_proc_pressure') continue;
    out.set(e.name, (await readdir(join(dir, e.name))).sort());
  }
  return out;
}

const recipeNames = (events: TraceEvent[]) =>
  events
    .filter((e) => e.ph === 'M' && e.name === 'process_name' && e.pid !== HOST_PID)
    .map((e) => String(e.args?.name))
    .sort();

t.test('the real fixture: valid trace-event JSON, one track per recipe, one event per task file', async (t) => {
  const dir = await tempDir(t);
  const out = join(dir, 'build.json');
  const r = await runCli(['trace', FIXTURE, '--output', out]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /29 task\(s\) of 4 recipe\(s\) written to .*build\.json \(open it in https:\/\/ui\.perfetto\.dev\)/);
  t.notMatch(r.stderr, /warning/, 'nothing skipped');
  const doc = JSON.parse(await readFile(out, 'utf8')) as TraceDocument;
  const events = checkTrace(t, doc, 'fixture');
  const files = await taskFiles(FIXTURE);
  t.equal(files.size, 4);
  t.same(recipeNames(events), [...files.keys()].sort(), 'a process named after each recipe folder, once');
  const tasks = events.filter((e) => e.ph === 'X' && e.cat === 'task');
  t.equal(
    tasks.length,
    [...files.values()].reduce((n, f) => n + f.length, 0),
    'as many task events as task files',
  );
  for (const [recipe, names] of files) {
    const pid = events.find((e) => e.name === 'process_name' && e.args?.name === recipe)!.pid;
    t.same(
      tasks
        .filter((e) => e.pid === pid)
        .map((e) => e.name)
        .sort(),
      names,
      `${recipe}: its task files, on its own process`,
    );
    t.ok(
      events.some((e) => e.ph === 'M' && e.name === 'thread_name' && e.pid === pid && e.args?.name === recipe),
      `${recipe}: its track is named after it`,
    );
  }
  // CPU and I/O figures, numeric, as the task file says them.
  for (const e of tasks) {
    const a = e.args as { cpu: Record<string, unknown>; io: Record<string, unknown>; rusage: Record<string, unknown>; child_rusage: Record<string, unknown> };
    for (const k of ['utime', 'stime', 'cutime', 'cstime']) t.type(a.cpu[k], 'number', `${e.name}: cpu.${k}`);
    for (const k of ['rchar', 'wchar', 'syscr', 'syscw', 'read_bytes', 'write_bytes']) t.type(a.io[k], 'number', `${e.name}: io.${k}`);
    for (const k of ['ru_utime', 'ru_stime', 'ru_maxrss', 'ru_inblock', 'ru_oublock']) t.type(a.rusage[k], 'number', `${e.name}: rusage.${k}`);
    t.type(a.child_rusage.ru_utime, 'number');
    t.type(e.args?.cpu_s, 'number');
  }
  const install = tasks.find((e) => e.args?.recipe === 'docker-registry-config-1.0-r0' && e.name === 'do_install')!;
  const text = await readFile(join(FIXTURE, 'docker-registry-config-1.0-r0', 'do_install'), 'utf8');
  const num = (key: string) => Number(new RegExp(`^${key}: (\\S+)`, 'm').exec(text)![1]);
  t.equal(install.ts, Math.round(num('Started') * 1e6), 'ts is Started, in microseconds since the epoch');
  t.equal(install.dur, Math.round(num('Ended') * 1e6) - Math.round(num('Started') * 1e6), 'dur is Ended - Started');
  t.equal((install.args as { io: { rchar: number } }).io.rchar, num('IO rchar'));
  t.equal((install.args as { cpu: { utime: number } }).cpu.utime, num('utime'));
  t.equal((install.args as { rusage: { ru_utime: number } }).rusage.ru_utime, num('rusage ru_utime'));
  t.equal(install.args?.status, 'PASSED');
  // The failed task, and the build's own span with build_stats' figures.
  const failed = tasks.filter((e) => e.args?.status === 'FAILED');
  t.same(
    failed.map((e) => `${e.args?.recipe}:${e.name}`),
    ['trace-fail-1.0-r0:do_compile'],
    'Status: FAILED is the failed task',
  );
  t.ok(
    tasks.some((e) => e.name.endsWith('_setscene')),
    'setscene tasks are tasks too',
  );
  const build = events.find((e) => e.ph === 'X' && e.cat === 'build')!;
  t.equal(build.pid, HOST_PID);
  t.equal(build.dur, 13_930_000, 'the build span: Elapsed time of build_stats');
  t.same(build.args?.failed_at, ['trace-fail-1.0-r0 at task: do_compile']);
  const counters = events.filter((e) => e.ph === 'C');
  t.ok(counters.length > 0, 'host counters from reduced_proc_stat.log and reduced_proc_pressure/');
  for (const c of counters) for (const v of Object.values(c.args ?? {})) t.type(v, 'number', `${c.name} is numeric`);
  t.match(doc.otherData, {
    source: 'bitbake buildstats',
    build: 'buildstats-scarthgap',
    recipes: 4,
    tasks: 29,
    failedTasks: 1,
    unfinishedTasks: 0,
    skippedFiles: 0,
  });

  // Standard output gives the same document, and the library gives the same events.
  const stdout = await runCli(['trace', FIXTURE]);
  t.equal(stdout.code, 0, stdout.stderr);
  t.same(JSON.parse(stdout.stdout), doc, 'standard output and --output agree');
  t.same(await buildstatsTrace(FIXTURE), doc, 'buildstatsTrace (the library) makes the same document');
});

t.test('oe-core master: the same format, read the same way', async (t) => {
  const master = join(ROOT, 'test', 'fixtures', 'buildstats-master');
  const doc = await buildstatsTrace(master);
  const events = checkTrace(t, JSON.parse(JSON.stringify(doc)), 'master');
  const files = await taskFiles(master);
  t.same(recipeNames(events), [...files.keys()].sort(), 'a process per recipe folder');
  const tasks = events.filter((e) => e.ph === 'X' && e.cat === 'task');
  t.equal(
    tasks.length,
    [...files.values()].reduce((n, f) => n + f.length, 0),
    'an event per task file',
  );
  t.same(
    tasks.filter((e) => e.args?.status === 'FAILED').map((e) => `${e.args?.recipe}:${e.name}`),
    ['docker-registry-config-1.0-r0:do_unpack'],
  );
  for (const e of tasks) t.type((e.args?.io as Record<string, unknown> | undefined)?.write_bytes, 'number');
  t.match(doc.otherData, { skippedFiles: 0, failedTasks: 1, failedAt: ['docker-registry-config-1.0-r0 at task: do_unpack'] });
});

t.test('tmp/buildstats means its newest build', async (t) => {
  const base = join(await tempDir(t), 'buildstats');
  await cp(FIXTURE, join(base, '20260101000000'), { recursive: true });
  await cp(FIXTURE, join(base, '20250101000000'), { recursive: true });
  const newer = join(base, '20260101000000', 'build_stats');
  // The newest by Build Started, not by name.
  await writeFile(join(base, '20250101000000', 'build_stats'), (await readFile(newer, 'utf8')).replace(/Build Started: \d+/, 'Build Started: 1895989020'));
  const r = await runCli(['trace', base]);
  t.equal(r.code, 0, r.stderr);
  t.equal((JSON.parse(r.stdout) as TraceDocument).otherData.build, '20250101000000');
  t.match(r.stderr, /20250101000000: 29 task/);
});

t.test('hostile folders: skipped and counted, or a clear error; never a crash or a hang', async (t) => {
  const root = await tempDir(t);
  const build = join(root, 'build');
  await cp(FIXTURE, build, { recursive: true });
  const recipe = join(build, 'hostile-1.0-r0');
  await mkdir(recipe);
  await writeFile(join(recipe, 'do_garbage'), randomBytes(4096));
  await writeFile(join(recipe, 'do_text'), 'this is : not\na task file\nStarted: yesterday\n');
  await writeFile(join(recipe, 'do_huge'), Buffer.alloc(10 << 20, 'Started: 1\n'));
  await writeFile(join(recipe, 'do_nostart'), 'Status: FAILED \nEnded: 1795989030.87 \n');
  await writeFile(join(recipe, 'do_far'), 'Started: 1e300 \nEnded: 1e301 \n');
  await writeFile(join(recipe, 'do_backwards'), 'Started: 1795989030.87 \nStatus: PASSED \nEnded: 1795989000.00 \n');
  await writeFile(join(recipe, 'do_noend'), 'Event: TaskStarted \nStarted: 1795989031.00 \nhostile-1.0-r0: do_noend\n');
  await writeFile(join(recipe, 'do_keys'), 'Started: 1795989031.00 \nIO __proto__: 5\nIO a b c: 1\nrusage constructor: 7\nEnded: 1795989031.50 \n');
  await symlink('/etc/passwd', join(recipe, 'do_link'));
  await mkdir(join(recipe, 'do_folder'));
  execFileSync('mkfifo', [join(recipe, 'do_fifo')]);
  // A recipe folder named to break JSON or a terminal.
  const odd = join(build, 'odd "name"\n\u001b[31m-1.0-r0');
  await mkdir(odd);
  await writeFile(join(odd, 'do_it'), 'Started: 1795989031.00 \nStatus: PASSED \nEnded: 1795989031.10 \n');

  const r = await runCli(['trace', build, '-o', join(root, 'out.json')], { timeoutMs: 30_000 });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /warning: \d+ file\(s\) skipped/);
  const doc = JSON.parse(await readFile(join(root, 'out.json'), 'utf8')) as TraceDocument;
  const events = checkTrace(t, doc, 'hostile');
  const skipped = new Map((doc.otherData.skipped as Array<{ path: string; reason: string }>).map((s) => [s.path, s.reason]));
  t.match(skipped.get('hostile-1.0-r0/do_garbage'), /binary|no Started/);
  t.match(skipped.get('hostile-1.0-r0/do_text'), /Started is no time/);
  t.match(skipped.get('hostile-1.0-r0/do_huge'), /larger than 65536 bytes/);
  t.match(skipped.get('hostile-1.0-r0/do_nostart'), /no Started line/);
  t.match(skipped.get('hostile-1.0-r0/do_far'), /Started is no time/);
  t.match(skipped.get('hostile-1.0-r0/do_backwards'), /Ended before Started/);
  t.match(skipped.get('hostile-1.0-r0/do_link'), /not a regular file/);
  t.match(skipped.get('hostile-1.0-r0/do_folder'), /a folder/);
  t.match(skipped.get('hostile-1.0-r0/do_fifo'), /not a regular file/);
  t.equal(doc.otherData.skippedFiles, 9);
  // The run without Ended: unfinished, ending with the build (build_stats' start + elapsed).
  const noend = events.find((e) => e.name === 'do_noend')!;
  t.equal(noend.args?.unfinished, true);
  t.equal(noend.args?.status, 'UNFINISHED');
  t.equal(noend.ts + noend.dur!, Math.round((1795989020.05 + 13.93) * 1e6), 'an unfinished task ends with the build');
  t.equal(doc.otherData.unfinishedTasks, 1);
  const keys = events.find((e) => e.name === 'do_keys')!;
  t.same(keys.args?.io, {}, 'junk keys are dropped');
  t.same(keys.args?.rusage, { constructor: 7 });
  t.equal(Object.getPrototypeOf(keys.args?.io), Object.prototype, 'no prototype was set');
  t.ok(recipeNames(events).includes('odd "name"\n\u001b[31m-1.0-r0'), 'an odd folder name survives JSON as it is');

  // An empty folder, a missing one, a file: clear errors.
  const empty = join(root, 'empty');
  await mkdir(empty);
  const e1 = await runCli(['trace', empty]);
  t.equal(e1.code, 1);
  t.match(e1.stderr, /error \[buildstats\].*holds no buildstats.*INHERIT \+= "buildstats"/);
  const e2 = await runCli(['trace', join(root, 'nope')]);
  t.equal(e2.code, 1);
  t.match(e2.stderr, /error \[buildstats\].*no such folder/);
  const e3 = await runCli(['trace', join(build, 'build_stats')]);
  t.match(e3.stderr, /error \[buildstats\].*not a folder/);
  const e4 = await runCli(['trace', FIXTURE, '-o', join(root, 'no', 'such', 'dir', 'x.json')]);
  t.equal(e4.code, 1);
  t.match(e4.stderr, /error \[trace\]: cannot write the trace to .*x\.json: no such folder/);
  // A build folder with build_stats and nothing else: a valid, empty trace.
  const bare = join(root, 'bare');
  await mkdir(bare);
  await writeFile(join(bare, 'build_stats'), 'Build Started: 1795989020.05 \n');
  const e5 = await runCli(['trace', bare]);
  t.equal(e5.code, 0, e5.stderr);
  t.equal((JSON.parse(e5.stdout) as TraceDocument).otherData.tasks, 0);
});

t.test('parseTaskFile: a task run twice in one build is two runs', async (t) => {
  const one = await readFile(join(FIXTURE, 'docker-registry-config-1.0-r0', 'do_install'), 'utf8');
  const { runs } = parseTaskFile('do_install', one + one.replace(/Started: \d+/, 'Started: 1795989100').replace(/Ended: \d+/, 'Ended: 1795989101'));
  t.equal(runs.length, 2);
  t.ok(runs[1]!.started > runs[0]!.ended);
  t.equal(runs[1]!.io.rchar, runs[0]!.io.rchar);
});

t.test('thousands of recipes: bounded, streamed, in a few seconds', async (t) => {
  const build = join(await tempDir(t), 'big');
  await mkdir(build);
  await writeFile(join(build, 'build_stats'), 'Build Started: 1795989000.00 \nElapsed time: 500.00 seconds \n');
  const task = await readFile(join(FIXTURE, 'docker-registry-config-1.0-r0', 'do_install'), 'utf8');
  const n = 2000;
  for (let i = 0; i < n; i++) {
    const dir = join(build, `recipe${String(i).padStart(5, '0')}-1.0-r0`);
    await mkdir(dir);
    await writeFile(join(dir, 'do_install'), task);
    await writeFile(join(dir, 'do_compile'), task.replace(/do_install/g, 'do_compile'));
  }
  const started = Date.now();
  const r = await runCli(['trace', build, '-o', join(build, '..', 'big.json')], { timeoutMs: 120_000 });
  t.equal(r.code, 0, r.stderr);
  t.comment(`${n} recipes, ${2 * n} tasks in ${Date.now() - started} ms`);
  const doc = JSON.parse(await readFile(join(build, '..', 'big.json'), 'utf8')) as TraceDocument;
  checkTrace(t, doc, 'big');
  t.equal(doc.otherData.tasks, 2 * n);
  // Into a reader that stops early: the command ends quietly.
  const piped = spawnSync('bash', ['-c', `"${process.execPath}" "$@" | head -c 100 >/dev/null; exit \${PIPESTATUS[0]}`, 'bash', BUNDLE, 'trace', build], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  t.equal(piped.status, 0, `trace | head: ${piped.stderr}`);
  t.notMatch(piped.stderr, /error|EPIPE/);
  // Two tasks of one recipe at the same time go to two tracks of its process.
  const first = doc.traceEvents.filter((e) => e.ph === 'X' && e.pid === HOST_PID + 1);
  t.same(first.map((e) => e.tid).sort(), [1, 2], 'overlapping tasks of one recipe get a track each');
  // Past the limits: the rest is left out and counted.
  const bs = await readBuildstats(build, { ...DEFAULT_LIMITS, recipes: 100, tasks: 150 });
  t.equal(bs.recipes.length, 100);
  t.equal(
    bs.recipes.reduce((k, r) => k + r.runs.length, 0),
    150,
  );
  t.ok(bs.skippedCount >= 2, 'the cut is recorded');
});

t.test('push --trace: a span per blob and manifest; a re-push marks the blobs skipped', async (t) => {
  const reg = await startTestRegistry(t);
  const root = await tempDir(t);
  const deploy = join(root, 'images', 'qemux86-64');
  await writeBuild(join(root, 'images'), {
    machine: 'qemux86-64',
    image: 'traced',
    stamp: '20260112143022',
    layers: [[{ name: 'a.bin', content: randomBytes(300_000).toString('hex') }], [{ name: 'b.txt', content: 'b\n' }]],
  });
  const env = { CONTAINER_REGISTRY_URL: reg.host, DEPLOY_DIR_IMAGE: deploy };
  const file = join(root, 'push.json');
  const r = await runCli(['push', 'traced', '-t', 'v1', '--trace', file], { env });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /Trace written to .*push\.json/);
  const doc = JSON.parse(await readFile(file, 'utf8')) as TraceDocument;
  const events = checkTrace(t, doc, 'push');
  const blobs = events.filter((e) => e.ph === 'X' && e.cat === 'blob');
  t.equal(blobs.length, 3, 'a span per blob: the config and two layers');
  t.equal(new Set(blobs.map((e) => e.args?.digest)).size, 3);
  for (const b of blobs) {
    t.match(b.args, { repository: 'yocto/traced', how: 'uploaded', skipped: false });
    t.match(String(b.args?.digest), /^sha256:[0-9a-f]{64}$/);
    t.type(b.args?.size, 'number');
    t.equal(b.args?.bytesSent, b.args?.size, 'all of it went');
    t.type(b.args?.bytesPerSecond, 'number');
    t.ok(b.tid >= 1, 'blobs on lanes, beside the push track');
  }
  const manifests = events.filter((e) => e.ph === 'X' && e.cat === 'manifest');
  t.equal(manifests.length, 1, 'a span for the manifest put');
  t.match(manifests[0]!.args, { repository: 'yocto/traced', reference: 'v1' });
  const push = events.filter((e) => e.ph === 'X' && e.cat === 'push');
  t.equal(push.length, 1, 'the whole push');
  const repo = events.find((e) => e.ph === 'X' && e.cat === 'repository')!;
  t.ok(push[0]!.ts <= repo.ts && repo.ts + repo.dur! <= push[0]!.ts + push[0]!.dur!, 'the repository span inside the push');
  for (const b of blobs) t.ok(b.ts >= push[0]!.ts && b.ts + b.dur! <= push[0]!.ts + push[0]!.dur!, 'blobs inside the push');
  t.ok(
    events.some((e) => e.name === 'process_name' && e.args?.name === 'container-registry push'),
    'the process is named',
  );

  const again = await runCli(['push', 'traced', '-t', 'v1', '--trace', file], { env });
  t.equal(again.code, 0, again.stderr);
  const doc2 = JSON.parse(await readFile(file, 'utf8')) as TraceDocument;
  const blobs2 = checkTrace(t, doc2, 're-push').filter((e) => e.ph === 'X' && e.cat === 'blob');
  t.equal(blobs2.length, 3);
  for (const b of blobs2) t.match(b.args, { how: 'exists', skipped: true, bytesSent: 0 }, 'present: skipped');
  t.same(blobs2.map((e) => e.args?.digest).sort(), blobs.map((e) => e.args?.digest).sort());

  // Two platforms: a span per child manifest and one for the index, inside the repository's span.
  await writeBuild(join(root, 'images'), { machine: 'qemux86-64', image: 'multi', stamp: '20260112143022' });
  await writeBuild(join(root, 'images'), { machine: 'qemuarm64', image: 'multi', stamp: '20260112143022', architecture: 'arm64' });
  const multiFile = join(root, 'multi.json');
  const multi = await runCli(['push', 'multi', '-t', 'v1', '--trace', multiFile, '--json'], { env });
  t.equal(multi.code, 0, multi.stderr);
  t.notMatch(multi.stderr, /Trace written/, 'with --json, nothing but the JSON is said');
  const multiEvents = checkTrace(t, JSON.parse(await readFile(multiFile, 'utf8')), 'multi-arch push');
  const puts = multiEvents.filter((e) => e.ph === 'X' && e.cat === 'manifest');
  t.equal(puts.length, 3, 'two manifests and the index');
  t.same(puts.map((e) => e.args?.mediaType).sort(), [
    'application/vnd.oci.image.index.v1+json',
    'application/vnd.oci.image.manifest.v1+json',
    'application/vnd.oci.image.manifest.v1+json',
  ]);
  t.equal(multiEvents.filter((e) => e.ph === 'X' && e.cat === 'blob').length, 4, 'two configs and two layers');

  // A trace file that cannot be written fails before anything is pushed.
  const bad = await runCli(['push', 'traced', '-t', 'v2', '--trace', join(root, 'missing', 'x.json')], { env });
  t.equal(bad.code, 1);
  t.match(bad.stderr, /error \[trace\]: cannot write the trace to .*: no such folder/);
  const tags = await runCli(['tags', 'traced'], { env });
  t.notMatch(tags.stdout, /v2/, 'nothing was pushed');
  const empty = await runCli(['push', 'traced', '--trace', ''], { env });
  t.equal(empty.code, 2);
  t.match(empty.stderr, /push --trace takes the file/);
});
