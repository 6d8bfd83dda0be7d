// gc --cache-max-age / --cache-max-size: expiry of the pull-through cache's content, on real files
// of a real registry. Pushed images go in normally; cached ones are pushed into `<prefix>/...`
// repositories (this registry does not make them read-only) and marked with the records the serving
// side writes (test/helpers/cache-records.ts). gc runs as the CLI does, while the registry serves.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { BUNDLE, startTestRegistry, type TestRegistry } from './helpers/registry.js';
import { tempDir } from './helpers/tmp.js';
import { exec } from './helpers/exec.js';
import { makeImage, pushImage, sha256, type TestImage } from './helpers/images.js';
import { cacheRecordFile, cacheRecordKey, cacheRecordText, writeCacheRecord } from './helpers/cache-records.js';
import { createBucket, missingRadosGw, s3Client, startRadosGw } from './helpers/radosgw.js';

const DAY = 24 * 3600_000;

interface Report {
  dryRun: boolean;
  blobsDeleted: Array<{ digest: string }>;
  cacheExpired: Array<{ upstream: string; repository: string; digest: string; tags: string[]; size: number; reason: string }>;
  cacheSkipped: Array<{ path: string; problem: string }>;
}

const imageBytes = (i: TestImage) => [i.manifest, i.config, ...i.layers].reduce((n, b) => n + b.data.length, 0);
const blobFile = (storage: string, digest: string) => join(storage, 'docker/registry/v2/blobs/sha256', digest.slice(7, 9), digest.slice(7), 'data');
const tagDir = (storage: string, repo: string, tag: string) => join(storage, 'docker/registry/v2/repositories', repo, '_manifests/tags', tag);
const revisionDir = (storage: string, repo: string, digest: string) =>
  join(storage, 'docker/registry/v2/repositories', repo, '_manifests/revisions/sha256', digest.slice(7));

