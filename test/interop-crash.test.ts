// Crash safety of the real process: kill -9 while 40 blobs (1-4 MiB, chunked PATCH uploads) and
// small images are being pushed, restart on the same storage, then every blob file must hash to
// the digest its path names, every acknowledged blob and tag must be there, and an upload session
// begun before the kill must resume (status Range, PATCH on, PUT commits with the right digest).
import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestRegistry } from './helpers/registry.js';
import { sha256 } from './helpers/images.js';
import { chunkedUpload, pushUntilKilled } from './helpers/crash-load.js';
import { fileDigest } from './helpers/exec.js';

const MiB = 1024 * 1024;
const CHUNK = 256 * 1024;

/** walkBlobs lists every `data` file under blobs/<alg>/<xx>/<hex>/ with the digest its path names. */
async function walkBlobs(root: string): Promise<Array<{ path: string; digest: string }>> {
  const out: Array<{ path: string; digest: string }> = [];
  for (const alg of await readdir(root).catch(() => [] as string[])) {
    for (const prefix of await readdir(join(root, alg))) {
      for (const hex of await readdir(join(root, alg, prefix))) {
        const dir = join(root, alg, prefix, hex);
        for (const name of await readdir(dir)) {
          if (name === 'data') out.push({ path: join(dir, name), digest: `${alg}:${hex}` });
        }
      }
    }
  }
  return out;
}

t.test('kill -9 during a push of many blobs, restart, every blob matches its digest', async (t) => {
  const reg = await startTestRegistry(t);
  const base = reg.url;
  const blobsRoot = join(reg.storage, 'docker', 'registry', 'v2', 'blobs');

  // A session begun before the kill, to resume after it.
  const resumeData = randomBytes(3 * MiB + 12345);
  const resumeDigest = sha256(resumeData);
  const post = await fetch(`${base}/v2/crash/resume/blobs/uploads/`, { method: 'POST' });
  t.equal(post.status, 202, 'upload session started');
  const resumePath = post.headers.get('location')!;
  const firstPart = 1 * MiB + 777;
  const patch = await fetch(new URL(resumePath, base), {
    method: 'PATCH',
    headers: { 'Content-Range': `0-${firstPart - 1}` },
    body: new Uint8Array(resumeData.subarray(0, firstPart)),
  });
  t.equal(patch.status, 202, 'first part of the resumable upload accepted');

  const blobs = Array.from({ length: 40 }, (_, i) => {
    const data = randomBytes(MiB + Math.floor((((i * 7919) % 97) / 97) * 3 * MiB));
    return { data, digest: sha256(data) };
  });
  // 8 workers upload the 40 blobs; 2 more push small images (manifests and tags) meanwhile.
  const { acknowledged, ackTags } = await pushUntilKilled({
    base,
    blobs,
    blobRepo: (n) => `crash/blobs${n % 3}`,
    blobWorkers: 8,
    imageWorkers: 2,
    chunk: CHUNK,
    killAfterBlobs: 12,
    timeoutMs: 60_000,
    kill: () => reg.kill(),
  });
  t.ok(acknowledged.size >= 12, `${acknowledged.size} blobs were committed before the kill`);
  t.ok(acknowledged.size < blobs.length, 'the kill came in the middle of the push');

  // What is on disk after the crash, before any restart: every visible blob is whole.
  let onDisk = await walkBlobs(blobsRoot);
  for (const f of onDisk) {
    if ((await fileDigest(f.path, f.digest.startsWith('sha512') ? 'sha512' : 'sha256')) !== f.digest) t.fail(`corrupt blob ${f.path}`);
  }
  t.pass(`${onDisk.length} blob files after the crash all hash to their digests`);

  const again = await startTestRegistry(t, { storage: reg.storage });
  for (const d of acknowledged) {
    const head = await fetch(`${again.url}/v2/crash/blobs0/blobs/${d}`, { method: 'HEAD' });
    const found =
      head.status === 200 ||
      (await Promise.all([1, 2].map((n) => fetch(`${again.url}/v2/crash/blobs${n}/blobs/${d}`, { method: 'HEAD' })))).some((r) => r.status === 200);
    if (!found) t.fail(`acknowledged blob ${d} lost`);
  }
  t.pass(`all ${acknowledged.size} acknowledged blobs are served after the restart`);
  for (const [tag, digest] of ackTags) {
    const res = await fetch(`${again.url}/v2/crash/images/manifests/${tag}`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } });
    const body = Buffer.from(await res.arrayBuffer());
    if (res.status !== 200 || sha256(body) !== digest) t.fail(`tag ${tag}: ${res.status}`);
  }
  t.pass(`all ${ackTags.size} acknowledged tags resolve to their manifests`);
  // Tags caught mid-push are either whole or absent: never a 5xx, never a body off its digest.
  const list = await fetch(`${again.url}/v2/crash/images/tags/list`);
  t.equal(list.status, 200, 'tags/list after the restart');
  for (const tag of ((await list.json()) as { tags: string[] }).tags) {
    const res = await fetch(`${again.url}/v2/crash/images/manifests/${tag}`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } });
    const body = Buffer.from(await res.arrayBuffer());
    if (res.status !== 200 || sha256(body) !== res.headers.get('docker-content-digest')) t.fail(`listed tag ${tag}: ${res.status}`);
  }

  // The session begun before the kill resumes where the file ends.
  const status = await fetch(new URL(resumePath, again.url));
  t.equal(status.status, 204, 'upload status after restart');
  t.equal(status.headers.get('range'), `0-${firstPart - 1}`, 'Range tells what arrived before the kill');
  const rest = await fetch(new URL(resumePath, again.url), {
    method: 'PATCH',
    headers: { 'Content-Range': `${firstPart}-${resumeData.length - 1}` },
    body: new Uint8Array(resumeData.subarray(firstPart)),
  });
  t.equal(rest.status, 202, 'PATCH continues the old session');
  const put = new URL(rest.headers.get('location')!, again.url);
  put.searchParams.set('digest', resumeDigest);
  const commit = await fetch(put, { method: 'PUT' });
  t.equal(commit.status, 201, 'PUT commits it');
  t.equal(commit.headers.get('docker-content-digest'), resumeDigest);
  const got = Buffer.from(await (await fetch(`${again.url}/v2/crash/resume/blobs/${resumeDigest}`)).arrayBuffer());
  t.equal(createHash('sha256').update(got).digest('hex'), resumeDigest.slice(7), 'the resumed blob is served whole');

  // Every blob the client had not finished can be pushed now; then the store holds all 40.
  for (const b of blobs) {
    if (acknowledged.has(b.digest)) continue;
    t.equal(await chunkedUpload(again.url, 'crash/blobs0', b.data, b.digest, CHUNK), 201, `re-push ${b.digest.slice(0, 19)}`);
  }
  onDisk = await walkBlobs(blobsRoot);
  const digests = new Set(onDisk.map((f) => f.digest));
  t.ok(
    blobs.every((b) => digests.has(b.digest)),
    'all 40 blobs stored after the second push',
  );
  for (const f of onDisk) {
    if ((await fileDigest(f.path)) !== f.digest) t.fail(`corrupt blob ${f.path}`);
    if ((await stat(f.path)).size === 0 && f.digest !== sha256('')) t.fail(`empty blob ${f.path}`);
  }
  t.pass(`${onDisk.length} blob files hash to their digests at the end`);
});
