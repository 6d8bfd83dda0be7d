// `serve --read-only` and restoring under a running registry: a read-only registry refuses every
// write with distribution's answer (405 UNSUPPORTED, a message saying why) while pulls, the UI,
// /metrics and /readyz (which says read-only) work; `backup restore` refuses a storage a registry
// serves writable, saying what to do, and restores into one served read-only, whose same process
// then serves the restored images to skopeo.
import t from 'tap';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli, startTestRegistry } from './helpers/registry.js';
import { makeImage, makeIndex, pushImage, putManifest, sha256 } from './helpers/images.js';
import { tempDir } from './helpers/tmp.js';
import { fileDigest, mustExec } from './helpers/exec.js';
import { missingPeer } from './helpers/peers.js';
import { waitFor } from './helpers/ports.js';

const skopeoSkip = missingPeer('skopeo');

t.test('serve --read-only: writes get 405 UNSUPPORTED, reads work, /readyz says read-only', async (t) => {
  // Content first, through a writable registry; then the same storage served read-only.
  const storage = await tempDir(t, 'cr-ro-');
  const writable = await startTestRegistry(t, { storage });
  const image = makeImage();
  await pushImage(writable.url, 'team/app', 'v1', image);
  await writable.stop();
  const reg = await startTestRegistry(t, { storage, args: ['--read-only'] });
  t.match(reg.output(), /read-only: pushes, deletes and uploads are refused/, 'the log says so');
  t.equal(JSON.parse(await readFile(join(storage, 'container-registry.pid'), 'utf8')).readOnly, true, 'the PID file says so');

  const writes: Array<[string, string, RequestInit?]> = [
    ['POST', '/v2/team/app/blobs/uploads/'],
    ['PUT', '/v2/team/app/manifests/v2', { body: image.manifest.data.toString(), headers: { 'Content-Type': image.manifest.mediaType } }],
    ['PATCH', '/v2/team/app/blobs/uploads/00000000-0000-4000-8000-000000000000', { body: 'x' }],
    ['DELETE', `/v2/team/app/manifests/${image.manifest.digest}`],
    ['DELETE', `/v2/team/app/blobs/${image.layers[0]!.digest}`],
    ['DELETE', '/ui/api/tag?repository=team/app&tag=v1'],
  ];
  for (const [method, path, init] of writes) {
    const res = await fetch(`${reg.url}${path}`, { method, ...init });
    t.equal(res.status, 405, `${method} ${path}: 405`);
    const body = (await res.json()) as { errors: Array<{ code: string; message: string }> };
    t.equal(body.errors[0]?.code, 'UNSUPPORTED', `${method}: UNSUPPORTED`);
    t.match(body.errors[0]?.message, /the registry is read-only \(maintenance: serve --read-only\); pulls work/, `${method}: says why`);
  }
  const manifest = await fetch(`${reg.url}/v2/team/app/manifests/v1`, { headers: { Accept: image.manifest.mediaType } });
  t.equal(manifest.status, 200, 'a pull works');
  t.equal(sha256(Buffer.from(await manifest.arrayBuffer())), image.manifest.digest);
  t.equal((await fetch(`${reg.url}/v2/team/app/blobs/${image.layers[0]!.digest}`)).status, 200, 'a blob GET works');
  t.equal((await fetch(`${reg.url}/v2/team/app/blobs/${image.layers[0]!.digest}`, { method: 'HEAD' })).status, 200, 'a blob HEAD works');
  t.same(await (await fetch(`${reg.url}/v2/team/app/tags/list`)).json(), { name: 'team/app', tags: ['v1'] });
  t.equal((await fetch(`${reg.url}/ui/`)).status, 200, 'the UI');
  t.equal((await fetch(`${reg.url}/ui/api/repositories`)).status, 200, "the UI's listing");
  t.equal((await fetch(`${reg.url}/metrics`)).status, 200, '/metrics');
  const ready = await fetch(`${reg.url}/readyz`);
  t.equal(ready.status, 200, '/readyz: ready (to serve pulls)');
  const readiness = (await ready.json()) as { mode?: string; checks: Array<{ name: string; ok: boolean }> };
  t.equal(readiness.mode, 'read-only', '/readyz says read-only');
  t.ok(
    readiness.checks.some((c) => c.name === 'read-only' && c.ok),
    'and names it as a check',
  );
  t.notOk(
    readiness.checks.some((c) => c.name === 'storage-writable'),
    'no probe write',
  );
  const status = await runCli(['status', '--storage', storage]);
  t.equal(status.code, 0, `status: ${status.stdout}${status.stderr}`);
});

