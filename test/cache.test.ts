// The pull-through cache against real things: the upstream is Debian's docker-registry on loopback
// with token auth (the project's token issuer) holding a multi-arch image, reached through a proxy
// that counts blob GETs and can slow a blob down or flip one of its bytes; our registry runs with
// --mirror for it (and for docker.io, pointed at the same upstream) and the upstream's credentials
// in config.toml. skopeo, podman (registries.conf mirror) and ctr (hosts.toml) pull through it.
import t from 'tap';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startTestRegistry } from './helpers/registry.js';
import { startDistribution } from './helpers/distribution.js';
import { startTokenIssuer, type TokenIssuer } from './helpers/token-issuer.js';
import { startUpstreamProxy } from './helpers/upstream-proxy.js';
import { isRoot, missingPeer } from './helpers/peers.js';
import { tempDir } from './helpers/tmp.js';
import { startContainerd } from './helpers/containerd.js';
import { waitFor } from './helpers/ports.js';
import { exec, mustExec } from './helpers/exec.js';
import { makeImage, makeIndex, sha256, type Blob, type TestImage } from './helpers/images.js';
import { resolveTargetSettings } from '../tools/src/target/settings.js';
import { targetFiles } from '../tools/src/target/files.js';

const missing = missingPeer('docker-registry', 'skopeo', 'openssl');
if (missing) {
  t.plan(0, missing);
  process.exit(0);
}

const USER = 'mirror-bot';
const PASSWORD = `up-secret-${randomBytes(6).toString('hex')}`;
const TTL_S = 2;

const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

/**
 * targetSettings are a target config package's settings for this registry as a mirror of UP,
 * the upstream named by a port nothing listens on (127.0.0.1:1).
 */
function targetSettings() {
  return resolveTargetSettings({ url: reg.host, insecure: '1', targetHost: '127.0.0.1', mirrors: `${UP}=http://127.0.0.1:1` });
}

