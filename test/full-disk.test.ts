// A full disk, for real: the storage is a small tmpfs in a private mount namespace (root only).
// A push that meets ENOSPC gets 507 "no space left" and a log line, nothing stored before is lost,
// no upload session nobody knows of is left, the server keeps serving and takes pushes again once
// space is freed; and a server started on a full disk refuses to start instead of serving without
// a PID file.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { BUNDLE } from './helpers/registry.js';
import { freePort } from './helpers/ports.js';
import { startTmpfsServer, TMPFS_SKIP } from './helpers/tmpfs-server.js';
import { makeImage, pushImage, sha256 } from './helpers/images.js';

t.test('ENOSPC: 507, logged, nothing lost, served again once space returns', { skip: TMPFS_SKIP, timeout: 120_000 }, async (t) => {
  const { base, storage, child, output, inNs } = await startTmpfsServer(t, 40, 'cr-full-');
  const kept = makeImage();
  await pushImage(base, 'full/app', 'kept', kept);

  // A 30 MiB blob fits; the disk then holds too little for a second one.
  const first = randomBytes(30 * 1024 * 1024);
  const r1 = await fetch(`${base}/v2/full/app/blobs/uploads/?digest=${sha256(first)}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/octet-stream' },
    body: new Uint8Array(first),
  });
  t.equal(r1.status, 201, 'the first blob fits');

  // Monolithic: the disk fills mid-body.
  const second = randomBytes(20 * 1024 * 1024);
  const r2 = await fetch(`${base}/v2/full/app/blobs/uploads/?digest=${sha256(second)}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/octet-stream' },
    body: new Uint8Array(second),
  });
  t.equal(r2.status, 507, 'a blob that does not fit: 507');
  const body = (await r2.json()) as { errors: Array<{ code: string; message: string }> };
  t.match(body.errors[0]!.message, /no space left/);
  t.equal((await fetch(`${base}/v2/full/app/blobs/${sha256(second)}`, { method: 'HEAD' })).status, 404, 'nothing half-written is visible');
  const uploads = await inNs('sh', '-c', `ls -A "${storage}/docker/registry/v2/repositories/full/app/_uploads" 2>/dev/null || true`);
  t.equal(uploads.stdout.trim(), '', 'the session whose id the client never got is gone');

  // Chunked: the PATCH meets the full disk; the session keeps what it holds and stays usable.
  const loc = (await fetch(`${base}/v2/full/app/blobs/uploads/`, { method: 'POST' })).headers.get('location')!;
  const patch = await fetch(new URL(loc, base), { method: 'PATCH', headers: { 'Content-Type': 'application/octet-stream' }, body: new Uint8Array(second) });
  t.equal(patch.status, 507, 'a PATCH that does not fit: 507');

  // A manifest PUT on the full disk: answered and logged.
  const other = makeImage();
  const m = await fetch(`${base}/v2/full/app/manifests/late`, {
    method: 'PUT',
    headers: { 'Content-Type': other.manifest.mediaType },
    body: new Uint8Array(kept.manifest.data),
  });
  t.ok(m.status === 507 || m.status === 201, `manifest PUT on a full disk: ${m.status}`);
  t.match(output(), /no space left/, 'the log says so');
  t.notMatch(output(), /internal error|TypeError/, 'and it is no internal error');

  // Everything stored before is intact.
  t.equal(sha256(Buffer.from(await (await fetch(`${base}/v2/full/app/blobs/${sha256(first)}`)).arrayBuffer())), sha256(first), 'the first blob is intact');
  t.equal((await fetch(`${base}/v2/full/app/manifests/kept`)).status, 200, 'the image pushed before is intact');

  // Space returns (the session and the big blob go): pushes work again.
  t.equal((await fetch(new URL(loc, base), { method: 'DELETE' })).status, 204);
  await inNs('sh', '-c', `rm -rf "${storage}/docker/registry/v2/blobs/sha256/${sha256(first).slice(7, 9)}/${sha256(first).slice(7)}"`);
  const r3 = await fetch(`${base}/v2/full/app/blobs/uploads/?digest=${sha256(second)}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/octet-stream' },
    body: new Uint8Array(second),
  });
  t.equal(r3.status, 201, 'the same push succeeds once space is freed');
  await pushImage(base, 'full/app', 'after', other);
  t.equal(child.exitCode, null, 'the server never stopped');

  // Starting a second server on a full disk: a clear refusal, no server without a PID file.
  await inNs('sh', '-c', `mkdir -p "${storage}/second" && (dd if=/dev/zero of="${storage}/filler" bs=1M 2>/dev/null || true)`);
  const port2 = await freePort();
  const second2 = await inNs(process.execPath, BUNDLE, 'serve', '--storage', `${storage}/second`, '--listen', `127.0.0.1:${port2}`).catch(
    (e: { code: number; stderr: string }) => e,
  );
  t.not((second2 as { code?: number }).code ?? 0, 0, 'serve on a full disk exits non-zero');
  t.match(second2.stderr, /disk is full/, `and says why: ${second2.stderr.trim()}`);
  t.equal(
    await fetch(`http://127.0.0.1:${port2}/v2/`).then(
      (r) => r.status,
      () => 0,
    ),
    0,
    'nothing listens',
  );
});
