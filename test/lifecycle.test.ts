// start, stop, status and serve's failures, through the built CLI, as a user runs them.
import t from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { existsSync } from 'node:fs';
import { open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BUNDLE, runCli } from './helpers/registry.js';
import { missingPeer } from './helpers/peers.js';
import { freePort, waitFor } from './helpers/ports.js';
import { tempDir } from './helpers/tmp.js';
import { alive } from './helpers/proc.js';
import { processStartTime } from '../tools/src/daemon/pidfile.js';

t.test('start returns when /v2/ answers; status; start again; stop; status', async (t) => {
  const dir = await tempDir(t);
  const storage = join(dir, 'storage with spaces');
  const port = await freePort();
  const start = await runCli(['start', '--storage', storage, '--listen', `127.0.0.1:${port}`]);
  t.teardown(() => runCli(['stop', '--storage', storage, '--timeout', '2']));
  t.equal(start.code, 0, start.stderr);
  t.match(start.stdout, `Registry started: http://127.0.0.1:${port}`);
  const res = await fetch(`http://127.0.0.1:${port}/v2/`);
  t.equal(res.status, 200, 'answering when start returns');
  t.ok(existsSync(join(storage, 'container-registry.pid')), 'PID file in the storage dir');
  t.ok(existsSync(join(storage, 'container-registry.log')), 'log in the storage dir');
  const status = await runCli(['status', '--storage', storage]);
  t.equal(status.code, 0);
  t.match(status.stdout, /Registry running: http:\/\/127\.0\.0\.1:\d+ \(pid \d+\)/);
  const again = await runCli(['start', '--storage', storage, '--listen', `127.0.0.1:${port}`]);
  t.equal(again.code, 0);
  t.match(again.stdout, 'already running');
  const pid = JSON.parse(await readFile(join(storage, 'container-registry.pid'), 'utf8')).pid as number;
  const stop = await runCli(['stop', '--storage', storage]);
  t.equal(stop.code, 0);
  t.match(stop.stdout, /Registry stopped \(pid \d+, \d+ ms\)/);
  t.notOk(alive(pid), 'the server process is gone');
  t.notOk(existsSync(join(storage, 'container-registry.pid')), 'PID file removed');
  const after = await runCli(['status', '--storage', storage]);
  t.equal(after.code, 3);
  t.match(after.stdout, 'Registry not running');
  const stopAgain = await runCli(['stop', '--storage', storage]);
  t.equal(stopAgain.code, 0, 'stopping a stopped registry is not an error');
});

t.test('a port in use is one clear line and a non-zero exit', async (t) => {
  const dir = await tempDir(t);
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => blocker.close());
  const port = (blocker.address() as { port: number }).port;
  const serve = await runCli(['serve', '--storage', dir, '--listen', `127.0.0.1:${port}`]);
  t.equal(serve.code, 1);
  t.equal(serve.stderr.trim().split('\n').length, 1, 'one line');
  t.match(serve.stderr, `container-registry: error [port-in-use]: 127.0.0.1:${port} is already in use`);
  const start = await runCli(['start', '--storage', dir, '--listen', `127.0.0.1:${port}`, '--timeout', '10']);
  t.equal(start.code, 1);
  t.match(start.stderr, 'the server exited (code 1) before answering');
  t.match(start.stderr, 'port-in-use', 'start shows the tail of the log');
});

t.test('unwritable storage and bad flags', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'a-file');
  await writeFile(file, 'x');
  const serve = await runCli(['serve', '--storage', join(file, 'storage'), '--listen', `127.0.0.1:${await freePort()}`]);
  t.equal(serve.code, 1);
  t.match(serve.stderr, /^container-registry: error \[storage\]: cannot write the storage directory .*a-file\/storage \(ENOTDIR\)\n$/);
  const listen = await runCli(['serve', '--storage', dir, '--listen', 'localhost:http']);
  t.equal(listen.code, 2);
  t.match(listen.stderr, 'error [usage]: invalid --listen "localhost:http": the port must be a number');
  const range = await runCli(['serve', '--storage', dir, '--listen', '70000']);
  t.equal(range.code, 2);
  t.match(range.stderr, 'the port must be between 1 and 65535');
  const unknown = await runCli(['serve', '--storage', dir, '--no-such-flag']);
  t.equal(unknown.code, 2);
  t.match(unknown.stderr, 'Unknown argument');
  const none = await runCli([]);
  t.equal(none.code, 2);
});