/** Pusher pushes to the upstream with tokens from the issuer, as a CI job would. */
function pusher(base: string, issuer: TokenIssuer) {
  const tokens = new Map<string, string>();
  const auth = async (repo: string): Promise<Record<string, string>> => {
    let token = tokens.get(repo);
    if (!token) {
      const url = `${issuer.realm}?service=${issuer.service}&scope=repository:${repo}:pull,push`;
      const res = await fetch(url, { headers: { Authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}` } });
      token = ((await res.json()) as { token: string }).token;
      tokens.set(repo, token);
    }
    return { Authorization: `Bearer ${token}` };
  };
  const blob = async (repo: string, b: { digest: string; data: Buffer }) => {
    const start = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers: await auth(repo) });
    if (start.status !== 202) throw new Error(`upload start: ${start.status} ${await start.text()}`);
    const location = new URL(start.headers.get('location') ?? '', base);
    location.searchParams.set('digest', b.digest);
    const put = await fetch(location, {
      method: 'PUT',
      headers: { ...(await auth(repo)), 'Content-Type': 'application/octet-stream' },
      body: new Uint8Array(b.data),
    });
    if (put.status !== 201) throw new Error(`upload: ${put.status} ${await put.text()}`);
  };
  const manifest = async (repo: string, ref: string, m: Blob) => {
    const res = await fetch(`${base}/v2/${repo}/manifests/${ref}`, {
      method: 'PUT',
      headers: { ...(await auth(repo)), 'Content-Type': m.mediaType! },
      body: new Uint8Array(m.data),
    });
    if (res.status !== 201) throw new Error(`manifest: ${res.status} ${await res.text()}`);
  };
  const image = async (repo: string, ref: string, img: TestImage) => {
    for (const b of [img.config, ...img.layers]) await blob(repo, b);
    await manifest(repo, ref, img.manifest);
  };
  return { blob, manifest, image };
}

/** DOCKER_UA is what docker's engine sends (the one client that uses registry-mirrors). */
const DOCKER_UA = 'docker/24.0.7 go/go1.20.10 git-commit/311b9ff kernel/6.1.0 os/linux arch/amd64 UpstreamClient(Docker-Client/24.0.7 \\(linux\\))';

async function headDigest(url: string, headers: Record<string, string> = {}): Promise<string | null> {
  const res = await fetch(url, { method: 'HEAD', headers: { Accept: MANIFEST_ACCEPT, ...headers } });
  return res.status === 200 ? res.headers.get('docker-content-digest') : `status ${res.status}`;
}

/** rawGet GETs a URL and hands back the response without reading it (a client that may stall). */
function rawGet(url: string): Promise<import('node:http').IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { Accept: '*/*' } }, resolve);
    req.on('error', reject);
    req.end();
  });
}

async function readAll(res: import('node:http').IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of res as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

// The upstream: docker-registry with token auth, behind the counting proxy.
const dir = await tempDir(t, 'cr-cache-');
const issuer = await startTokenIssuer(t, dir, { [USER]: PASSWORD });
const upstream = await startDistribution(t, {
  extraConfig: `auth:\n  token:\n    realm: ${issuer.realm}\n    service: ${issuer.service}\n    issuer: ${issuer.issuer}\n    rootcertbundle: ${issuer.certPath}\n`,
});
const upPort = Number(upstream.host.split(':')[1]);
const proxy = await startUpstreamProxy(t, upPort);
const push = pusher(upstream.url, issuer);
const UP = `localhost:${upPort}`;
const PREFIX = `localhost-${upPort}`;

const amd = makeImage({ architecture: 'amd64', layers: [[{ name: 'hello.txt', content: 'hello amd64\n' }], [{ name: 'etc/motd', content: 'cached\n' }]] });
const arm = makeImage({ architecture: 'arm64', variant: 'v8', layers: [[{ name: 'hello.txt', content: 'hello arm64\n' }]] });
const index = makeIndex([amd, arm]);
for (const img of [amd, arm]) {
  for (const b of [img.config, ...img.layers]) await push.blob('multi/app', b);
  await push.manifest('multi/app', img.manifest.digest, img.manifest);
}
await push.manifest('multi/app', 'v1', index);
const alpine = makeImage({ layers: [[{ name: 'etc/alpine-release', content: '3.20.0\n' }]] });
await push.image('library/alpine', 'latest', alpine);

// Ours: --mirror for the upstream and for docker.io (the same upstream), credentials in config.toml.
const storage = await tempDir(t, 'cr-cache-ours-');
await writeFile(
  join(storage, 'config.toml'),
  [
    '[[cache.upstreams]]',
    `host = "${UP}"`,
    'timeout = "3s"',
    `username = "${USER}"`,
    `password = "${PASSWORD}"`,
    '',
    '[[cache.upstreams]]',
    'host = "docker.io"',
    `url = "http://${proxy.host}"`,
    `username = "${USER}"`,
    `password = "${PASSWORD}"`,
    '',
  ].join('\n'),
  { mode: 0o600 },
);
const reg = await startTestRegistry(t, { storage, args: ['--mirror', `${UP}=http://${proxy.host}`, '--cache-ttl', `${TTL_S}s`] });
const ours = (path: string) => `${reg.url}/v2/${PREFIX}/${path}`;

t.test('skopeo copies the multi-arch image through the cache, every digest as upstream', async (t) => {
  const out = await tempDir(t, 'cr-cache-out-');
  await mustExec('skopeo', ['copy', '--all', '--src-tls-verify=false', `docker://${reg.host}/${PREFIX}/multi/app:v1`, `oci:${out}:v1`]);
  const layout = JSON.parse(await readFile(join(out, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
  t.equal(layout.manifests[0]?.digest, index.digest, 'the index digest is the upstream one');
  for (const img of [amd, arm]) {
    for (const b of [img.manifest, img.config, ...img.layers]) {
      const file = join(out, 'blobs', 'sha256', b.digest.slice(7));
      t.equal(sha256(await readFile(file)), b.digest, `${img.platform.architecture} ${b.digest.slice(0, 19)} copied intact`);
    }
  }
  t.equal(await headDigest(ours('multi/app/manifests/v1')), index.digest, 'the tag serves the upstream digest');
  for (const img of [amd, arm]) t.equal(await headDigest(ours(`multi/app/manifests/${img.manifest.digest}`)), img.manifest.digest, 'each platform manifest');

  // The records mark what came from the upstream.
  const record = JSON.parse(await readFile(join(storage, 'cache', PREFIX, 'multi', 'app', 'sha256', `${index.digest.slice(7)}.json`), 'utf8')) as Record<
    string,
    unknown
  >;
  t.match(record, { upstream: UP, repository: `${PREFIX}/multi/app`, digest: index.digest, tags: ['v1'], size: index.data.length });
  const child = JSON.parse(await readFile(join(storage, 'cache', PREFIX, 'multi', 'app', 'sha256', `${amd.manifest.digest.slice(7)}.json`), 'utf8')) as {
    size: number;
    tags: string[];
  };
  t.equal(
    child.size,
    amd.manifest.data.length + amd.config.data.length + amd.layers.reduce((n, l) => n + l.data.length, 0),
    'a platform record counts its blobs',
  );
  t.same(child.tags, []);

  // A second copy is served from storage: no blob GET reaches the upstream again.
  const before = [amd, arm].flatMap((i) => i.layers).map((l) => proxy.blobGets(l.digest));
  t.ok(
    before.every((n) => n === 1),
    'each layer was fetched once',
  );
  const again = await tempDir(t, 'cr-cache-out2-');
  await mustExec('skopeo', ['copy', '--all', '--src-tls-verify=false', `docker://${reg.host}/${PREFIX}/multi/app:v1`, `oci:${again}:v1`]);
  t.same(
    [amd, arm].flatMap((i) => i.layers).map((l) => proxy.blobGets(l.digest)),
    before,
    'the second pull fetched no blob upstream',
  );
  const metrics = await (await fetch(`${reg.url}/metrics`)).text();
  t.match(metrics, /registry_cache_hits_total\{kind="blob"\} [1-9]/, 'hits counted');
  t.match(metrics, /registry_cache_misses_total\{kind="blob"\} [1-9]/, 'misses counted');
  t.match(metrics, /registry_cache_upstream_bytes_total [1-9]/, 'bytes fetched counted');
});

t.test('names: ?ns= (containerd) and docker.io without a prefix (docker registry-mirrors)', async (t) => {
  t.equal(await headDigest(`${reg.url}/v2/multi/app/manifests/v1?ns=${UP}`), index.digest, '?ns=<host> maps to the upstream prefix');
  t.equal(
    await headDigest(`${reg.url}/v2/library/alpine/manifests/latest`, { 'User-Agent': DOCKER_UA }),
    alpine.manifest.digest,
    "library/alpine from docker's engine is docker.io/library/alpine",
  );
  t.equal(
    await headDigest(`${reg.url}/v2/library/alpine/manifests/latest`),
    'status 404',
    'from any other client it is a local name (a push asking what a tag holds)',
  );
  t.equal(await headDigest(`${reg.url}/v2/docker.io/alpine/manifests/latest`), alpine.manifest.digest, 'docker.io/alpine gets library/');
  t.equal(await headDigest(`${reg.url}/v2/alpine/manifests/latest?ns=docker.io`), alpine.manifest.digest, 'alpine?ns=docker.io');
  const layer = await fetch(`${reg.url}/v2/library/alpine/blobs/${alpine.layers[0]!.digest}`, { headers: { 'User-Agent': DOCKER_UA } });
  t.equal(sha256(Buffer.from(await layer.arrayBuffer())), alpine.layers[0]!.digest, 'a blob by the unprefixed name');
  t.ok(
    existsSync(join(storage, 'cache', 'docker.io', 'library', 'alpine', 'sha256', `${alpine.manifest.digest.slice(7)}.json`)),
    'stored under docker.io/library/alpine',
  );
});

t.test('pushing into a cached repository is refused with a clear message', async (t) => {
  const put = await fetch(ours('multi/app/manifests/v2'), {
    method: 'PUT',
    headers: { 'Content-Type': amd.manifest.mediaType! },
    body: new Uint8Array(amd.manifest.data),
  });
  t.equal(put.status, 405);
  t.match(await put.text(), `is a cache of ${UP}`);
  const post = await fetch(ours('multi/app/blobs/uploads/'), { method: 'POST' });
  t.equal(post.status, 405, 'no upload into it either');
  const del = await fetch(ours(`multi/app/manifests/${index.digest}`), { method: 'DELETE' });
  t.equal(del.status, 405, 'nor a delete');
  const skopeo = await exec('skopeo', [
    'copy',
    '--dest-tls-verify=false',
    `docker://${reg.host}/${PREFIX}/multi/app:v1`,
    `docker://${reg.host}/${PREFIX}/multi/copy:v1`,
    '--src-tls-verify=false',
  ]);
  t.not(skopeo.code, 0, 'skopeo cannot push there');
  t.equal(await headDigest(ours('multi/app/manifests/v1')), index.digest, 'the cached tag is unchanged');
});

t.test('two clients asking one blob at once cause one upstream GET; the first gets bytes before the upstream sent it all', async (t) => {
  const big = makeImage({ layers: [[{ name: 'big.bin', content: randomBytes(6 * 1024 * 1024).toString('base64') }]] });
  await push.image('multi/big', 'v1', big);
  const layer = big.layers[0]!;
  proxy.throttle(layer.digest, 5);
  t.equal(await headDigest(ours('multi/big/manifests/v1')), big.manifest.digest);
  const url = ours(`multi/big/blobs/${layer.digest}`);
  const first = await rawGet(url);
  t.equal(first.statusCode, 200);
  const firstChunk = await new Promise<Buffer>((r) => first.once('data', r));
  t.ok(firstChunk.length > 0 && !proxy.progress(layer.digest).done, 'the first client streams while the upstream is still sending');
  first.pause();
  const [a, b] = await Promise.all([(async () => Buffer.concat([firstChunk, await readAll(first)]))(), (async () => readAll(await rawGet(url)))()]);
  t.equal(sha256(a), layer.digest, 'client one got the blob');
  t.equal(sha256(b), layer.digest, 'client two got the blob');
  t.equal(proxy.blobGets(layer.digest), 1, 'exactly one upstream GET');
  const stored = await fetch(url, { method: 'HEAD' });
  t.equal(stored.headers.get('content-length'), String(layer.data.length), 'stored');
});

t.test('a client that stalls does not hold the others, and one that leaves does not stop the fill', async (t) => {
  const big = makeImage({ layers: [[{ name: 'big.bin', content: randomBytes(18 * 1024 * 1024).toString('base64') }]] });
  await push.image('multi/stall', 'v1', big);
  const layer = big.layers[0]!;
  t.equal(await headDigest(ours('multi/stall/manifests/v1')), big.manifest.digest);
  const url = ours(`multi/stall/blobs/${layer.digest}`);
  const stalled = await rawGet(url);
  stalled.pause();
  const quitter = await rawGet(url);
  await new Promise((r) => quitter.once('data', r));
  quitter.destroy();
  const started = Date.now();
  const reader = await readAll(await rawGet(url));
  t.equal(sha256(reader), layer.digest, 'the reading client got the whole blob while another stalled');
  t.ok(Date.now() - started < 60_000);
  // The stalled client continues, from storage, where it had got to.
  stalled.resume();
  t.equal(sha256(await readAll(stalled)), layer.digest, 'the stalled client gets the whole blob in the end');
  t.equal(proxy.blobGets(layer.digest), 1, 'one upstream GET for all three');
});

t.test('a corrupt upstream: nothing stored, the client gets an error, not bad data', async (t) => {
  const bad = makeImage({ layers: [[{ name: 'data.bin', content: randomBytes(512 * 1024).toString('base64') }]] });
  await push.image('multi/bad', 'v1', bad);
  const layer = bad.layers[0]!;
  proxy.corrupt(layer.digest);
  t.equal(await headDigest(ours('multi/bad/manifests/v1')), bad.manifest.digest);
  const url = ours(`multi/bad/blobs/${layer.digest}`);
  const res = await rawGet(url);
  const body = await readAll(res).catch((err: Error) => err);
  t.ok(body instanceof Error || sha256(body) !== layer.digest, 'the body is cut short');
  if (!(body instanceof Error)) t.ok(body.length < layer.data.length, `got ${body.length} of ${layer.data.length} bytes`);
  const blobFile = join(storage, 'docker', 'registry', 'v2', 'blobs', 'sha256', layer.digest.slice(7, 9), layer.digest.slice(7), 'data');
  await waitFor(async () => (await fetch(url, { method: 'HEAD' })).status !== 0, 5000);
  t.notOk(existsSync(blobFile), 'no blob stored under the digest');
  t.match(reg.output(), `${layer.digest} not stored`, 'the log tells');
  proxy.corrupt(undefined);
  const good = await fetch(url);
  t.equal(sha256(Buffer.from(await good.arrayBuffer())), layer.digest, 'once the upstream is right, the blob comes through');
  t.ok(existsSync(blobFile), 'and is stored');
});

t.test('a tag moved upstream is seen after the TTL, not before', async (t) => {
  const v1 = makeImage({ layers: [[{ name: 'v', content: 'one\n' }]] });
  const v2 = makeImage({ layers: [[{ name: 'v', content: 'two\n' }]] });
  await push.image('multi/moving', 'latest', v1);
  t.equal(await headDigest(ours('multi/moving/manifests/latest')), v1.manifest.digest, 'first pull');
  await push.image('multi/moving', 'latest', v2);
  t.equal(await headDigest(ours('multi/moving/manifests/latest')), v1.manifest.digest, 'within the TTL the cached digest is served');
  await new Promise((r) => setTimeout(r, TTL_S * 1000 + 300));
  t.equal(await headDigest(ours('multi/moving/manifests/latest')), v2.manifest.digest, 'after the TTL the moved tag is seen');
  const recordOf = async (d: string) =>
    JSON.parse(await readFile(join(storage, 'cache', PREFIX, 'multi', 'moving', 'sha256', `${d.slice(7)}.json`), 'utf8')) as { tags: string[] };
  t.same((await recordOf(v2.manifest.digest)).tags, ['latest'], 'the new record holds the tag');
  t.same((await recordOf(v1.manifest.digest)).tags, [], 'the old one lost it');
});

t.test('hostile or odd requests get clear answers, and nothing is stored for them', async (t) => {
  const status = async (url: string, method = 'GET') => (await fetch(url, { method, headers: { Accept: MANIFEST_ACCEPT } })).status;
  t.equal(await status(ours('multi/app/manifests/sha256:zzz')), 400, 'a bad digest');
  t.equal(await status(ours('multi/app/blobs/not-a-digest')), 400, 'a bad blob digest');
  t.equal(await status(ours('multi/app/manifests/-bad')), 400, 'a bad tag');
  t.equal(await status(`${reg.url}/v2/${'a'.repeat(240)}/manifests/v1?ns=${UP}`), 400, 'a name the prefix makes too long');
  t.equal(
    await headDigest(`${reg.url}/v2/multi/app/manifests/v1?ns=${'%FF'.repeat(2000)}`),
    'status 404',
    'an ns that is no upstream is ignored: the plain name',
  );
  t.equal(await status(ours('multi/app/manifests/no-such-tag')), 404, 'a tag the upstream does not have');
  const absent = `sha256:${'0'.repeat(64)}`;
  t.equal(await status(ours(`multi/app/blobs/${absent}`)), 404, 'a blob the upstream does not have');
  t.equal(await status(ours(`multi/app/manifests/${absent}`)), 404, 'a manifest the upstream does not have');
  const extra = makeImage({ layers: [[{ name: 'x', content: 'head only\n' }]] });
  await push.image('multi/headonly', 'v1', extra);
  const layer = extra.layers[0]!;
  const head = await fetch(ours(`multi/headonly/blobs/${layer.digest}`), { method: 'HEAD' });
  t.equal(head.status, 200, 'HEAD of a blob not cached asks the upstream');
  t.equal(head.headers.get('content-length'), String(layer.data.length));
  t.equal(proxy.blobGets(layer.digest), 0, 'and fetches nothing');
  const blobFile = join(storage, 'docker', 'registry', 'v2', 'blobs', 'sha256', layer.digest.slice(7, 9), layer.digest.slice(7), 'data');
  t.notOk(existsSync(blobFile));
  t.equal((await fetch(`${reg.url}/v2/`)).status, 200, 'the registry still serves');
});

t.test('an upstream that goes away and comes back: one line each way', async (t) => {
  const before = reg.output().length;
  proxy.setDown(true);
  await new Promise((r) => setTimeout(r, TTL_S * 1000 + 300));
  t.equal(await headDigest(ours('multi/app/manifests/v1')), index.digest, 'served from the cache');
  proxy.setDown(false);
  await new Promise((r) => setTimeout(r, 5300));
  t.equal(await headDigest(ours('multi/app/manifests/v1')), index.digest, 'served, while the upstream is asked behind the answer');
  await waitFor(async () => reg.output().slice(before).includes(`upstream ${UP} is reachable again`), 10_000, 'the line saying the upstream is back');
  const lines = reg.output().slice(before);
  t.equal(lines.split(`upstream ${UP} (`).length - 1, 1, 'one line when it went down');
  t.equal(lines.split(`upstream ${UP} is reachable again`).length - 1, 1, 'one when it came back');
  const ready = (await (await fetch(`${reg.url}/readyz`)).json()) as { checks: Array<{ name: string; ok: boolean }> };
  t.match(
    ready.checks.find((c) => c.name === `upstream ${UP}`),
    { ok: true },
    '/readyz shows it up',
  );
});

t.test('a hung upstream is given up after its timeout: no pull waits forever', async (t) => {
  const slow = makeImage({ layers: [[{ name: 'slow.bin', content: randomBytes(300 * 1024).toString('base64') }]] });
  await push.image('multi/slow', 'v1', slow);
  const layer = slow.layers[0]!;
  t.equal(await headDigest(ours('multi/slow/manifests/v1')), slow.manifest.digest);
  // The body stops after its first 64 KiB: the connection is cut after 3 s of silence.
  proxy.throttle(layer.digest, 60_000);
  let started = Date.now();
  const body = await fetch(ours(`multi/slow/blobs/${layer.digest}`))
    .then((r) => r.arrayBuffer())
    .then((b) => Buffer.from(b))
    .catch((err: Error) => err);
  t.ok(body instanceof Error || sha256(body) !== layer.digest, 'the client is cut off, not given a short blob as good');
  t.ok(Date.now() - started < 15_000, `given up after ${Date.now() - started} ms`);
  t.notOk(existsSync(join(storage, 'docker', 'registry', 'v2', 'blobs', 'sha256', layer.digest.slice(7, 9), layer.digest.slice(7), 'data')), 'nothing stored');
  // An upstream that takes requests and never answers.
  await new Promise((r) => setTimeout(r, 5300));
  const before = reg.output().length;
  proxy.setHung(true);
  started = Date.now();
  const res = await fetch(ours('multi/app/manifests/hung-tag'), { headers: { Accept: MANIFEST_ACCEPT } });
  t.equal(res.status, 503, 'a tag not cached: 503 once the deadline passed');
  t.match(await res.text(), /no answer within|unreachable/);
  t.ok(Date.now() - started < 15_000, `answered after ${Date.now() - started} ms`);
  proxy.setHung(false);
  // Back to normal for the tests after this one: the upstream is asked again and found up.
  await new Promise((r) => setTimeout(r, 5300));
  await fetch(ours('multi/app/manifests/hung-tag'), { headers: { Accept: MANIFEST_ACCEPT } });
  await waitFor(async () => reg.output().slice(before).includes(`upstream ${UP} is reachable again`), 10_000, 'the upstream to be back');
});

t.test(
  'podman pulls through the registries.conf mirror the target package ships',
  { skip: missingPeer('podman') || (isRoot() ? false : 'podman here needs root (vfs storage)') },
  async (t) => {
    const pdir = await tempDir(t, 'cr-cache-podman-');
    // The drop-in the target config package ships for this mirror (container-oci-registry-config).
    const conf = join(pdir, 'registries.conf');
    await writeFile(conf, targetFiles('containers', targetSettings())[0]!.content);
    const podman = ['--root', join(pdir, 'root'), '--runroot', join(pdir, 'run'), '--storage-driver', 'vfs'];
    t.teardown(() => exec('podman', [...podman, 'image', 'unmount', '--all']));
    const env = { CONTAINERS_REGISTRIES_CONF: conf };
    const before = reg.output().length;
    await mustExec('podman', [...podman, 'pull', '--arch', 'arm64', `${UP}/multi/app:v1`], { env });
    const [info] = JSON.parse((await mustExec('podman', [...podman, 'image', 'inspect', `${UP}/multi/app:v1`], { env })).stdout) as Array<{
      Id: string;
      Architecture: string;
    }>;
    t.equal(info?.Architecture, 'arm64');
    t.equal(info?.Id, arm.config.digest.slice(7), 'podman has the arm64 image of the upstream (its config digest)');
    t.match(reg.output().slice(before), `/v2/${PREFIX}/multi/app/manifests/v1`, 'the pull came through our registry');
  },
);

t.test(
  'ctr pulls through the hosts.toml the target package ships (override_path and ?ns=)',
  { skip: missingPeer('ctr', 'containerd') || (isRoot() ? false : 'containerd here needs root') },
  async (t) => {
    const cdir = await tempDir(t, 'cr-cache-ctr-');
    const sock = await startContainerd(t, cdir);
    // The hosts.toml files containerd-registry-config ships: ours, and the upstream's, which sends
    // pulls to /v2/<prefix>/ here (override_path) and names the upstream itself unreachable, so only
    // the mirror can answer.
    const hosts = join(cdir, 'certs.d');
    for (const f of targetFiles('containerd', targetSettings())) {
      const at = join(hosts, f.path.slice('/etc/containerd/certs.d/'.length));
      await mkdir(dirname(at), { recursive: true });
      await writeFile(at, f.content);
    }
    const before = reg.output().length;
    const pull = await mustExec('ctr', ['--address', sock, 'images', 'pull', '--hosts-dir', hosts, '--platform', 'linux/amd64', `${UP}/multi/app:v1`]);
    t.match(pull.stdout + pull.stderr, /done|unpacking/i, 'ctr pulled');
    const ls = (await mustExec('ctr', ['--address', sock, 'images', 'ls'])).stdout;
    t.match(ls, index.digest, 'containerd records the index digest');
    t.match(reg.output().slice(before), `"/v2/${PREFIX}/multi/app/manifests/v1"`, 'containerd asked us under the prefix (override_path), with ?ns=');
  },
);

t.test('upstream down: the cached image still pulls, /readyz says so, one log line', async (t) => {
  const logBefore = reg.output();
  await upstream.stop();
  await new Promise((r) => setTimeout(r, TTL_S * 1000 + 300));
  const out = await tempDir(t, 'cr-cache-offline-');
  await mustExec('skopeo', ['copy', '--all', '--src-tls-verify=false', `docker://${reg.host}/${PREFIX}/multi/app:v1`, `oci:${out}:v1`]);
  const layout = JSON.parse(await readFile(join(out, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
  t.equal(layout.manifests[0]?.digest, index.digest, 'served from the cache past its TTL');
  await mustExec('skopeo', ['copy', '--all', '--src-tls-verify=false', `docker://${reg.host}/${PREFIX}/multi/app:v1`, `oci:${out}:again`]);
  t.equal(await headDigest(`${reg.url}/v2/library/alpine/manifests/latest`, { 'User-Agent': DOCKER_UA }), alpine.manifest.digest, 'docker.io too');
  const missingTag = await fetch(ours('multi/app/manifests/never-fetched'), { headers: { Accept: MANIFEST_ACCEPT } });
  t.equal(missingTag.status, 503, 'what is not cached is a 503 naming the upstream');
  t.match(await missingTag.text(), 'unreachable');
  // Pulls go on past the time the upstream is asked again: each is answered at once, and the log
  // still has one line.
  for (const until = Date.now() + 6500; Date.now() < until; ) {
    const started = Date.now();
    t.equal(await headDigest(ours('multi/app/manifests/v1')), index.digest, 'served while the upstream is down');
    t.ok(Date.now() - started < 1000, `answered without waiting on the upstream (${Date.now() - started} ms)`);
    await new Promise((r) => setTimeout(r, 500));
  }
  const ready = (await (await fetch(`${reg.url}/readyz`)).json()) as { status: string; checks: Array<{ name: string; ok: boolean; detail?: string }> };
  t.equal(ready.status, 'ready', 'the registry itself is ready');
  t.match(
    ready.checks.find((c) => c.name === `upstream ${UP}`),
    { ok: false, detail: /down since/ },
    '/readyz shows the upstream down',
  );
  const newLines = reg.output().slice(logBefore.length);
  t.equal(newLines.split(`upstream ${UP} (`).length - 1, 1, 'one log line for the upstream going down');
});

t.test('wrong credentials for the upstream: a 502 that says the upstream refused, and no secret in the log', async (t) => {
  const upstream2 = await startDistribution(t, {
    extraConfig: `auth:\n  token:\n    realm: ${issuer.realm}\n    service: ${issuer.service}\n    issuer: ${issuer.issuer}\n    rootcertbundle: ${issuer.certPath}\n`,
  });
  const wrong = `wrong-${randomBytes(6).toString('hex')}`;
  const storage2 = await tempDir(t, 'cr-cache-wrong-');
  const host2 = upstream2.host.replace('127.0.0.1', 'localhost');
  await writeFile(join(storage2, 'config.toml'), `[[cache.upstreams]]\nhost = "${host2}"\nusername = "${USER}"\npassword = "${wrong}"\n`, { mode: 0o600 });
  const reg2 = await startTestRegistry(t, { storage: storage2, args: ['--mirror', `${host2}=${upstream2.url}`] });
  const res = await fetch(`${reg2.url}/v2/${host2.replace(':', '-')}/multi/app/manifests/v1`, { headers: { Accept: MANIFEST_ACCEPT } });
  t.equal(res.status, 502);
  t.match(await res.text(), `the upstream ${host2} refused`);
  t.notMatch(reg2.output(), wrong, 'the wrong password is not logged either');
  t.ok(
    issuer.requests.some((r) => r.user === USER),
    'the token server was asked with the configured user',
  );
});

t.test('the upstream secret never appears in the log', async (t) => {
  t.notMatch(reg.output(), PASSWORD);
  t.notMatch(reg.output(), Buffer.from(`${USER}:${PASSWORD}`).toString('base64'));
});