async function gc(reg: TestRegistry, args: string[]): Promise<{ report: Report; stdout: string; stderr: string }> {
  const r = await exec(process.execPath, [BUNDLE, 'gc', '--storage', reg.storage, '--grace', '0', '--settle', '0', ...args], { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`gc ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return { report: args.includes('--json') ? (JSON.parse(r.stdout) as Report) : ({} as Report), stdout: r.stdout, stderr: r.stderr };
}

/** pullsWhole fetches an image's manifest and every blob through the registry and checks their digests. */
async function pullsWhole(reg: TestRegistry, repo: string, tag: string, image: TestImage): Promise<boolean> {
  const m = await fetch(`${reg.url}/v2/${repo}/manifests/${tag}`, { headers: { Accept: image.manifest.mediaType } });
  if (m.status !== 200 || sha256(Buffer.from(await m.arrayBuffer())) !== image.manifest.digest) return false;
  for (const b of [image.config, ...image.layers]) {
    const res = await fetch(`${reg.url}/v2/${repo}/blobs/${b.digest}`);
    if (res.status !== 200 || sha256(Buffer.from(await res.arrayBuffer())) !== b.digest) return false;
  }
  return true;
}

t.test('cache limits expire cached manifests only, and the blobs only they used', async (t) => {
  const storage = await tempDir(t, 'cr-gc-cache-');
  const reg = await startTestRegistry(t, { storage });
  const now = Date.now();
  const shared = [{ name: 'shared.txt', content: `a layer both a pushed and a cached image use ${randomBytes(8).toString('hex')}\n` }];

  // Pushed: never expires, whatever the limits.
  const pushed = makeImage({ layers: [shared, [{ name: 'app.txt', content: 'pushed\n' }]] });
  await pushImage(reg.url, 'yocto/app', 'v1', pushed);
  // Cached: alpine last pulled 40 days ago (shares a layer with the pushed image), multi/app 10 days
  // ago and busybox an hour ago, each of the last two 700 KiB (over 1 MiB together).
  const alpine = makeImage({ layers: [shared, [{ name: 'alpine.txt', content: 'only the cached alpine\n' }]] });
  const multi = makeImage({ layers: [[{ name: 'big', content: randomBytes(700 * 1024) }]] });
  const busybox = makeImage({ layers: [[{ name: 'big', content: randomBytes(700 * 1024) }]] });
  const cached = [
    { image: alpine, upstream: 'docker.io', repository: 'docker.io/library/alpine', tag: '3.20', pulled: now - 40 * DAY },
    { image: multi, upstream: 'localhost:5001', repository: 'localhost-5001/multi/app', tag: 'v1', pulled: now - 10 * DAY },
    { image: busybox, upstream: 'docker.io', repository: 'docker.io/library/busybox', tag: '1.36', pulled: now - 3600_000 },
  ];
  for (const c of cached) {
    await pushImage(reg.url, c.repository, c.tag, c.image);
    await writeCacheRecord(storage, {
      upstream: c.upstream,
      repository: c.repository,
      digest: c.image.manifest.digest,
      tags: [c.tag],
      size: imageBytes(c.image),
      fetchedAt: new Date(c.pulled - DAY),
      lastPulledAt: new Date(c.pulled),
    });
  }
  // Malformed records: not JSON, and a digest that is not the path's. Reported, skipped, not a crash.
  const broken = cacheRecordFile(storage, 'docker.io/library/broken', `sha256:${'1'.repeat(64)}`);
  await mkdir(join(broken, '..'), { recursive: true });
  await writeFile(broken, '{"upstream": "docker.io", ');
  const mismatched = cacheRecordFile(storage, 'localhost-5001/multi/app', `sha256:${'2'.repeat(64)}`);
  await writeFile(
    mismatched,
    JSON.stringify({ ...JSON.parse(await readFile(cacheRecordFile(storage, 'localhost-5001/multi/app', multi.manifest.digest), 'utf8')) }),
  );
  const aliveOnDisk = (c: (typeof cached)[number]) =>
    existsSync(cacheRecordFile(storage, c.repository, c.image.manifest.digest)) &&
    existsSync(tagDir(storage, c.repository, c.tag)) &&
    existsSync(revisionDir(storage, c.repository, c.image.manifest.digest));

  await t.test('a dry run reports what max-age would expire and removes nothing', async (t) => {
    const { report } = await gc(reg, ['--cache-max-age', '30d', '--dry-run', '--json']);
    t.equal(report.dryRun, true);
    t.same(
      report.cacheExpired.map((e) => [e.repository, e.digest, e.tags, e.reason]),
      [['docker.io/library/alpine', alpine.manifest.digest, ['3.20'], 'max-age']],
    );
    t.ok(cached.every(aliveOnDisk), 'every cached manifest, tag and record still there');
    t.ok(existsSync(blobFile(storage, alpine.layers[1]!.digest)), "alpine's own layer still there");
    t.ok(await pullsWhole(reg, 'docker.io/library/alpine', '3.20', alpine), 'alpine still pulls');
  });

  await t.test('max-age expires only what was last pulled longer ago; shared blobs and pushed images stay', async (t) => {
    const { report } = await gc(reg, ['--cache-max-age', '30d', '--json']);
    t.same(
      report.cacheExpired.map((e) => [e.upstream, e.repository, e.digest, e.tags, e.size, e.reason]),
      [['docker.io', 'docker.io/library/alpine', alpine.manifest.digest, ['3.20'], imageBytes(alpine), 'max-age']],
    );
    t.same(
      report.cacheSkipped.map((s) => s.path).sort(),
      [`cache/docker.io/library/broken/sha256/${'1'.repeat(64)}.json`, `cache/localhost-5001/multi/app/sha256/${'2'.repeat(64)}.json`],
      'both malformed records reported',
    );
    t.match(report.cacheSkipped.find((s) => s.path.includes('broken'))?.problem, /not JSON/);
    t.match(report.cacheSkipped.find((s) => s.path.includes('2222'))?.problem, /"digest" is .*the path says/);
    t.ok(existsSync(broken) && existsSync(mismatched), 'malformed records are left alone');

    const deleted = new Set(report.blobsDeleted.map((b) => b.digest));
    t.same(
      [alpine.manifest.digest, alpine.config.digest, alpine.layers[1]!.digest].filter((d) => !deleted.has(d)),
      [],
      "alpine's manifest, config and own layer deleted",
    );
    t.notOk(deleted.has(alpine.layers[0]!.digest), 'the layer the pushed image shares is not');
    t.notOk(existsSync(blobFile(storage, alpine.layers[1]!.digest)), "alpine's own layer is gone from disk");
    t.ok(existsSync(blobFile(storage, alpine.layers[0]!.digest)), 'the shared layer is on disk');
    t.notOk(existsSync(cacheRecordFile(storage, 'docker.io/library/alpine', alpine.manifest.digest)), "alpine's record is gone");
    t.notOk(existsSync(tagDir(storage, 'docker.io/library/alpine', '3.20')), 'and its tag');
    t.equal((await fetch(`${reg.url}/v2/docker.io/library/alpine/manifests/${alpine.manifest.digest}`)).status, 404, 'alpine no longer served');
    t.ok(aliveOnDisk(cached[1]!) && aliveOnDisk(cached[2]!), 'the cached images pulled within 30 days stay');
    t.ok(await pullsWhole(reg, 'yocto/app', 'v1', pushed), 'the pushed image pulls whole');
    t.ok(await pullsWhole(reg, 'localhost-5001/multi/app', 'v1', multi), 'the kept cached image pulls whole');
  });

  await t.test('max-size removes the least recently pulled until the cache is under the limit', async (t) => {
    const r = await gc(reg, ['--cache-max-size', '1']);
    const lines = r.stdout.split('\n');
    t.ok(
      lines.some((l) => l.startsWith(`Expired cached manifest localhost-5001/multi/app@${multi.manifest.digest} (tag v1) of localhost:5001, last pulled `)),
      `the expiry is one line of output\n${r.stdout}`,
    );
    t.match(r.stdout, /over --cache-max-size/);
    t.match(r.stdout, /expired 1 cached manifest\(s\)/);
    t.match(r.stderr, /warning: cache record cache\/docker.io\/library\/broken\/sha256\/1+\.json: not JSON/, 'the malformed record is a warning');
    t.notOk(aliveOnDisk(cached[1]!), 'multi/app (10 days) expired');
    t.notOk(existsSync(blobFile(storage, multi.layers[0]!.digest)), 'its 700 KiB layer is gone');
    t.ok(aliveOnDisk(cached[2]!), 'busybox (an hour) fits under 1 MiB alone: kept');
    t.ok(await pullsWhole(reg, 'docker.io/library/busybox', '1.36', busybox));
  });

  await t.test('a limit of 0 empties the cache; pushed content never expires; gc stats count the expiries', async (t) => {
    const { report } = await gc(reg, ['--cache-max-size', '0', '--cache-max-age', '1d', '--json']);
    t.same(
      report.cacheExpired.map((e) => [e.repository, e.reason]),
      [['docker.io/library/busybox', 'max-size']],
    );
    t.ok(await pullsWhole(reg, 'yocto/app', 'v1', pushed), 'the pushed image pulls whole');
    t.ok(existsSync(blobFile(storage, pushed.layers[0]!.digest)), 'with the layer alpine had shared');
    const stats = JSON.parse(await readFile(join(storage, 'gc-stats.json'), 'utf8')) as { runs: number; cacheExpired: number };
    t.equal(stats.runs, 3, 'three runs recorded (not the dry run)');
    t.equal(stats.cacheExpired, 3, 'alpine, multi/app, busybox');
    const metrics = await (await fetch(`${reg.url}/metrics`)).text();
    t.match(metrics, /^registry_gc_cache_expired_total 3$/m, '/metrics exports the total');
  });

  await t.test('without limits, gc leaves cache records alone', async (t) => {
    const kept = makeImage({ layers: [[{ name: 'k', content: 'kept\n' }]] });
    await pushImage(reg.url, 'quay.io/org/kept', 'v1', kept);
    await writeCacheRecord(storage, {
      upstream: 'quay.io',
      repository: 'quay.io/org/kept',
      digest: kept.manifest.digest,
      tags: ['v1'],
      size: imageBytes(kept),
      fetchedAt: new Date(now - 400 * DAY),
      lastPulledAt: new Date(now - 400 * DAY),
    });
    const { report } = await gc(reg, ['--json']);
    t.same(report.cacheExpired, []);
    t.same(report.cacheSkipped, [], 'records are not even read');
    t.ok(await pullsWhole(reg, 'quay.io/org/kept', 'v1', kept));
  });

  await t.test('bad limits are usage errors naming the flag', async (t) => {
    const age = await exec(process.execPath, [BUNDLE, 'gc', '--storage', storage, '--cache-max-age', 'soon']);
    t.equal(age.code, 2);
    t.match(age.stderr, /--cache-max-age must be a duration/);
    const size = await exec(process.execPath, [BUNDLE, 'gc', '--storage', storage, '--cache-max-size', '-1']);
    t.equal(size.code, 2);
    t.match(size.stderr, /--cache-max-size must be/);
    const env = await exec(process.execPath, [BUNDLE, 'gc', '--storage', storage], { env: { CONTAINER_REGISTRY_CACHE_MAX_AGE: 'soon' } });
    t.equal(env.code, 2, 'the variable is read when the flag is absent');
    t.match(env.stderr, /CONTAINER_REGISTRY_CACHE_MAX_AGE must be a duration/);
  });
});

t.test('an index stays whole: its children are kept while it is, and go with it', async (t) => {
  const storage = await tempDir(t, 'cr-gc-cache-index-');
  const reg = await startTestRegistry(t, { storage });
  const now = Date.now();
  const amd = makeImage({ layers: [[{ name: 'a', content: 'amd64\n' }]] });
  const arm = makeImage({ layers: [[{ name: 'a', content: 'arm64\n' }]], architecture: 'arm64' });
  const { makeIndex, putManifest } = await import('./helpers/images.js');
  const index = makeIndex([amd, arm]);
  const repo = 'localhost-5001/multi/arch';
  await pushImage(reg.url, repo, amd.manifest.digest, amd);
  await pushImage(reg.url, repo, arm.manifest.digest, arm);
  t.equal((await putManifest(reg.url, repo, 'v1', index)).status, 201);
  const record = (digest: string, tags: string[], size: number, pulled: number) =>
    writeCacheRecord(storage, {
      upstream: 'localhost:5001',
      repository: repo,
      digest,
      tags,
      size,
      fetchedAt: new Date(pulled),
      lastPulledAt: new Date(pulled),
    });
  // The index was pulled recently, its arm64 child long ago (only amd64 machines pulled since).
  await record(index.digest, ['v1'], index.data.length, now - DAY);
  await record(amd.manifest.digest, [], imageBytes(amd), now - DAY);
  await record(arm.manifest.digest, [], imageBytes(arm), now - 60 * DAY);

  const first = await gc(reg, ['--cache-max-age', '30d', '--json']);
  t.same(first.report.cacheExpired, [], 'the arm64 child is kept: its index stays');
  t.match(first.report.cacheSkipped, [{ problem: /kept: a child of .*@sha256:/ }]);
  t.equal((await fetch(`${reg.url}/v2/${repo}/manifests/${arm.manifest.digest}`, { headers: { Accept: arm.manifest.mediaType } })).status, 200);

  const second = await gc(reg, ['--cache-max-age', '1h', '--json']);
  t.same(
    second.report.cacheExpired.map((e) => e.digest).sort(),
    [index.digest, amd.manifest.digest, arm.manifest.digest].sort(),
    'index and children expire together',
  );
  t.notOk(existsSync(blobFile(storage, arm.layers[0]!.digest)), "the children's layers are gone");
  t.notOk(existsSync(blobFile(storage, index.digest)), 'and the index itself');
});

t.test("on S3 the records are objects beside distribution's keys, and expiry works the same", { skip: missingRadosGw() }, async (t) => {
  const gw = await startRadosGw(t);
  const bucket = `gc-cache-${process.pid}`;
  await createBucket(gw.env, bucket);
  const env = { ...gw.env, CONTAINER_REGISTRY_STATE_DIR: await tempDir(t, 'cr-gc-cache-s3-') };
  const url = `s3://${bucket}/registry`;
  const reg = await startTestRegistry(t, { storage: url, env });
  const shared = [{ name: 'shared.txt', content: `shared on s3 ${randomBytes(8).toString('hex')}\n` }];
  const pushed = makeImage({ layers: [shared, [{ name: 'p', content: 'pushed on s3\n' }]] });
  const alpine = makeImage({ layers: [shared, [{ name: 'a', content: 'cached on s3\n' }]] });
  await pushImage(reg.url, 'yocto/app', 'v1', pushed);
  await pushImage(reg.url, 'docker.io/library/alpine', '3.20', alpine);
  const { PutObjectCommand, ListObjectsV2Command } = await import('@aws-sdk/client-s3');
  const client = await s3Client(gw.env);
  t.teardown(() => client.destroy());
  const pulled = new Date(Date.now() - 40 * DAY);
  const recordKey = `registry/${cacheRecordKey('docker.io/library/alpine', alpine.manifest.digest)}`;
  const fields = { upstream: 'docker.io', repository: 'docker.io/library/alpine', digest: alpine.manifest.digest, tags: ['3.20'] };
  await client.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: recordKey,
      Body: cacheRecordText({ ...fields, size: imageBytes(alpine), fetchedAt: pulled, lastPulledAt: pulled }),
    }),
  );
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: `registry/${cacheRecordKey('docker.io/library/x', `sha256:${'3'.repeat(64)}`)}`, Body: '[]' }));
  const keys = async () => {
    const out = new Set<string>();
    let token: string | undefined;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'registry/', ContinuationToken: token }));
      for (const o of page.Contents ?? []) out.add(o.Key!);
      token = page.NextContinuationToken;
    } while (token);
    return out;
  };
  const blobKey = (digest: string) => `registry/docker/registry/v2/blobs/sha256/${digest.slice(7, 9)}/${digest.slice(7)}/data`;

  // On S3 gc keeps what was used since a second before its run began (its lease's time, in whole
  // seconds): the pushes above must be older than that.
  await new Promise((r) => setTimeout(r, 2100));
  const r = await exec(process.execPath, [BUNDLE, 'gc', '--storage', url, '--grace', '0', '--settle', '0', '--cache-max-age', '30d', '--json'], { env });
  t.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as Report;
  t.same(
    report.cacheExpired.map((e) => [e.repository, e.digest, e.tags]),
    [['docker.io/library/alpine', alpine.manifest.digest, ['3.20']]],
  );
  t.same(
    report.cacheSkipped.map((s) => [s.path, s.problem]),
    [[`cache/docker.io/library/x/sha256/${'3'.repeat(64)}.json`, 'not a JSON object']],
  );
  const after = await keys();
  t.notOk(after.has(recordKey), 'the record object is gone');
  t.notOk(after.has(blobKey(alpine.layers[1]!.digest)), "alpine's own layer is gone from the bucket");
  t.ok(after.has(blobKey(alpine.layers[0]!.digest)), 'the layer the pushed image shares stays');
  t.ok(await pullsWhole(reg, 'yocto/app', 'v1', pushed), 'the pushed image pulls whole');
});
