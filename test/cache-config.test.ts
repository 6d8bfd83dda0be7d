// The pull-through cache's pieces that need no peer: config.toml's [[cache.upstreams]] merged with
// CONTAINER_REGISTRY_MIRRORS, the names requests map to, and the records gc reads.
import t from 'tap';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadUpstreams, mergeUpstreams, mirrorItems, parseUpstreamTables } from '../tools/src/cache/config.js';
import { parseMirrors } from '../tools/src/cache/mirrors.js';
import { isDockerEngine, isPullRequest, repositoryFor } from '../tools/src/cache/names.js';
import { CacheRecords, cacheRecordPath } from '../tools/src/cache/records.js';
import { FsDriver } from '../tools/src/storage/driver.js';
import { StateDir } from '../tools/src/state/state-dir.js';
import { readServerConfig } from '../tools/src/registry/webhooks.js';
import { parseDigest } from '../tools/src/oci/digest.js';
import { tempDir } from './helpers/tmp.js';
import { freePort } from './helpers/ports.js';
import { runCli } from './helpers/registry.js';

const tables = (text: string) => parseUpstreamTables(text, 'config.toml', '/etc/cr', {});

t.test('[[cache.upstreams]] tables: credentials, ttl, prefix, and clear errors', async (t) => {
  const [hub, local] = tables(
    [
      '[[cache.upstreams]]',
      'host = "docker.io"',
      'username = "me"',
      'password = "s3cret"',
      'ttl = "10m"',
      '[[cache.upstreams]]',
      'host = "localhost:5001"',
      'url = "http://127.0.0.1:5001"',
      'prefix = "hub"',
      'auth = "token"',
      'token = "tok"',
    ].join('\n'),
  );
  t.equal(hub?.auth, 'basic');
  t.same(await hub?.credentials(), { kind: 'basic', username: 'me', password: 's3cret' });
  t.equal(hub?.ttlMs, 600_000);
  t.equal(local?.prefix, 'hub');
  t.same(await local?.credentials(), { kind: 'token', token: 'tok' });
  t.same(tables('[notifications]\n'), [], 'no cache table: no upstreams');

  const bad: Array<[string, RegExp]> = [
    ['[[cache.upstreams]]\nurl = "http://x"\n', /host is required/],
    ['[[cache.upstreams]]\nhost = "x.io"\nttl = "soon"\n', /ttl must be a duration/],
    ['[[cache.upstreams]]\nhost = "x.io"\nauth = "basic"\nusername = "u"\n', /needs username and password/],
    ['[[cache.upstreams]]\nhost = "x.io"\nauth = "magic"\n', /auth must be one of/],
    ['[[cache.upstreams]]\nhost = "x.io"\nurl = "ftp://x.io"\n', /must be http/],
    ['[[cache.upstreams]]\nhost = "x.io"\nurl = "https://u:p@x.io"\n', /no credentials in the URL/],
    ['[[cache.upstreams]]\nhost = "x.io"\npasword = "typo"\n', /unknown key "pasword"/],
    ['[[cache.upstreams]]\nhost = "x.io"\nprefix = "Bad Prefix"\n', /not a repository name/],
    ['[cache]\nupstreams = 3\n', /array of tables/],
    ['[[cache.upstreams]]\nhost = "x.io"\npassword = "hunter2\n', /not valid TOML/],
  ];
  for (const [text, message] of bad) t.throws(() => tables(text), { code: 'config', message }, message.source);
  // A broken line is told by number only: it may hold a password.
  t.throws(() => tables('[[cache.upstreams]]\nhost = "x.io"\npassword = "hunter2\n'), { message: /^(?!.*hunter2)/ });
});

