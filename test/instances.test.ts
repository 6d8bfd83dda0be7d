// Where is my registry? The bare CLI keeps its storage per user ($XDG_DATA_HOME/container-registry,
// else ~/.local/share/container-registry), and every serving process leaves a record in the user's
// runtime folder ($XDG_RUNTIME_DIR/container-registry/instances/, else a 0700 folder in the temp
// dir), so `status`, `stop` and the client commands find a running registry from any folder
// without --storage. Each test runs with its own HOME, XDG_DATA_HOME, XDG_RUNTIME_DIR and TMPDIR,
// on random loopback ports, and stops what it starts.
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli } from './helpers/registry.js';
import { freePort, waitFor } from './helpers/ports.js';
import { tempDir } from './helpers/tmp.js';
import { alive } from './helpers/proc.js';
import { writeBuild } from './helpers/deploy.js';
import { processStartTime } from '../tools/src/daemon/pidfile.js';

type Teardown = { teardown(fn: () => unknown): void };

/** user makes a user of its own: home, data, runtime and temp folders, and two working folders. */
async function user(t: Teardown, o: { xdgData?: boolean; xdgRuntime?: boolean } = {}) {
  const root = await tempDir(t, 'cr-user-');
  const dirs = {
    home: join(root, 'home'),
    data: join(root, 'data'),
    run: join(root, 'run'),
    tmp: join(root, 'tmp'),
    a: join(root, 'folder-a'),
    b: join(root, 'folder-b'),
  };
  for (const d of Object.values(dirs)) await mkdir(d, { recursive: true, mode: 0o700 });
  const env: Record<string, string> = {
    HOME: dirs.home,
    XDG_DATA_HOME: o.xdgData === false ? '' : dirs.data,
    XDG_RUNTIME_DIR: o.xdgRuntime === false ? '' : dirs.run,
    TMPDIR: dirs.tmp,
    // Nothing of the environment that runs the tests: every setting at its default.
    CONTAINER_REGISTRY_STORAGE: '',
    CONTAINER_REGISTRY_URL: '',
    CONTAINER_REGISTRY_LISTEN: '',
    CONTAINER_REGISTRY_SECURE: '',
    CONTAINER_REGISTRY_AUTH: '',
    CONTAINER_REGISTRY_NAMESPACE: '',
  };
  // Whatever a test starts is killed at the end, whatever happened: every PID file under its folders.
  const pids: Array<{ pid: number; startTime: string }> = [];
  t.teardown(async () => {
    for (const file of await readdir(root, { recursive: true })) {
      if (!file.endsWith('container-registry.pid')) continue;
      const rec = await readFile(join(root, file), 'utf8').then(
        (s) => JSON.parse(s) as { pid: number; startTime: string },
        () => undefined,
      );
      if (rec) pids.push(rec);
    }
    for (const { pid, startTime } of pids) if (processStartTime(pid) === startTime) process.kill(pid, 'SIGKILL');
  });
  const cli = (args: string[], cwd: string = dirs.a) => runCli(args, { env, cwd });
  const started = async (storage: string) => {
    const rec = JSON.parse(await readFile(join(storage, 'container-registry.pid'), 'utf8')) as { pid: number; startTime: string };
    pids.push(rec);
    return rec.pid;
  };
  return { dirs, env, cli, started };
}

const uid = () => (typeof process.getuid === 'function' ? process.getuid() : 0);

