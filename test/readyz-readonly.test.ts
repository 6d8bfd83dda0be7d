// /readyz turns 503 when storage becomes read-only, and back to 200 when it is writable again.
// Root can write through chmod, so the storage is a tmpfs in a private mount namespace that the
// test remounts read-only: an honest EROFS, invisible to the rest of the machine. One result of the
// checks answers /readyz for a couple of seconds, so the test waits (a while, not forever) for the
// change to show.
import t from 'tap';
import { spawn } from 'node:child_process';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { BUNDLE } from './helpers/registry.js';
import { freePort, waitFor } from './helpers/ports.js';
import { tempDir } from './helpers/tmp.js';
import { isRoot, which } from './helpers/peers.js';

const run = promisify(execFile);

const skip = !isRoot() ? 'needs root (mount namespaces and tmpfs mounts)' : !which('unshare') || !which('nsenter') ? 'needs unshare and nsenter (Debian package util-linux)' : false;

t.test('/readyz is 503 while the storage is read-only', { skip }, async (t) => {
  const storage = await tempDir(t, 'cr-ro-');
  const port = await freePort();
  let out = '';
  // unshare execs sh, which execs node: the child's pid is the server's, inside the namespace.
  const child = spawn(
    'unshare',
    ['-m', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs -o size=64m tmpfs "$1" && exec "$2" "$3" serve --storage "$1" --listen "$4" --min-free-disk 1', 'sh', storage, process.execPath, BUNDLE, `127.0.0.1:${port}`],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise((r) => child.once('exit', r));
  t.teardown(async () => {
    child.kill('SIGKILL');
    await exited;
  });
  const base = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${base}/healthz`)).status === 200, 15_000, 'the server').catch((err) => {
    throw new Error(`${(err as Error).message}\n${out}`);
  });
  const inNs = (...args: string[]) => run('nsenter', ['-t', String(child.pid), '-m', ...args]);

  t.equal((await fetch(`${base}/readyz`)).status, 200, 'writable tmpfs: ready');

  await inNs('mount', '-o', 'remount,ro', storage);
  let ro: Response | undefined;
  await waitFor(async () => (ro = await fetch(`${base}/readyz`)).status === 503, 10_000, '/readyz to turn 503').catch(() => {});
  t.equal(ro?.status, 503, 'read-only: not ready within seconds');
  const body = (await ro!.json()) as { status: string; checks: Array<{ name: string; ok: boolean; detail: string }> };
  t.equal(body.status, 'not-ready');
  const writable = body.checks.find((c) => c.name === 'storage-writable')!;
  t.equal(writable.ok, false);
  t.match(writable.detail, /EROFS/);
  t.equal((await fetch(`${base}/healthz`)).status, 200, 'still alive: liveness is not readiness');

  // The CLI sees the same checks (run inside the namespace, where the PID file is visible).
  const status = await inNs(process.execPath, BUNDLE, 'status', '--storage', storage).catch((e: { code: number; stdout: string }) => e);
  t.equal((status as { code?: number }).code, 4, 'status exits 4: running, not ready');
  t.match(status.stdout, /Ready: NO/);
  t.match(status.stdout, /FAIL storage-writable: .*EROFS/);

  await inNs('mount', '-o', 'remount,rw', storage);
  let rw: Response | undefined;
  await waitFor(async () => (rw = await fetch(`${base}/readyz`)).status === 200, 10_000, '/readyz to turn 200').catch(() => {});
  t.equal(rw?.status, 200, 'writable again: ready again within seconds');
});
