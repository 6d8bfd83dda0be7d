// Hostile input to the endpoints next to the distribution API, against the real server process:
// prototype keys as UI file names, a config blob far larger than its descriptor says, repositories
// of thousands of tags, /readyz hammered and /readyz asked from another machine. Each case asserts
// the exact answer and that the server still answers afterwards; none asserts a timing.
import t, { type Test } from 'tap';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, readFileSync, watch } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BUNDLE, startTestRegistry, type TestRegistry } from './helpers/registry.js';
import { makeImage, pushImage, putManifest, sha256, uploadBlob } from './helpers/images.js';
import { tempDir } from './helpers/tmp.js';
import { waitFor } from './helpers/ports.js';
import { isRoot, which } from './helpers/peers.js';
import { namesAfter } from '../tools/src/storage/tags.js';
import { takeInOrder } from '../tools/src/common/bounded.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;

type ErrorBody = { errors: Array<{ code: string; message: string }> };
type Check = { name: string; ok: boolean; detail?: string };
type ReadyBody = { status: string; checks: Check[] };

const v2 = (storage: string) => join(storage, 'docker', 'registry', 'v2');
const tagsRoot = (storage: string, repo: string) => join(v2(storage), 'repositories', ...repo.split('/'), '_manifests', 'tags');

/** stillAnswers checks that the server serves the API and its health after whatever came before. */
async function stillAnswers(t: Test, reg: TestRegistry): Promise<void> {
  t.equal((await fetch(`${reg.url}/v2/`)).status, 200, 'the server still answers /v2/');
  t.equal((await fetch(`${reg.url}/healthz`)).status, 200, 'and /healthz');
}

