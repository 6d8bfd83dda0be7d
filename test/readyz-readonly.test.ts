// /readyz turns 503 when storage becomes read-only, and back to 200 when it is writable again.
// Root can write through chmod, so the storage is a tmpfs in a private mount namespace that the
// test remounts read-only: an honest EROFS, invisible to the rest of the machine. One result of the
// checks answers /readyz for a couple of seconds, so the test waits (a while, not forever) for the
// change to show.
import t from 'tap';
import { BUNDLE } from './helpers/registry.js';
import { startTmpfsServer, TMPFS_SKIP } from './helpers/tmpfs-server.js';
import { waitFor } from './helpers/ports.js';

t.test('/readyz is 503 while the storage is read-only', { skip: TMPFS_SKIP }, async (t) => {
  const { base, storage, inNs } = await startTmpfsServer(t, 64, 'cr-ro-');

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
