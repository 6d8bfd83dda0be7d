// `container-registry.sh delete` then `container-registry.sh gc`, through the real generated script
// and the real helper: the space a deleted tag held is freed at once (the script's gc is
// `gc --delete-untagged`, and a manifest whose tag was deleted needs no grace period), the output
// says how much, `list` and `catalog` stop showing the emptied repository, and a layer another
// image still uses stays.
import t from 'tap';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { installScript } from '../tools/src/script/install.js';
import { BUNDLE, testUserEnv } from './helpers/registry.js';
import { writeBuild } from './helpers/deploy.js';
import { freePort } from './helpers/ports.js';
import { tempDir } from './helpers/tmp.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** blobBytes is the size of every blob's content under the storage's blobs folder. */
async function blobBytes(storage: string): Promise<{ bytes: number; digests: Set<string> }> {
  const root = join(storage, 'docker/registry/v2/blobs/sha256');
  let bytes = 0;
  const digests = new Set<string>();
  for (const prefix of await readdir(root).catch(() => [])) {
    for (const hex of await readdir(join(root, prefix))) {
      for (const name of await readdir(join(root, prefix, hex))) bytes += (await stat(join(root, prefix, hex, name))).size;
      digests.add(`sha256:${hex}`);
    }
  }
  return { bytes, digests };
}

t.test('container-registry.sh: delete, then gc frees the space; list and catalog forget the repository; shared layers stay', async (t) => {
  const root = await tempDir(t, 'cr-script-gc-');
  const storage = join(root, 'container-registry');
  const deploy = join(root, 'images', 'qemux86-64');
  const port = await freePort();
  const { script } = await installScript({
    storage,
    node: process.execPath,
    helper: BUNDLE,
    settings: {
      CONTAINER_REGISTRY_URL: `127.0.0.1:${port}`,
      CONTAINER_REGISTRY_NAMESPACE: 'yocto',
      CONTAINER_REGISTRY_TAG_STRATEGY: 'latest',
      CONTAINER_REGISTRY_INSECURE: '1',
      DEPLOY_DIR_IMAGE: deploy,
    },
  });
  // The script's settings, not the test runner's: no CONTAINER_REGISTRY_* from outside.
  const env: Record<string, string> = { ...testUserEnv() };
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('CONTAINER_REGISTRY_') && v !== undefined) env[k] = v;
  const sh = (...args: string[]) =>
    new Promise<Run>((resolve) =>
      execFile(script, args, { env, timeout: 120_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      ),
    );
  t.teardown(() => sh('stop'));

  // Two images sharing their first layer; `app` also has a big layer of its own.
  const shared = [{ name: 'etc/os-release', content: `ID=test\nBUILD=${randomBytes(8).toString('hex')}\n` }];
  const big = [{ name: 'usr/lib/app.bin', content: randomBytes(3 * 1024 * 1024).toString('base64') }];
  const app = await writeBuild(join(root, 'images'), { machine: 'qemux86-64', image: 'app', stamp: '20260112143022', layers: [shared, big] });
  const base = await writeBuild(join(root, 'images'), {
    machine: 'qemux86-64',
    image: 'base',
    stamp: '20260112143022',
    layers: [shared, [{ name: 'base.txt', content: 'base\n' }]],
  });
  const sharedDigest = app.image.layers[0]!.digest;
  t.equal(base.image.layers[0]!.digest, sharedDigest, 'the two images share a layer');

  const start = await sh('start');
  t.equal(start.code, 0, start.stderr);
  const push = await sh('push');
  t.equal(push.code, 0, push.stderr);
  const listed = await sh('list');
  t.match(listed.stdout, 'yocto/app', listed.stderr);
  t.match(listed.stdout, 'yocto/base');

  const before = await blobBytes(storage);
  const appOnly = [app.image.manifest, app.image.config, app.image.layers[1]!];
  for (const b of appOnly) t.ok(before.digests.has(b.digest), `${b.digest.slice(0, 19)} stored`);
  const appBytes = appOnly.reduce((n, b) => n + b.data.length, 0);

  const del = await sh('delete', 'app:latest');
  t.equal(del.code, 0, del.stderr);
  // Deleting the tag alone frees nothing: the manifest is still there by digest.
  t.equal((await blobBytes(storage)).bytes, before.bytes, 'delete removes the tag, not the content');

  const gc = await sh('gc', '--settle', '1');
  t.equal(gc.code, 0, gc.stderr);
  t.comment(gc.stdout.trim().split('\n').at(-1) ?? '');
  const after = await blobBytes(storage);
  for (const b of appOnly) t.notOk(after.digests.has(b.digest), `${b.digest.slice(0, 19)} of the deleted image is gone from disk`);
  t.equal(before.bytes - after.bytes, appBytes, `the blobs folder shrank by the deleted image's ${appBytes} bytes`);
  t.ok(after.digests.has(sharedDigest), 'the layer base still uses stays');
  for (const b of [base.image.manifest, base.image.config, ...base.image.layers]) t.ok(after.digests.has(b.digest), `base's ${b.digest.slice(0, 19)} stays`);
  const freed = `${((before.bytes - after.bytes) / 1024 / 1024).toFixed(1)} MiB`;
  t.match(gc.stdout, new RegExp(`^Deleted 1 manifest\\(s\\) and 3 blob\\(s\\), freed ${freed.replace('.', '\\.')}; kept \\d+ blob\\(s\\)$`, 'm'), gc.stdout);

  const list = await sh('list');
  t.equal(list.code, 0, list.stderr);
  t.notMatch(list.stdout, 'yocto/app', `list forgets the emptied repository: ${list.stdout}`);
  t.match(list.stdout, 'yocto/base');
  const catalog = await sh('catalog');
  t.equal(catalog.code, 0, catalog.stderr);
  t.notMatch(catalog.stdout, 'yocto/app', 'and so does catalog');
  t.match(catalog.stdout, 'yocto/base');

  // base pulls whole, and app can come back.
  const inspect = await sh('inspect', 'base:latest');
  t.equal(inspect.code, 0, inspect.stderr);
  for (const b of [base.image.config, ...base.image.layers]) {
    const r = await fetch(`http://127.0.0.1:${port}/v2/yocto/base/blobs/${b.digest}`);
    t.equal(Buffer.compare(Buffer.from(await r.arrayBuffer()), b.data), 0, `base's ${b.digest.slice(0, 19)} pulls`);
  }
  const again = await sh('push', 'app');
  t.equal(again.code, 0, again.stderr);
  t.match((await sh('catalog')).stdout, 'yocto/app', 'a new push lists it again');
  // The user's flags after the script's win: --no-delete-untagged keeps untagged manifests.
  t.equal((await sh('delete', 'app:latest')).code, 0);
  const keep = await sh('gc', '--no-delete-untagged', '--settle', '0', '--json');
  t.equal(keep.code, 0, keep.stderr);
  t.same((JSON.parse(keep.stdout) as { manifestsDeleted: unknown[] }).manifestsDeleted, [], '--no-delete-untagged wins');
});