/** vmKiB reads a VmXXX line of /proc/<pid>/status, in KiB. */
function vmKiB(pid: number, key: string): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no ${key} in /proc/${pid}/status`);
  return Number(m[1]);
}

/** writeTagFolders writes tags straight into the storage, each a `current` link to `digest`. */
async function writeTagFolders(storage: string, repo: string, names: string[], digest: string): Promise<void> {
  for (let i = 0; i < names.length; i += 200) {
    await Promise.all(
      names.slice(i, i + 200).map(async (name) => {
        const dir = join(tagsRoot(storage, repo), name, 'current');
        await mkdir(dir, { recursive: true });
        await writeFile(join(dir, 'link'), digest);
      }),
    );
  }
}

/** writeLinkedBlob streams `parts` into a blob stored straight in the storage and linked into `repo`. */
async function writeLinkedBlob(storage: string, repo: string, parts: Iterable<string>): Promise<{ digest: string; size: number }> {
  const tmp = join(storage, `big-${randomBytes(4).toString('hex')}`);
  const hash = createHash('sha256');
  const out = createWriteStream(tmp);
  let size = 0;
  for (const part of parts) {
    const b = Buffer.from(part);
    hash.update(b);
    size += b.length;
    if (!out.write(b)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  const hex = hash.digest('hex');
  const dir = join(v2(storage), 'blobs', 'sha256', hex.slice(0, 2), hex);
  await mkdir(dir, { recursive: true });
  await rename(tmp, join(dir, 'data'));
  const link = join(v2(storage), 'repositories', ...repo.split('/'), '_layers', 'sha256', hex);
  await mkdir(link, { recursive: true });
  await writeFile(join(link, 'link'), `sha256:${hex}`);
  return { digest: `sha256:${hex}`, size };
}

/** jsonConfigParts is a config-shaped JSON document of about `bytes` bytes (a long Env list). */
function* jsonConfigParts(bytes: number): Generator<string> {
  yield '{"architecture":"amd64","os":"linux","config":{"Labels":{"org.opencontainers.image.version":"big"},"Env":[';
  const entry = `"PADDING=${'x'.repeat(90)}"`;
  const chunk = Array.from({ length: 10_000 }, () => entry).join(',');
  for (let written = 0, first = true; written < bytes; written += chunk.length + 1, first = false) yield first ? chunk : `,${chunk}`;
  yield ']}}';
}

/** pushWithConfig pushes a one-layer image whose config descriptor names `config` with the size `declared`. */
async function pushWithConfig(base: string, repo: string, tag: string, config: { digest: string; size: number }): Promise<string> {
  const layer = makeImage().layers[0]!;
  const up = await uploadBlob(base, repo, layer);
  if (up.status !== 201) throw new Error(`layer upload: ${up.status} ${await up.text()}`);
  const data = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config.digest, size: config.size },
      layers: [{ mediaType: layer.mediaType, digest: layer.digest, size: layer.data.length }],
    }),
  );
  const res = await putManifest(base, repo, tag, { digest: sha256(data), data, mediaType: 'application/vnd.oci.image.manifest.v1+json' });
  if (res.status !== 201) throw new Error(`manifest put: ${res.status} ${await res.text()}`);
  return sha256(data);
}

t.test('namesAfter and takeInOrder: the paging steps', async (t) => {
  const sorted = ['1.0', 'B', 'a', 'latest', 'v10', 'v2'];
  for (const [last, want] of [
    [undefined, sorted],
    ['', sorted],
    ['0', sorted],
    ['1.0', ['B', 'a', 'latest', 'v10', 'v2']],
    ['C', ['a', 'latest', 'v10', 'v2']],
    ['v2', []],
    ['zzz', []],
  ] as const) {
    t.same(namesAfter(sorted, last), want, `after ${JSON.stringify(last)}`);
  }
  const looked: string[] = [];
  const live = async (name: string) => {
    looked.push(name);
    return name.startsWith('dead') ? undefined : name.toUpperCase();
  };
  const names = ['a', 'dead1', 'b', 'dead2', 'c', 'd', 'e', 'f'];
  t.same(await takeInOrder(names, 3, live, 2), ['A', 'B', 'C'], 'the first 3 live, in order');
  t.ok(looked.length <= 6 && !looked.includes('f'), `stops once the page is full (looked at ${looked.join(',')})`);
  looked.length = 0;
  t.same(await takeInOrder(names, undefined, live, 3), ['A', 'B', 'C', 'D', 'E', 'F'], 'no limit: every live one');
  t.equal(looked.length, names.length);
  t.same(await takeInOrder([], 5, live), []);
});

t.test('prototype keys as UI file names are 404 with the spec error, not 500', async (t) => {
  const reg = await startTestRegistry(t);
  const names = [
    'constructor',
    '__proto__',
    'toString',
    'hasOwnProperty',
    'valueOf',
    'isPrototypeOf',
    'propertyIsEnumerable',
    'toLocaleString',
    '__defineGetter__',
    '__lookupSetter__',
  ];
  for (const name of names) {
    for (const path of [`/ui/${name}`, `/ui/api/${name}`]) {
      const res = await fetch(`${reg.url}${path}`);
      t.equal(res.status, 404, `GET ${path}`);
      t.match(res.headers.get('content-type'), /^application\/json/, `${path} answers JSON`);
      const body = (await res.json()) as ErrorBody;
      t.equal(body.errors[0]?.code, 'UNSUPPORTED', `${path} has the spec's error body`);
    }
  }
  t.equal((await fetch(`${reg.url}/ui/constructor`, { method: 'HEAD' })).status, 404, 'HEAD too');
  t.notMatch(reg.output(), /TypeError|at serveAsset/, 'no stack in the log');
  t.equal((await fetch(`${reg.url}/ui/app.js`)).status, 200, 'real files are still served');
  await stillAnswers(t, reg);
});