t.test('the per-user default: start in one folder; status, list, push, start and stop from another find it', async (t) => {
  const { dirs, cli, started } = await user(t);
  const storage = join(dirs.data, 'container-registry');
  const port = await freePort();

  const start = await cli(['start', '--listen', `127.0.0.1:${port}`], dirs.a);
  t.equal(start.code, 0, start.stderr);
  t.match(start.stdout, `Registry started: http://127.0.0.1:${port}`);
  t.match(start.stdout, `storage ${storage})`, 'the storage is $XDG_DATA_HOME/container-registry');
  const pid = await started(storage);
  t.notOk(existsSync(join(dirs.a, 'container-registry')), 'no container-registry/ in the folder start ran in');

  const records = join(dirs.run, 'container-registry', 'instances');
  t.equal((await stat(join(dirs.run, 'container-registry'))).mode & 0o777, 0o700, 'the runtime folder is 0700');
  const record = JSON.parse(await readFile(join(records, `${pid}.json`), 'utf8'));
  t.match(record, { pid, port, storage }, 'one record for the running instance, naming its storage');

  const status = await cli(['status'], dirs.b);
  t.equal(status.code, 0, `status from another folder: ${status.stdout}${status.stderr}`);
  t.match(status.stdout, `Registry running: http://127.0.0.1:${port} (pid ${pid})`);
  t.match(status.stdout, `Storage: ${storage}`);

  const empty = await cli(['list'], dirs.b);
  t.equal(empty.code, 0, `list finds the registry without --registry: ${empty.stderr}`);
  t.match(empty.stdout, '(no images in yocto/)');

  const deploy = join(dirs.b, 'deploy', 'images');
  await writeBuild(deploy, { machine: 'qemux86-64', image: 'walk', stamp: '20260112143022' });
  const push = await cli(['push', '--deploy-dir', join(deploy, 'qemux86-64'), '--quiet'], dirs.b);
  t.equal(push.code, 0, `push's default target is the running registry: ${push.stderr}`);
  const list = await cli(['list'], dirs.b);
  t.match(list.stdout, /^yocto\/walk: \d{8}-\d{6} latest$/m, 'the pushed image is listed');
  const tags = await cli(['tags', 'walk'], dirs.b);
  t.equal(tags.code, 0, tags.stderr);
  t.match(tags.stdout, 'latest');

  const again = await cli(['start', '--listen', `127.0.0.1:${port}`], dirs.b);
  t.equal(again.code, 0, again.stderr);
  t.match(again.stdout, `Registry already running: http://127.0.0.1:${port} (pid ${pid}, storage ${storage})`);
  t.notOk(existsSync(join(dirs.b, 'container-registry')), 'no stray container-registry/ folder');

  const other = join(dirs.b, 'other-storage');
  const busy = await cli(['start', '--storage', other, '--listen', `127.0.0.1:${port}`, '--timeout', '10'], dirs.b);
  t.equal(busy.code, 1);
  t.equal(busy.stderr.trim().split('\n').length, 1, `one line: ${busy.stderr}`);
  t.match(busy.stderr, `error [port-in-use]: port ${port} is used by container-registry (pid ${pid}, storage ${storage})`);
  t.notOk(existsSync(other), 'the refused storage was not created');

  const stop = await cli(['stop'], dirs.b);
  t.equal(stop.code, 0, stop.stderr);
  t.match(stop.stdout, `Registry stopped (pid ${pid}`);
  t.notOk(alive(pid), 'the server is gone');
  t.notOk(existsSync(join(records, `${pid}.json`)), 'its record is gone');
  const after = await cli(['status'], dirs.b);
  t.equal(after.code, 3);
  t.match(after.stdout, 'Registry not running');
});

t.test('without XDG_DATA_HOME and XDG_RUNTIME_DIR: ~/.local/share/container-registry, records in a 0700 temp folder', async (t) => {
  const { dirs, cli, started } = await user(t, { xdgData: false, xdgRuntime: false });
  const storage = join(dirs.home, '.local', 'share', 'container-registry');
  const port = await freePort();
  const start = await cli(['start', '--listen', `127.0.0.1:${port}`]);
  t.equal(start.code, 0, start.stderr);
  t.match(start.stdout, `storage ${storage})`);
  const pid = await started(storage);
  const runtime = join(dirs.tmp, `container-registry-${uid()}`);
  t.equal((await stat(runtime)).mode & 0o777, 0o700, 'the per-user temp folder is 0700');
  t.ok(existsSync(join(runtime, 'instances', `${pid}.json`)), 'the record is there');
  const status = await cli(['status', '--json'], dirs.b);
  t.equal(status.code, 0, status.stderr);
  t.match(JSON.parse(status.stdout), { state: 'running', record: { pid, port }, storage });
  const stop = await cli(['stop'], dirs.b);
  t.equal(stop.code, 0, stop.stderr);
  t.notOk(alive(pid));
  t.same(readdirSync(join(runtime, 'instances')), [], 'no record left');
});