t.test('the setting and the tables merge: a table adds to a mirror of the same host', async (t) => {
  const mirrors = parseMirrors(['docker.io', 'localhost:5001=http://127.0.0.1:5001']);
  const merged = mergeUpstreams(
    mirrors,
    tables('[[cache.upstreams]]\nhost = "docker.io"\nttl = "1h"\ntoken = "t"\n[[cache.upstreams]]\nhost = "quay.io"\n'),
    300_000,
  );
  t.same(
    merged.map((u) => [u.host, u.prefix, u.url.href, u.ttlMs, u.auth]),
    [
      ['docker.io', 'docker.io', 'https://registry-1.docker.io/', 3_600_000, 'token'],
      ['localhost:5001', 'localhost-5001', 'http://127.0.0.1:5001/', 300_000, 'none'],
      ['quay.io', 'quay.io', 'https://quay.io/', 300_000, 'none'],
    ],
  );
  t.throws(() => mergeUpstreams(parseMirrors(['a.io']), tables('[[cache.upstreams]]\nhost = "b.io"\nprefix = "a.io"\n'), 1000), { message: /overlap/ });
  t.same(mirrorItems(['a.io,b.io', 'c.io']), ['a.io', 'b.io', 'c.io'], '--mirror repeated or as a list');
  t.same(mirrorItems(undefined), []);

  const dir = await tempDir(t, 'cr-cache-cfg-');
  const state = new StateDir(dir);
  await writeFile(join(dir, 'config.toml'), '[[cache.upstreams]]\nhost = "localhost:5001"\nauthfile = "auth.json"\n');
  await writeFile(join(dir, 'auth.json'), JSON.stringify({ auths: { 'localhost:5001': { auth: Buffer.from('u:p').toString('base64') } } }));
  const [u] = loadUpstreams(await readServerConfig(state), { mirrors: ['localhost:5001=http://127.0.0.1:5001'], ttl: '2s' }, {});
  t.equal(u?.ttlMs, 2000);
  t.same(await u?.credentials(), { kind: 'basic', username: 'u', password: 'p' }, 'authfile relative to config.toml, looked up by the host clients name');
  const config = await readServerConfig(state);
  t.throws(() => loadUpstreams(config, { mirrors: [], ttl: '0s' }, {}), { code: 'config', message: /CACHE_TTL/ });
  t.throws(() => loadUpstreams(config, { mirrors: ['ftp://x'], ttl: '5m' }, {}), { code: 'config' });
});

t.test('names: prefix, ?ns=, docker.io without a prefix, library/', async (t) => {
  const upstreams = [
    { host: 'docker.io', prefix: 'docker.io' },
    { host: 'localhost:5001', prefix: 'localhost-5001' },
  ];
  const local = new Set(['yocto/app']);
  const map = (name: string, ns: string | null = null, pull = true) => repositoryFor(name, { ns, upstreams, pull, existsLocally: async (n) => local.has(n) });
  t.equal(await map('docker.io/library/alpine'), 'docker.io/library/alpine');
  t.equal(await map('docker.io/alpine'), 'docker.io/library/alpine');
  t.equal(await map('library/alpine', 'docker.io'), 'docker.io/library/alpine');
  t.equal(await map('alpine', 'registry-1.docker.io'), 'docker.io/library/alpine');
  t.equal(await map('multi/app', 'localhost:5001'), 'localhost-5001/multi/app');
  t.equal(await map('localhost-5001/x'), 'localhost-5001/x', 'no library/ for other hosts');
  t.equal(await map('library/alpine'), 'docker.io/library/alpine', "docker's registry-mirrors");
  t.equal(await map('yocto/app'), 'yocto/app', 'a local repository stays local');
  t.equal(await map('new/repo', null, false), 'new/repo', 'a push is never sent upstream');
  t.equal(await map('multi/app', 'our.host:5000'), 'docker.io/multi/app', 'an ns that is no upstream of ours is ignored');
  await t.rejects(map(`${'a'.repeat(250)}`, 'localhost:5001'), { code: 'NAME_INVALID' }, 'a name the prefix makes too long');
  t.ok(isDockerEngine('docker/24.0.7 go/go1.20.10 git-commit/311b9ff kernel/6.1.0 os/linux arch/amd64'));
  t.notOk(isDockerEngine('container-registry') || isDockerEngine('containerd/1.6.20') || isDockerEngine('skopeo/1.9.3') || isDockerEngine(undefined));
  t.ok(isPullRequest('manifest', 'HEAD') && isPullRequest('blob', 'GET') && !isPullRequest('blob', 'HEAD') && !isPullRequest('upload', 'GET'));
});

