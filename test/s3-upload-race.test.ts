// Two replicas resuming one upload session at once (the same client retrying on another replica,
// say): on an object store they share nothing but the bucket, so the upload's writer lock there
// (storage/uploads.ts) lets one PATCH write and fails the other cleanly (409, or 416 once the
// first has moved the upload on); the upload then completes whole.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { startTestRegistry, type TestRegistry } from './helpers/registry.js';
import { tempDir } from './helpers/tmp.js';
import { sha256 } from './helpers/images.js';
import { createBucket, missingRadosGw, startRadosGw } from './helpers/radosgw.js';

const skip = missingRadosGw();
const MiB = 1024 * 1024;

async function replica(t: { teardown(fn: () => unknown): void }, env: Record<string, string>, storage: string): Promise<TestRegistry> {
  return startTestRegistry(t, { storage, env: { ...env, CONTAINER_REGISTRY_STATE_DIR: await tempDir(t, 'cr-race-') } });
}

/** slowBody sends `data` in 1 MiB pieces 150 ms apart, so that two PATCHes overlap. */
function slowBody(data: Buffer): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    async pull(controller) {
      if (at >= data.length) return controller.close();
      await new Promise((r) => setTimeout(r, 150));
      controller.enqueue(new Uint8Array(data.subarray(at, at + MiB)));
      at += MiB;
    },
  });
}

t.test('two replicas resuming one upload at once: one writes, the other fails cleanly', { skip, timeout: 180_000 }, async (t) => {
  const gw = await startRadosGw(t);
  await createBucket(gw.env, 'race');
  const storage = 's3://race/reg';
  const [a, b] = await Promise.all([replica(t, gw.env, storage), replica(t, gw.env, storage)]);
  const data = randomBytes(20 * MiB + 3);
  const start = await fetch(`${a.url}/v2/team/race/blobs/uploads/`, { method: 'POST' });
  const path = new URL(start.headers.get('location')!, a.url).pathname;
  const patch = (reg: TestRegistry, from: number, to: number) =>
    fetch(`${reg.url}${path}`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${from}-${to - 1}` },
      body: slowBody(data.subarray(from, to)),
      duplex: 'half',
    } as RequestInit);
  t.equal((await patch(a, 0, 9 * MiB)).status, 202, 'the first 9 MiB through a');

  const both = await Promise.all([patch(a, 9 * MiB, 18 * MiB), patch(b, 9 * MiB, 18 * MiB)]);
  const statuses = both.map((r) => r.status).sort();
  for (const r of both) await r.arrayBuffer();
  t.equal(statuses.filter((s) => s === 202).length, 1, `one PATCH wrote (${statuses.join(', ')})`);
  t.ok(
    statuses.every((s) => s === 202 || s === 409 || s === 416),
    'the other was refused cleanly',
  );
  const status = await fetch(`${b.url}${path}`);
  t.equal(status.headers.get('range'), `0-${18 * MiB - 1}`, 'both replicas see 18 MiB');

  const put = await fetch(`${b.url}${path}?digest=${sha256(data)}`, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${18 * MiB}-${data.length - 1}` },
    body: new Uint8Array(data.subarray(18 * MiB)),
  });
  t.equal(put.status, 201, 'the upload completes, digest verified');
  const got = Buffer.from(await (await fetch(`${a.url}/v2/team/race/blobs/${sha256(data)}`)).arrayBuffer());
  t.equal(sha256(got), sha256(data), 'whole');
  t.equal((await fetch(`${a.url}${path}`)).status, 404, 'the session is gone, lock and all');
});