t.test('/ui/api/image reads at most 1 MiB of a config, whatever its descriptor says', { timeout: 120_000 }, async (t) => {
  const reg = await startTestRegistry(t);
  const repo = 'hostile/config';

  // 300 MiB of JSON behind a descriptor that says 500 bytes.
  const huge = await writeLinkedBlob(reg.storage, repo, jsonConfigParts(300 * MiB));
  t.ok(huge.size > 300 * MiB);
  await pushWithConfig(reg.url, repo, 'huge', { digest: huge.digest, size: 500 });
  const hwmBefore = vmKiB(reg.process.pid!, 'VmHWM');
  for (let i = 0; i < 3; i++) {
    const res = await fetch(`${reg.url}/ui/api/image?repository=${encodeURIComponent(repo)}&reference=huge`);
    t.equal(res.status, 200, `call ${i + 1}`);
    const body = (await res.json()) as { config: unknown; configDescriptor: { size: number; digest: string }; labels: Record<string, string> };
    // t.ok, not t.equal: were the config read, a diff of 300 MiB would be printed.
    t.ok(body.config === null, 'an oversized config is not shown');
    t.same(body.configDescriptor, { mediaType: 'application/vnd.oci.image.config.v1+json', digest: huge.digest, size: 500 }, 'the descriptor as pushed');
    t.ok(Object.keys(body.labels).length === 0, 'and no labels from it');
  }
  const hwm = vmKiB(reg.process.pid!, 'VmHWM');
  t.ok(hwm < 300 * 1024, `the server's peak RSS stays under 300 MiB (VmHWM ${Math.round(hwmBefore / 1024)} MiB before, ${Math.round(hwm / 1024)} MiB after)`);

  // Just over the cap, still lying about its size: not shown either.
  const over = await writeLinkedBlob(reg.storage, repo, jsonConfigParts(MiB + 1));
  await pushWithConfig(reg.url, repo, 'over', { digest: over.digest, size: 500 });
  const overBody = (await (await fetch(`${reg.url}/ui/api/image?repository=${encodeURIComponent(repo)}&reference=over`)).json()) as { config: unknown };
  t.ok(overBody.config === null, 'a config of 1 MiB + a few bytes is not shown');

  // A config within the cap is shown; labels that are not strings are dropped.
  const small = Buffer.from(
    JSON.stringify({
      architecture: 'arm64',
      os: 'linux',
      config: { Cmd: ['/bin/sh'], Labels: { 'org.opencontainers.image.version': '1.2.3', odd: 5, nested: { a: 'b' } } },
    }),
  );
  t.equal((await uploadBlob(reg.url, repo, { digest: sha256(small), data: small })).status, 201);
  await pushWithConfig(reg.url, repo, 'small', { digest: sha256(small), size: small.length });
  const res = await fetch(`${reg.url}/ui/api/image?repository=${encodeURIComponent(repo)}&reference=small`);
  t.equal(res.status, 200);
  const body = (await res.json()) as { config: { architecture: string; cmd: string[] }; labels: Record<string, string>; prominent: Record<string, string> };
  t.equal(body.config.architecture, 'arm64');
  t.same(body.config.cmd, ['/bin/sh']);
  t.same(body.labels, { 'org.opencontainers.image.version': '1.2.3' }, 'string labels only');
  t.same(body.prominent, { 'org.opencontainers.image.version': '1.2.3' });
  await stillAnswers(t, reg);
});