t.test('restore refuses a storage served writable, and restores into one served read-only', { skip: skopeoSkip }, async (t) => {
  const source = await tempDir(t, 'cr-ro-src-');
  const reg = await startTestRegistry(t, { storage: source });
  const pushed = new Map<string, string>();
  for (const [repo, tag] of [
    ['base/one', 'v1'],
    ['base/two', 'latest'],
  ] as const) {
    const image = makeImage();
    await pushImage(reg.url, repo, tag, image);
    pushed.set(`${repo}:${tag}`, image.manifest.digest);
  }
  const [amd, arm] = [makeImage({ architecture: 'amd64' }), makeImage({ architecture: 'arm64', variant: 'v8' })];
  for (const img of [amd, arm]) await pushImage(reg.url, 'base/multi', img.manifest.digest, img);
  const index = makeIndex([amd, arm]);
  t.equal((await putManifest(reg.url, 'base/multi', 'latest', index)).status, 201);
  pushed.set('base/multi:latest', index.digest);
  const backups = await tempDir(t, 'cr-ro-backups-');
  const made = await runCli(['backup', 'create', '--storage', source, '--to', backups]);
  t.equal(made.code, 0, made.stderr);

  // Into the storage a registry serves writable (the backup's own): refused, nothing written.
  const refused = await runCli(['backup', 'restore', '--from', backups, '--storage', source]);
  t.equal(refused.code, 2, refused.stdout + refused.stderr);
  t.match(refused.stderr, `a registry serves ${source} and takes pushes (pid ${reg.process.pid})`);
  t.match(
    refused.stderr,
    `stop it (container-registry stop --storage ${source}), or restart it read-only (container-registry serve --read-only --storage ${source}`,
  );

  // Into an empty storage a registry serves read-only (two workers): restored, and served by that
  // same registry; its storage totals, cached for 15 s, are read again at the restore's notice.
  const target = await tempDir(t, 'cr-ro-dst-');
  const ro = await startTestRegistry(t, { storage: target, args: ['--read-only', '--workers', '2'] });
  t.same(await (await fetch(`${ro.url}/v2/_catalog`)).json(), { repositories: [] }, 'empty before');
  const repositories = async () => /^registry_repositories (\d+)$/m.exec(await (await fetch(`${ro.url}/metrics`)).text())?.[1];
  t.equal(await repositories(), '0', '/metrics: no repository before');
  const restored = await runCli(['backup', 'restore', '--from', backups, '--storage', target]);
  t.equal(restored.code, 0, restored.stdout + restored.stderr);
  t.match(restored.stdout, `Restored backup`);
  t.equal(ro.process.exitCode, null, 'the read-only registry still runs');
  await waitFor(async () => (await repositories()) === '3', 5000, '/metrics to count the restored repositories').catch(() => {});
  t.equal(await repositories(), '3', '/metrics counts the restored repositories at once (the notice), not after 15 s');
  t.same(
    await (await fetch(`${ro.url}/v2/_catalog`)).json(),
    { repositories: ['base/multi', 'base/one', 'base/two'] },
    'its catalog shows the restored repositories',
  );
  t.same(await readdir(join(target, 'docker', 'registry', 'v2', 'repositories', 'base', 'one')), ['_layers', '_manifests'], 'no upload folder left');
  const out = await tempDir(t, 'cr-ro-pulled-');
  for (const [ref, digest] of pushed) {
    const raw = await mustExec('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ro.host}/${ref}`]);
    t.equal(sha256(raw.stdout), digest, `${ref}: the manifest's digest, from the running read-only registry`);
    const layout = join(out, ref.replace(/[/:]/g, '-'));
    await mustExec('skopeo', ['copy', '--all', '--src-tls-verify=false', `docker://${ro.host}/${ref}`, `oci:${layout}:x`]);
    for (const f of await readdir(join(layout, 'blobs', 'sha256'))) {
      t.equal(await fileDigest(join(layout, 'blobs', 'sha256', f)), `sha256:${f}`, `${ref}: blob ${f.slice(0, 12)}`);
    }
  }
  const push = await fetch(`${ro.url}/v2/base/one/blobs/uploads/`, { method: 'POST' });
  t.equal(push.status, 405, 'and it still takes no push');
});