t.test('several registries: status lists them, stop asks for --storage', async (t) => {
  const { dirs, cli, started } = await user(t);
  const one = join(dirs.a, 'one');
  const two = join(dirs.a, 'two');
  const [p1, p2] = [await freePort(), await freePort()];
  t.equal((await cli(['start', '--storage', one, '--listen', `127.0.0.1:${p1}`])).code, 0);
  const pid1 = await started(one);
  t.equal((await cli(['start', '--storage', two, '--listen', `127.0.0.1:${p2}`])).code, 0);
  const pid2 = await started(two);

  const status = await cli(['status'], dirs.b);
  t.equal(status.code, 0, status.stderr);
  t.match(status.stdout, '2 registries running');
  t.match(status.stdout, `http://127.0.0.1:${p1} (pid ${pid1}), storage ${one}`);
  t.match(status.stdout, `http://127.0.0.1:${p2} (pid ${pid2}), storage ${two}`);

  const stop = await cli(['stop'], dirs.b);
  t.equal(stop.code, 2, 'stop will not guess which');
  t.equal(stop.stderr.trim().split('\n').length, 1, `one line: ${stop.stderr}`);
  t.match(stop.stderr, /2 registries are running .*name the one to stop with --storage/);
  t.match(stop.stderr, one);
  t.match(stop.stderr, two);
  t.ok(alive(pid1) && alive(pid2), 'both still run');

  t.equal((await cli(['stop', '--storage', one], dirs.b)).code, 0);
  t.notOk(alive(pid1));
  const last = await cli(['stop'], dirs.b);
  t.equal(last.code, 0, last.stderr);
  t.match(last.stdout, `Registry stopped (pid ${pid2}`, 'with one left, stop stops it');
  t.notOk(alive(pid2));
});

t.test('a stale record (dead PID) or a recycled PID is ignored and cleaned', async (t) => {
  const { dirs, cli, started } = await user(t);
  const storage = join(dirs.a, 'storage');
  const port = await freePort();
  t.equal((await cli(['start', '--storage', storage, '--listen', `127.0.0.1:${port}`])).code, 0);
  const pid = await started(storage);
  const records = join(dirs.run, 'container-registry', 'instances');
  t.ok(existsSync(join(records, `${pid}.json`)));
  process.kill(pid, 'SIGKILL');
  await waitFor(async () => !alive(pid), 5000, 'the server to die');
  // A live process that is not ours, recorded with a start time that is not its own.
  const sleeper = spawn('sleep', ['60']);
  t.teardown(() => sleeper.kill('SIGKILL'));
  await waitFor(async () => processStartTime(sleeper.pid!) !== undefined);
  await writeFile(
    join(records, `${sleeper.pid}.json`),
    JSON.stringify({ pid: sleeper.pid, startTime: '1', instance: 'x', url: 'http://127.0.0.1:1', host: '127.0.0.1', port: 1, tls: false, storage }),
  );
  const status = await cli(['status'], dirs.b);
  t.equal(status.code, 3, status.stdout);
  t.match(status.stdout, 'Registry not running');
  t.same(readdirSync(records), [], 'both records removed');
  const stop = await cli(['stop'], dirs.b);
  t.equal(stop.code, 0);
  t.ok(alive(sleeper.pid!), 'the unrelated process was not signalled');
  // The port is free again: a new start there works.
  t.equal((await cli(['start', '--storage', storage, '--listen', `127.0.0.1:${port}`])).code, 0);
  await started(storage);
  t.equal((await cli(['stop'], dirs.b)).code, 0);
});

t.test('a running registry in secure mode: the client commands take its CA and password from its storage', async (t) => {
  const { dirs, cli, started } = await user(t);
  const storage = join(dirs.data, 'container-registry');
  const port = await freePort();
  const start = await cli(['start', '--tls', '--auth', '--listen', `127.0.0.1:${port}`]);
  t.equal(start.code, 0, start.stderr);
  t.match(start.stdout, `Registry started: https://127.0.0.1:${port}`);
  await started(storage);
  const list = await cli(['list'], dirs.b);
  t.equal(list.code, 0, `HTTPS with <storage>/certs/ca.crt, login with <storage>/auth/password: ${list.stderr}`);
  t.match(list.stdout, '(no images in yocto/)');
  const stop = await cli(['stop'], dirs.b);
  t.equal(stop.code, 0, stop.stderr);
});