t.test('tags/list pages before it resolves; the UI counts tag folders and bounds its searches', { timeout: 120_000 }, async (t) => {
  const reg = await startTestRegistry(t);
  const repo = 'hostile/tags';
  const image = makeImage();
  await pushImage(reg.url, repo, 'seed', image);
  const numbered = Array.from({ length: 2000 }, (_, i) => `t${String(i).padStart(4, '0')}`);
  await writeTagFolders(reg.storage, repo, numbered, image.manifest.digest);
  // Two folders that do not resolve, sorting first: a revision that is not in the repository, and
  // a tag left half-written (no `current` link).
  await writeTagFolders(reg.storage, repo, ['a-dead-revision'], sha256(randomBytes(16)));
  await mkdir(join(tagsRoot(reg.storage, repo), 'a-half-written', 'index'), { recursive: true });

  // A tag whose `current` link is a folder: resolving it fails the request (EISDIR). It sorts last,
  // so a listing that resolves only what its page needs never touches it.
  const poisoned = 'hostile/poisoned';
  await pushImage(reg.url, poisoned, 'seed', image);
  await writeTagFolders(reg.storage, poisoned, numbered, image.manifest.digest);
  await mkdir(join(tagsRoot(reg.storage, poisoned), 'zz-poison', 'current', 'link'), { recursive: true });
  const first = await fetch(`${reg.url}/v2/${poisoned}/tags/list?n=10`);
  t.equal(first.status, 200, 'n=10 resolves only the first page (the last tag folder is never read)');
  t.same(((await first.json()) as { tags: string[] }).tags, ['seed', ...numbered.slice(0, 9)]);
  const mid = await fetch(`${reg.url}/v2/${poisoned}/tags/list?n=10&last=t1000`);
  t.equal(mid.status, 200, 'a page in the middle: the same');
  t.same(((await mid.json()) as { tags: string[] }).tags, numbered.slice(1001, 1011));
  const uiPage = await fetch(`${reg.url}/ui/api/tags?repository=${encodeURIComponent(poisoned)}&n=50`);
  t.equal(uiPage.status, 200, "the UI's tags call pages before it resolves too");
  await rm(join(tagsRoot(reg.storage, poisoned), 'zz-poison'), { recursive: true });

  // The spec's paging over live tags only, with Link headers.
  const p1 = await fetch(`${reg.url}/v2/${repo}/tags/list?n=10`);
  t.equal(p1.status, 200);
  t.same(await p1.json(), { name: repo, tags: ['seed', ...numbered.slice(0, 9)] }, 'dead tags are skipped, the page is full');
  t.equal(p1.headers.get('link'), `</v2/${repo}/tags/list?n=10&last=t0008>; rel="next"`);
  const p2 = await fetch(`${reg.url}/v2/${repo}/tags/list?n=10&last=t0008`);
  t.same(((await p2.json()) as { tags: string[] }).tags, numbered.slice(9, 19));
  const end = await fetch(`${reg.url}/v2/${repo}/tags/list?n=10&last=t1995`);
  t.same(((await end.json()) as { tags: string[] }).tags, numbered.slice(1996));
  t.equal(end.headers.get('link'), null, 'no Link on the last page');
  const exact = await fetch(`${reg.url}/v2/${repo}/tags/list?n=4&last=t1995`);
  t.same(((await exact.json()) as { tags: string[] }).tags, numbered.slice(1996));
  t.equal(exact.headers.get('link'), null, 'no Link when the page ends exactly at the last tag');
  const before = await fetch(`${reg.url}/v2/${repo}/tags/list?n=3&last=a`);
  t.same(((await before.json()) as { tags: string[] }).tags, ['seed', 't0000', 't0001'], '`last` that is no tag');
  const zero = await fetch(`${reg.url}/v2/${repo}/tags/list?n=0`);
  t.same(((await zero.json()) as { tags: string[] }).tags, []);
  t.equal(zero.headers.get('link'), null);
  const all = await fetch(`${reg.url}/v2/${repo}/tags/list`);
  t.equal(all.status, 200);
  t.same(((await all.json()) as { tags: string[] }).tags, ['seed', ...numbered], 'without n: every live tag, in order');

  // The UI: total counts folders (the two dead ones too), the page shows live tags.
  const ui = await fetch(`${reg.url}/ui/api/tags?repository=${encodeURIComponent(repo)}&n=50`);
  t.equal(ui.status, 200);
  const uiBody = (await ui.json()) as { total: number; tags: Array<{ tag: string; digest: string }>; next: string | null };
  t.equal(uiBody.total, 2003, 'total counts tag folders');
  t.same(
    uiBody.tags.map((r) => r.tag),
    ['seed', ...numbered.slice(0, 49)],
  );
  t.ok(
    uiBody.tags.every((r) => r.digest === image.manifest.digest),
    'each row resolved',
  );
  t.equal(uiBody.next, 't0048');
  const uiLast = (await (await fetch(`${reg.url}/ui/api/tags?repository=${encodeURIComponent(repo)}&n=50&last=t1980`)).json()) as {
    tags: unknown[];
    next: string | null;
  };
  t.equal(uiLast.tags.length, 19);
  t.equal(uiLast.next, null);
  const filtered = (await (await fetch(`${reg.url}/ui/api/tags?repository=${encodeURIComponent(repo)}&n=5&q=t19`)).json()) as {
    total: number;
    tags: Array<{ tag: string }>;
  };
  t.equal(filtered.total, 100);
  t.same(
    filtered.tags.map((r) => r.tag),
    ['t1900', 't1901', 't1902', 't1903', 't1904'],
  );

  const repos = (await (await fetch(`${reg.url}/ui/api/repositories`)).json()) as { repositories: Array<{ name: string; tags: number }> };
  t.same(
    repos.repositories.find((r) => r.name === repo),
    { name: repo, tags: 2003 },
    'the repositories call counts tag folders',
  );

  // The image page: which tags point here is searched with a cap, and says so.
  const img = (await (await fetch(`${reg.url}/ui/api/image?repository=${encodeURIComponent(repo)}&reference=seed`)).json()) as {
    tags: string[];
    tagsTruncated: boolean;
  };
  t.equal(img.tagsTruncated, true, 'the search was cut short');
  t.equal(img.tags.length, 100, 'at most 100 tags listed');
  t.same(img.tags.slice(0, 3), ['seed', 't0000', 't0001']);
  const far = (await (await fetch(`${reg.url}/ui/api/image?repository=${encodeURIComponent(repo)}&reference=t1999`)).json()) as {
    tags: string[];
    tagsTruncated: boolean;
  };
  t.ok(far.tags.includes('t1999'), 'the tag the page was opened by is listed even beyond the search');
  t.equal(far.tagsTruncated, true);
  const few = (await (await fetch(`${reg.url}/ui/api/image?repository=${encodeURIComponent(poisoned)}&reference=seed`)).json()) as { tagsTruncated: boolean };
  t.equal(few.tagsTruncated, true);
  await stillAnswers(t, reg);
});