t.test('records: written through the driver, tags kept, lastPulledAt at most once a minute', async (t) => {
  const dir = await tempDir(t, 'cr-cache-rec-');
  const records = new CacheRecords(new FsDriver(), dir);
  const d = parseDigest(`sha256:${'a'.repeat(64)}`);
  const e = parseDigest(`sha256:${'b'.repeat(64)}`);
  await records.fetched({ upstream: 'docker.io', repository: 'docker.io/library/alpine', digest: d, size: 123, tag: '3.20' });
  const path = cacheRecordPath(dir, 'docker.io/library/alpine', d);
  t.equal(path, join(dir, 'cache', 'docker.io', 'library', 'alpine', 'sha256', `${'a'.repeat(64)}.json`));
  const first = JSON.parse(await readFile(path, 'utf8'));
  t.match(first, { upstream: 'docker.io', repository: 'docker.io/library/alpine', digest: `sha256:${'a'.repeat(64)}`, tags: ['3.20'], size: 123 });
  await records.tagged('docker.io/library/alpine', d, 'latest');
  t.same((await records.read('docker.io/library/alpine', d))?.tags, ['3.20', 'latest']);
  await records.untagged('docker.io/library/alpine', d, '3.20');
  t.same((await records.read('docker.io/library/alpine', d))?.tags, ['latest']);
  const before = (await records.read('docker.io/library/alpine', d))?.lastPulledAt;
  await new Promise((r) => setTimeout(r, 20));
  await records.pulled('docker.io/library/alpine', d);
  t.equal((await records.read('docker.io/library/alpine', d))?.lastPulledAt, before, 'not rewritten within the minute');
  // A record written a while ago (another process, an earlier run) is stamped on the next pull.
  const old = new Date(Date.now() - 120_000).toISOString();
  await mkdir(join(dir, 'cache', 'r', 'sha256'), { recursive: true });
  await writeFile(
    cacheRecordPath(dir, 'r', e),
    JSON.stringify({ upstream: 'x', repository: 'r', digest: 'x', tags: [], size: 1, fetchedAt: old, lastPulledAt: old }),
  );
  await records.pulled('r', e);
  t.not((await records.read('r', e))?.lastPulledAt, old, 'an old stamp is refreshed');
  await records.tagged('none', d, 'x');
  t.equal(await records.read('none', d), undefined, 'tagging a manifest with no record writes none');
});

t.test('serve refuses a broken cache configuration in one line, without the secret', async (t) => {
  const dir = await tempDir(t, 'cr-cache-serve-');
  const port = String(await freePort());
  await writeFile(join(dir, 'config.toml'), '[[cache.upstreams]]\nhost = "quay.io"\npassword = "hunter2-secret"\nauth = "basic"\n', { mode: 0o600 });
  const bad = await runCli(['serve', '--storage', dir, '--listen', `127.0.0.1:${port}`, '--mirror', 'quay.io'], { timeoutMs: 30_000 });
  t.not(bad.code, 0);
  t.match(bad.stderr, /error \[config\].*cache\.upstreams\[0\]: auth = "basic" needs username and password/);
  t.notMatch(bad.stderr + bad.stdout, 'hunter2-secret');
  const ttl = await runCli(['serve', '--storage', dir, '--listen', `127.0.0.1:${port}`, '--mirror', 'quay.io', '--cache-ttl', 'soon'], { timeoutMs: 30_000 });
  t.match(ttl.stderr, /error \[config\].*--cache-ttl/);
  const url = await runCli(['serve', '--storage', dir, '--listen', `127.0.0.1:${port}`, '--mirror', 'quay.io=ftp://quay.io'], { timeoutMs: 30_000 });
  t.match(url.stderr, /error \[config\].*must be http:\/\/ or https:\/\//);
});

t.test('credential_helper: docker-credential-<name> answers for the host clients name', async (t) => {
  const bin = await tempDir(t, 'cr-cache-helper-');
  const script = join(bin, 'docker-credential-cachetest');
  // The host arrives on stdin; the answer names it back, so the test sees which host was asked.
  await writeFile(script, '#!/bin/sh\nread host\nprintf \'{"Username":"u-%s","Secret":"s"}\' "$host"\n', { mode: 0o755 });
  const path = process.env.PATH;
  process.env.PATH = `${bin}:${path}`;
  t.teardown(() => {
    process.env.PATH = path;
  });
  const [u] = tables('[[cache.upstreams]]\nhost = "registry.example.com:5000"\ncredential_helper = "cachetest"\n');
  t.equal(u?.auth, 'credential helper cachetest');
  t.same(await u?.credentials(), { kind: 'basic', username: 'u-registry.example.com:5000', password: 's' });
  t.throws(() => tables('[[cache.upstreams]]\nhost = "x.io"\ncredential_helper = "../evil"\n'), { code: 'config' });
});