t.test('a stale or recycled PID is never taken for the registry', async (t) => {
  const dir = await tempDir(t);
  const port = await freePort();
  // A live process that is not ours, recorded with a start time that is not its own.
  const sleeper = spawn('sleep', ['60']);
  t.teardown(() => sleeper.kill('SIGKILL'));
  await waitFor(async () => processStartTime(sleeper.pid!) !== undefined);
  await writeFile(
    join(dir, 'container-registry.pid'),
    JSON.stringify({ pid: sleeper.pid, startTime: '1', instance: 'x', url: `http://127.0.0.1:${port}`, host: '127.0.0.1', port, tls: false }),
  );
  const status = await runCli(['status', '--storage', dir]);
  t.equal(status.code, 3);
  t.match(status.stdout, `Registry not running (stale PID file for pid ${sleeper.pid})`);
  const stop = await runCli(['stop', '--storage', dir]);
  t.equal(stop.code, 0);
  t.ok(alive(sleeper.pid!), 'stop did not signal the unrelated process');
  // The same process with its true start time: alive, but it does not answer as our instance.
  await writeFile(
    join(dir, 'container-registry.pid'),
    JSON.stringify({
      pid: sleeper.pid,
      startTime: processStartTime(sleeper.pid!),
      instance: 'x',
      url: `http://127.0.0.1:${port}`,
      host: '127.0.0.1',
      port,
      tls: false,
    }),
  );
  const notAnswering = await runCli(['status', '--storage', dir]);
  t.equal(notAnswering.code, 1);
  t.match(notAnswering.stdout, 'running but not answering');
});

function slowUpload(port: number, path: string, body: Buffer, delayMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'PATCH', headers: { 'Content-Length': String(body.length) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.write(body.subarray(0, 1));
    setTimeout(() => req.end(body.subarray(1)), delayMs);
  });
}

t.test('stop lets an in-flight request finish', async (t) => {
  const dir = await tempDir(t);
  const port = await freePort();
  t.equal((await runCli(['start', '--storage', dir, '--listen', `127.0.0.1:${port}`])).code, 0);
  t.teardown(() => runCli(['stop', '--storage', dir, '--timeout', '2']));
  const post = await fetch(`http://127.0.0.1:${port}/v2/drain/test/blobs/uploads/`, { method: 'POST' });
  const upload = slowUpload(port, post.headers.get('location')!, Buffer.from('in flight'), 800);
  await new Promise((r) => setTimeout(r, 200));
  const stop = runCli(['stop', '--storage', dir]);
  t.equal(await upload, 202, 'the in-flight PATCH completed');
  const result = await stop;
  t.match(result.stdout, 'Registry stopped');
});

t.test('stop escalates to SIGKILL when draining takes too long', async (t) => {
  const dir = await tempDir(t);
  const port = await freePort();
  t.equal((await runCli(['start', '--storage', dir, '--listen', `127.0.0.1:${port}`, '--drain-timeout', '60'])).code, 0);
  const pid = JSON.parse(await readFile(join(dir, 'container-registry.pid'), 'utf8')).pid as number;
  const post = await fetch(`http://127.0.0.1:${port}/v2/drain/kill/blobs/uploads/`, { method: 'POST' });
  const upload = slowUpload(port, post.headers.get('location')!, Buffer.from('never finished in time'), 5000).catch(() => -1);
  await new Promise((r) => setTimeout(r, 200));
  const stop = await runCli(['stop', '--storage', dir, '--timeout', '1']);
  t.equal(stop.code, 0);
  t.match(stop.stdout, `Registry killed after 1 s (pid ${pid})`);
  t.notOk(alive(pid));
  t.equal(await upload, -1, 'the connection was cut');
});

t.test('a storage that cannot be made (/proc) fails at once, not a CPU spinning for ever', async (t) => {
  const where = `/proc/cr-test-${process.pid}/storage`;
  const port = `127.0.0.1:${await freePort()}`;
  for (const args of [
    ['start', '--storage', where, '--listen', port, '--timeout', '10'],
    ['serve', '--storage', where, '--listen', port],
    ['pki', 'init', '--storage', where],
    ['script', '--storage', where],
  ]) {
    const started = Date.now();
    const r = await runCli(args, { timeoutMs: 20_000 });
    const label = args.slice(0, args[0] === 'pki' ? 2 : 1).join(' ');
    t.equal(r.code, 1, `${label}: exit 1, not killed (${r.stderr.trim()})`);
    t.ok(Date.now() - started < 8_000, `${label}: within seconds (${Date.now() - started} ms)`);
    t.equal(r.stderr.trim().split('\n').length, 1, `${label}: one line`);
    t.match(r.stderr, `/proc/cr-test-${process.pid}`, `${label}: names the path (or the folder of it that cannot be made)`);
  }
});

t.test('start gives up within --timeout when preparing the registry hangs, whatever the cause', { skip: missingPeer('mkfifo') }, async (t) => {
  const dir = await tempDir(t);
  // A read of config.toml that never returns: a FIFO nobody writes to.
  const fifo = join(dir, 'config.toml');
  execFileSync('mkfifo', [fifo]);
  const started = Date.now();
  const child = spawn(process.execPath, [BUNDLE, 'start', '--storage', dir, '--listen', `127.0.0.1:${await freePort()}`, '--timeout', '2'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
  const told = await waitFor(async () => stderr.includes('\n'), 8_000, 'start to give up').then(
    () => true,
    () => false,
  );
  // The stuck read holds the process until someone opens the FIFO (a blocked system call keeps any process alive).
  if (!told) child.kill('SIGKILL');
  else await open(fifo, 'w').then((h) => h.close());
  t.ok(told, `start told of the failure within its timeout (${Date.now() - started} ms)`);
  t.match(stderr, /^container-registry: error \[start-failed\]: .*2 s/);
  t.equal(await exited, 1, 'and ends with exit 1');
});