t.test('/readyz: one check serves concurrent callers for a while; this machine sees the details', async (t) => {
  const reg = await startTestRegistry(t);
  // Every storage-writable check creates and removes a `.readyz-*` probe file in the storage.
  const probes = new Set<string>();
  const watcher = watch(reg.storage, (_event, name) => {
    if (name?.startsWith('.readyz-')) probes.add(name);
  });
  t.teardown(() => watcher.close());
  const answers = await Promise.all(
    Array.from({ length: 20 }, () => fetch(`${reg.url}/readyz`).then(async (r) => ({ status: r.status, body: (await r.json()) as ReadyBody }))),
  );
  t.ok(
    answers.every((a) => a.status === 200),
    'every caller is answered 200',
  );
  t.same(answers[0]!.body.checks[0], { name: 'storage-writable', ok: true, detail: reg.storage }, 'a loopback caller sees the details');
  await new Promise((r) => setTimeout(r, 300));
  t.ok(probes.size >= 1 && probes.size <= 2, `20 concurrent calls ran ${probes.size} check(s) (one, or two should the calls straddle the result's lifetime)`);

  // Once the result is older than its lifetime, the next call checks again.
  const seen = probes.size;
  await new Promise((r) => setTimeout(r, 2200));
  t.equal((await fetch(`${reg.url}/readyz`)).status, 200);
  await waitFor(async () => probes.size > seen, 5000, 'a new check');
  t.pass('a later call runs a new check');
  await stillAnswers(t, reg);
});

const netnsSkip = !isRoot()
  ? 'needs root (network namespaces)'
  : !which('ip')
    ? 'needs ip (Debian package iproute2)'
    : !which('curl')
      ? 'needs curl (Debian package curl)'
      : false;

t.test('/readyz from another machine: check names and flags only, unless the caller logs in', { skip: netnsSkip, timeout: 120_000 }, async (t) => {
  // Two network namespaces this test makes, joined by a veth pair that never exists on the host: the
  // registry listens on its side's address, the other side is "another machine".
  const tag = `${process.pid % 100000}`;
  const nsServer = `cr-hostile-s-${tag}`;
  const nsClient = `cr-hostile-c-${tag}`;
  const ip = (...args: string[]) => run('ip', args);
  await ip('netns', 'add', nsServer);
  t.teardown(() => ip('netns', 'del', nsServer).catch(() => {}));
  await ip('netns', 'add', nsClient);
  t.teardown(() => ip('netns', 'del', nsClient).catch(() => {}));
  await ip('-n', nsServer, 'link', 'add', 'vs', 'type', 'veth', 'peer', 'name', 'vc', 'netns', nsClient);
  for (const [ns, dev, addr] of [
    [nsServer, 'vs', '10.233.0.1/24'],
    [nsClient, 'vc', '10.233.0.2/24'],
  ] as const) {
    await ip('-n', ns, 'link', 'set', 'lo', 'up');
    await ip('-n', ns, 'addr', 'add', addr, 'dev', dev);
    await ip('-n', ns, 'link', 'set', dev, 'up');
  }

  const serve = async (storage: string, port: number, args: string[]) => {
    const child: ChildProcess = spawn(
      'ip',
      ['netns', 'exec', nsServer, process.execPath, BUNDLE, 'serve', '--storage', storage, '--listen', `10.233.0.1:${port}`, '--min-free-disk', '1', ...args],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, CONTAINER_REGISTRY_SECURE: '', CONTAINER_REGISTRY_AUTH: '' },
      },
    );
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise((r) => child.once('exit', r));
    t.teardown(async () => {
      child.kill('SIGKILL');
      await exited;
    });
    await waitFor(async () => /container-registry: serving/.test(out), 30_000, `the server on port ${port}`).catch((err) => {
      throw new Error(`${(err as Error).message}\n${out}`);
    });
  };
  /** curlIn GETs a URL from inside a namespace: status and body. */
  const curlIn = async (ns: string, url: string, ...extra: string[]) => {
    const { stdout } = await run('ip', ['netns', 'exec', ns, 'curl', '-sS', '-k', '--max-time', '20', '-w', '\n%{http_code}', ...extra, url]);
    const i = stdout.lastIndexOf('\n');
    return { status: Number(stdout.slice(i + 1)), body: stdout.slice(0, i) };
  };

  // Insecure mode: every request is allowed, yet an anonymous caller elsewhere learns no paths.
  const plain = await tempDir(t, 'cr-hostile-plain-');
  await serve(plain, 5000, []);
  const remote = await curlIn(nsClient, 'http://10.233.0.1:5000/readyz');
  t.equal(remote.status, 200);
  t.same(
    JSON.parse(remote.body),
    {
      status: 'ready',
      checks: [
        { name: 'storage-writable', ok: true },
        { name: 'disk-free', ok: true },
      ],
    },
    'another machine sees check names and flags only',
  );
  t.notMatch(remote.body, plain, 'no path in the answer');
  const own = await curlIn(nsServer, 'http://10.233.0.1:5000/readyz');
  t.equal(own.status, 200);
  t.same(
    (JSON.parse(own.body) as ReadyBody).checks[0],
    { name: 'storage-writable', ok: true, detail: plain },
    'this machine (from the address it reached) sees the details',
  );
  const status = await run('ip', ['netns', 'exec', nsServer, process.execPath, BUNDLE, 'status', '--storage', plain]);
  t.match(
    status.stdout,
    new RegExp(`ok {3}storage-writable: ${plain.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`),
    '`status` on this machine still prints the details',
  );
  t.equal((await curlIn(nsClient, 'http://10.233.0.1:5000/v2/')).status, 200, 'the server still answers');

  // Secure mode with logins: a user the policy lets read /metrics sees the details; a wrong
  // password is no 401, only no details.
  const secure = join(await tempDir(t, 'cr-hostile-secure-'), 'storage');
  await serve(secure, 5001, ['--tls', '--auth']);
  const password = (await readFile(join(secure, 'auth', 'password'), 'utf8')).trim();
  const anon = await curlIn(nsClient, 'https://10.233.0.1:5001/readyz');
  t.equal(anon.status, 200);
  const anonBody = JSON.parse(anon.body) as ReadyBody;
  t.same(
    anonBody.checks.map((c) => Object.keys(c).sort()),
    anonBody.checks.map(() => ['name', 'ok']),
    'anonymous: names and flags only',
  );
  t.same(
    anonBody.checks.map((c) => c.name),
    ['storage-writable', 'disk-free', 'tls-certificate', 'htpasswd-readable'],
  );
  t.notMatch(anon.body, /htpasswd"|\/auth\//, 'the users file is not named');
  const wrong = await curlIn(nsClient, 'https://10.233.0.1:5001/readyz', '-u', 'yocto:not-the-password');
  t.equal(wrong.status, 200, 'a wrong password gets the readiness, not a 401');
  t.notOk(
    (JSON.parse(wrong.body) as ReadyBody).checks.some((c) => 'detail' in c),
    'and no details',
  );
  const user = await curlIn(nsClient, 'https://10.233.0.1:5001/readyz', '-u', `yocto:${password}`);
  t.equal(user.status, 200);
  const userChecks = (JSON.parse(user.body) as ReadyBody).checks;
  t.equal(userChecks.find((c) => c.name === 'htpasswd-readable')?.detail, join(secure, 'auth', 'htpasswd'), 'a logged-in user sees the details');
  t.equal((await curlIn(nsClient, 'https://10.233.0.1:5001/healthz')).status, 200, 'the server still answers');
});
