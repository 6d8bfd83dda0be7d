// The built CLI: push/tags/catalog/inspect/delete/import as users run them, TLS (secure mode's CA
// and password files, --ca-cert, --cert-dir, --insecure) and usage errors.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile, copyFile, readdir, rm } from 'node:fs/promises';
import { createReadStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { startTestRegistry, runCli, BUNDLE } from './helpers/registry.js';
import { startDistribution } from './helpers/distribution.js';
import { archiveOf, writeBuild } from './helpers/deploy.js';
import { tempDir } from './helpers/tmp.js';
import { missingPeer } from './helpers/peers.js';
import { RegistrySession } from '../tools/src/client/session.js';
import { pushBlob } from '../tools/src/client/blobs.js';

const reg = await startTestRegistry(t);

async function tree(t: { teardown(fn: () => unknown): void }, image = 'cliimg'): Promise<string> {
  const root = await tempDir(t);
  await writeBuild(join(root, 'images'), { machine: 'qemux86-64', image, stamp: '20260112143022', latestLink: true });
  await writeBuild(join(root, 'images'), { machine: 'qemuarm64', image, stamp: '20260112143022', architecture: 'arm64' });
  return join(root, 'images', 'qemux86-64');
}

t.test('push with the default strategy, then list, tags, catalog, inspect, delete', async (t) => {
  const deploy = await tree(t);
  const env = { CONTAINER_REGISTRY_URL: reg.host, DEPLOY_DIR_IMAGE: deploy };
  const r = await runCli(['push', '--json'], { env });
  t.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as {
    registry: string;
    results: Array<{ repository: string; tags: string[]; digest: string; bytesSent: number; bytesSkipped: number; platforms: string[] }>;
  };
  const [res] = out.results;
  t.equal(res!.repository, 'yocto/cliimg');
  t.match(res!.tags, [/^\d{8}-\d{6}$/, 'latest'], 'timestamp latest by default');
  t.same(res!.platforms, ['linux/amd64', 'linux/arm64']);
  t.ok(res!.bytesSent > 0);
  const again = await runCli(['push', '--json'], { env });
  const res2 = (JSON.parse(again.stdout) as typeof out).results[0]!;
  t.equal(res2.bytesSent, 0, 're-push sends nothing');
  t.equal(res2.bytesSkipped, res!.bytesSent);

  const plain = await runCli(['push', 'cliimg', '-t', 'v1.0.0', '-t', 'stable'], { env });
  t.equal(plain.code, 0, plain.stderr);
  t.match(plain.stdout, /yocto\/cliimg: v1.0.0 stable sha256:/);
  const tags = await runCli(['tags', 'cliimg'], { env });
  t.match(tags.stdout, /latest\n/);
  t.match(tags.stdout, /stable\n/);
  const list = await runCli(['list'], { env });
  t.match(list.stdout, /yocto\/cliimg: .*latest.*stable/);
  const cat = await runCli(['catalog', '--json'], { env });
  t.ok((JSON.parse(cat.stdout) as { repositories: string[] }).repositories.includes('yocto/cliimg'));
  const insp = await runCli(['inspect', 'cliimg:stable'], { env });
  t.match(insp.stdout, /media type: application\/vnd.oci.image.index.v1\+json/);
  t.match(insp.stdout, /platforms: {2}linux\/amd64, linux\/arm64/);
  t.match(insp.stdout, /layer: +sha256:[0-9a-f]{64} \d+ B application\/vnd.oci.image.layer.v1.tar\+gzip/);
  const del = await runCli(['delete', 'cliimg:stable'], { env });
  t.equal(del.code, 0, del.stderr);
  const tags2 = await runCli(['tags', 'cliimg', '--json'], { env });
  const after = (JSON.parse(tags2.stdout) as { tags: string[] }).tags;
  t.notOk(after.includes('stable'), 'the tag went');
  t.ok(after.includes('v1.0.0') && after.includes('latest'), 'the tags sharing its digest stayed');
  const noTag = await runCli(['delete', 'cliimg'], { env });
  t.equal(noTag.code, 2);
  t.match(noTag.stderr, /delete needs name:tag/);
});

t.test('inspect by digest heads its output name@digest, by tag name:tag', async (t) => {
  const deploy = await tree(t, 'bydigest');
  const env = { CONTAINER_REGISTRY_URL: reg.host, DEPLOY_DIR_IMAGE: deploy };
  const pushed = await runCli(['push', 'bydigest', '-t', 'v1', '--json'], { env });
  t.equal(pushed.code, 0, pushed.stderr);
  const digest = (JSON.parse(pushed.stdout) as { results: Array<{ digest: string }> }).results[0]!.digest;
  const byDigest = await runCli(['inspect', `bydigest@${digest}`], { env });
  t.equal(byDigest.code, 0, byDigest.stderr);
  t.equal(byDigest.stdout.split('\n')[0], `${reg.host}/yocto/bydigest@${digest}`);
  const byTag = await runCli(['inspect', 'bydigest:v1'], { env });
  t.equal(byTag.stdout.split('\n')[0], `${reg.host}/yocto/bydigest:v1`);
});

t.test('a layout missing a blob fails before anything is sent, naming the blob and the layout', async (t) => {
  const layers = [[{ name: 'a.txt', content: `kept ${Date.now()}\n` }], [{ name: 'b.txt', content: `deleted ${Date.now()}\n` }]];
  const v2 = join(reg.storage, 'docker', 'registry', 'v2');
  const blobStored = (digest: string) => existsSync(join(v2, 'blobs', 'sha256', digest.slice(7, 9), digest.slice(7), 'data'));
  for (const kind of ['folder', 'archive'] as const) {
    const root = await tempDir(t);
    const image = `broken-${kind}`;
    const built = await writeBuild(join(root, 'images'), { machine: 'qemux86-64', image, stamp: '20260112143022', layers });
    const gone = built.image.layers[1]!.digest;
    await rm(join(built.path, 'blobs', 'sha256', gone.slice(7)));
    let layoutPath = built.path;
    if (kind === 'archive') {
      layoutPath = `${built.path}.tar`;
      await archiveOf(built.path, layoutPath);
      await rm(built.path, { recursive: true });
    }
    const r = await runCli(['push', image, '-t', 'v1'], { env: { CONTAINER_REGISTRY_URL: reg.host, DEPLOY_DIR_IMAGE: join(root, 'images', 'qemux86-64') } });
    t.equal(r.code, 1, `${kind}: exit 1`);
    t.equal(r.stderr.trim().split('\n').length, 1, `${kind}: one line (${r.stderr.trim()})`);
    t.match(r.stderr, /^container-registry: error \[layout\]: /, `${kind}: a layout error, not a network one`);
    t.match(r.stderr, gone, `${kind}: names the missing blob`);
    t.match(r.stderr, layoutPath, `${kind}: names the layout`);
    t.notMatch(r.stdout + r.stderr, /retry/, `${kind}: no retries`);
    const repo = join(v2, 'repositories', 'yocto', image);
    const uploads = existsSync(join(repo, '_uploads')) ? await readdir(join(repo, '_uploads')) : [];
    t.same(uploads, [], `${kind}: no upload session left in the registry`);
    t.notOk(existsSync(repo), `${kind}: the registry never heard of the repository`);
    t.notOk(blobStored(built.image.config.digest) || blobStored(built.image.layers[0]!.digest), `${kind}: no blob of the image reached the registry`);
  }
});

t.test('a blob that goes missing after the plan: a layout error at once, no retry, its upload session cancelled', async (t) => {
  const dir = await tempDir(t);
  const session = new RegistrySession({ registry: reg.host, tls: { allowHttp: true } });
  t.teardown(() => session.close());
  const digest = `sha256:${'ab'.repeat(32)}`;
  const path = join(dir, 'gone');
  const sources = {
    file: { digest, size: 10, open: () => createReadStream(path), file: { path, offset: 0 } },
    stream: { digest, size: 10, open: () => createReadStream(path) },
    'archive member': {
      digest,
      size: 10,
      open: () => {
        throw new Error(`${path}: blobs/sha256/${'ab'.repeat(32)} is missing from the archive`);
      },
    },
  };
  for (const [kind, source] of Object.entries(sources)) {
    const repository = `yocto/vanished-${kind.replace(' ', '-')}`;
    const retries: number[] = [];
    await t.rejects(pushBlob(session, repository, source, { skipExists: true, baseDelayMs: 1, onRetry: (n) => retries.push(n) }), { code: 'layout' }, kind);
    t.same(retries, [], `${kind}: not retried`);
    const uploads = join(reg.storage, 'docker', 'registry', 'v2', 'repositories', repository, '_uploads');
    t.same(existsSync(uploads) ? await readdir(uploads) : [], [], `${kind}: the upload session is cancelled`);
  }
});

t.test('on a terminal, push draws a bar per blob (cli-progress, loaded only then)', { skip: missingPeer('script') }, async (t) => {
  const deploy = await tree(t, 'ttyimg');
  // util-linux script(1) runs the command on a pseudo-terminal, so stdout.isTTY is true.
  const cmd = [process.execPath, BUNDLE, 'push', 'ttyimg', '--registry', reg.host, '--insecure', '--deploy-dir', deploy, '-t', 'tty']
    .map((a) => `'${a}'`)
    .join(' ');
  const out = execFileSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8', env: { ...process.env, COLUMNS: '120', TERM: 'xterm' }, timeout: 60_000 });
  const bars = out.match(/ [0-9a-f]{12} \[[\u2588\u2591]{30}\] 100% /g) ?? [];
  t.ok(bars.length >= 3, `${bars.length} finished bars (a layer and a config per platform at least)`);
  t.match(out, /uploaded/);
  t.match(out, /yocto\/ttyimg: tty sha256:[0-9a-f]{64}/);
  t.match(out, /Pushed 1 image\(s\)/);
  const inspect = await runCli(['inspect', 'ttyimg:tty', '--registry', reg.host, '--insecure']);
  t.equal(inspect.code, 0, 'the image is there');
});

t.test('strategies, version, labels, the image filter', async (t) => {
  const deploy = await tree(t, 'stratimg');
  const env = { CONTAINER_REGISTRY_URL: reg.host, DEPLOY_DIR_IMAGE: deploy, OCI_IMAGE_REVISION: '8a3f2b1c9d', OCI_IMAGE_BRANCH: 'feature/login' };
  const r = await runCli(['push', '--json', '-s', 'semver sha branch latest', '-v', 'v1.2.3', '--label', 'org.example.k=v'], { env });
  t.equal(r.code, 0, r.stderr);
  t.same((JSON.parse(r.stdout) as { results: Array<{ tags: string[] }> }).results[0]!.tags, ['1.2.3', '1.2', '1', '8a3f2b1', 'feature-login', 'latest']);
  const insp = await runCli(['inspect', 'stratimg:1.2', '--json'], { env });
  const info = JSON.parse(insp.stdout) as { images: Array<{ labels: Record<string, string> }> };
  t.equal(info.images[0]!.labels['org.example.k'], 'v');
  const pre = await runCli(['push', '--json', '-s', 'semver', '-v', '1.3.0-rc1'], { env: { ...env, CONTAINER_REGISTRY_IMAGES: 'stratimg' } });
  t.same((JSON.parse(pre.stdout) as { results: Array<{ tags: string[] }> }).results[0]!.tags, ['1.3.0-rc1']);
  const arch = await runCli(['push', '--json', '-s', 'latest arch'], { env });
  t.same((JSON.parse(arch.stdout) as { results: Array<{ tags: string[] }> }).results.map((x) => x.tags[0]).sort(), ['latest-amd64', 'latest-arm64']);
  const filtered = await runCli(['push', '--quiet'], { env: { ...env, CONTAINER_REGISTRY_IMAGES: 'nope' } });
  t.not(filtered.code, 0);
  t.match(filtered.stderr, /\[discovery\].*no image named "nope".*found: stratimg/);
});

t.test('outside a git checkout: the configured sha strategy is skipped with a warning, an explicit --strategy sha fails', async (t) => {
  const deploy = await tree(t, 'nogitimg');
  // A plain build folder (never a checkout), no COREBASE, nothing BitBake computed, no override.
  const build = await tempDir(t, 'cr-build-');
  const noGit = { TOPDIR: build, COREBASE: '', METADATA_REVISION: '', METADATA_BRANCH: '', OCI_IMAGE_REVISION: '', OCI_IMAGE_BRANCH: '' };
  const env = { ...noGit, CONTAINER_REGISTRY_URL: reg.host, DEPLOY_DIR_IMAGE: deploy, CONTAINER_REGISTRY_TAG_STRATEGY: 'sha latest' };
  const r = await runCli(['push', '--json'], { env, cwd: build });
  t.equal(r.code, 0, r.stderr);
  t.same((JSON.parse(r.stdout) as { results: Array<{ tags: string[] }> }).results[0]!.tags, ['latest'], 'pushed with the tags left');
  t.equal(
    r.stderr,
    'warning: tag strategy sha skipped: it needs a git commit (TOPDIR or COREBASE in a git checkout, METADATA_REVISION, or OCI_IMAGE_REVISION)\n',
  );
  const tags = await runCli(['tags', 'nogitimg'], { env });
  t.equal(tags.stdout, 'latest\n', tags.stderr);

  // Named on the command line, the strategy is asked for: no commit is an error, nothing is pushed.
  const strict = await runCli(['push', '--strategy', 'sha latest'], { env, cwd: build });
  t.equal(strict.code, 1);
  t.match(strict.stderr, /^container-registry: error \[tag\]: strategy sha needs a git commit/);
  // Only skipped strategies: no tag left is an error too.
  const only = await runCli(['push'], { env: { ...env, CONTAINER_REGISTRY_TAG_STRATEGY: 'sha' }, cwd: build });
  t.equal(only.code, 1);
  t.match(only.stderr, /\[tag\]: no tag left to push: tag strategy sha skipped/);
  // What BitBake computed is the last fallback.
  const computed = await runCli(['push', '--json'], { env: { ...env, METADATA_REVISION: '0123456789abcdef' }, cwd: build });
  t.equal(computed.code, 0, computed.stderr);
  t.same((JSON.parse(computed.stdout) as { results: Array<{ tags: string[] }> }).results[0]!.tags, ['0123456', 'latest']);
  t.equal(computed.stderr, '', 'no warning');
});

t.test('usage errors are one line with a stable code', async (t) => {
  const deploy = await tree(t, 'usage');
  const env = { CONTAINER_REGISTRY_URL: reg.host, DEPLOY_DIR_IMAGE: deploy };
  const cases: Array<[string[], Record<string, string>, RegExp]> = [
    [['push', '--tag', 'x'], {}, /\[usage\]: --tag needs an image name/],
    [['push', 'usage', '--tag', 'bad tag'], {}, /\[usage\]: invalid tag "bad tag"/],
    [['push'], { DEPLOY_DIR_IMAGE: '' }, /\[usage\]: no deploy folder: set DEPLOY_DIR_IMAGE/],
    [['push', '-s', 'nightly'], {}, /\[tag\]: unknown tag strategy "nightly"/],
    [['push', '-s', 'semver'], { IMAGE_VERSION: '', PV: '' }, /\[tag\]: strategy semver needs a version/],
    [['push', '--label', 'novalue'], {}, /\[usage\]: --label must be KEY=VALUE/],
    [
      ['push'],
      { CONTAINER_REGISTRY_URL: '127.0.0.1:1' },
      /\[not-running\]: registry not running at http:\/\/127.0.0.1:1: start it with container-registry start$/m,
    ],
    [['tags', 'missing'], {}, /\[not-found\]: yocto\/missing does not exist/],
    [['inspect', 'missing:latest'], {}, /\[not-found\]/],
  ];
  for (const [args, extra, re] of cases) {
    const r = await runCli(args, { env: { ...env, ...extra } });
    t.not(r.code, 0, args.join(' '));
    t.match(r.stderr, re, args.join(' '));
    t.equal(r.stderr.trim().split('\n').length, 1, `${args.join(' ')}: one line`);
  }
});

t.test('import from another registry through the CLI', async (t) => {
  const deploy = await tree(t, 'imported-src');
  const env = { CONTAINER_REGISTRY_URL: reg.host, DEPLOY_DIR_IMAGE: deploy };
  await runCli(['push', '--quiet', '-s', 'latest'], { env });
  const src = await startTestRegistry(t);
  const into = { CONTAINER_REGISTRY_URL: src.host };
  const all = await runCli(['import', `${reg.host}/yocto/imported-src:latest`, 'copy:v2', '--src-insecure', '--json'], { env: into });
  t.equal(all.code, 0, all.stderr);
  const res = (JSON.parse(all.stdout) as { results: Array<{ repository: string; digest: string; platforms: string[] }> }).results[0]!;
  t.equal(res.repository, 'yocto/copy');
  t.same(res.platforms.sort(), ['linux/amd64', 'linux/arm64']);
  const orig = await runCli(['inspect', 'imported-src', '--json'], { env });
  t.equal(res.digest, (JSON.parse(orig.stdout) as { digest: string }).digest, 'digest preserved');
  const one = await runCli(['import', `${reg.host}/yocto/imported-src`, '--platform', 'linux/arm64', '--src-insecure', '--json'], { env: into });
  t.equal(one.code, 0, one.stderr);
  t.same((JSON.parse(one.stdout) as { results: Array<{ platforms: string[]; repository: string }> }).results[0]!.platforms, ['linux/arm64']);
});

t.test('TLS: secure mode files, --ca-cert, --cert-dir without keys, --insecure', { skip: missingPeer('docker-registry', 'openssl') }, async (t) => {
  const dir = await tempDir(t);
  const storage = join(dir, 'storage');
  await mkdir(join(storage, 'pki'), { recursive: true });
  await mkdir(join(storage, 'certs'));
  await mkdir(join(storage, 'auth'));
  const ossl = (...args: string[]) => execFileSync('openssl', args, { cwd: join(storage, 'pki'), stdio: 'pipe' });
  ossl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '2',
    '-subj',
    '/CN=test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  );
  ossl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  await writeFile(join(storage, 'pki', 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n');
  ossl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'ext.cnf');
  await copyFile(join(storage, 'pki', 'ca.crt'), join(storage, 'certs', 'ca.crt'));
  const password = 'tls-pw-12345';
  await writeFile(join(storage, 'auth', 'password'), `${password}\n`, { mode: 0o600 });
  await writeFile(join(storage, 'auth', 'htpasswd'), `yocto:${bcrypt.hashSync(password, 5).replace(/^\$2b\$/, '$2y$')}\n`);
  const d = await startDistribution(t, {
    extraConfig: `  tls:\n    certificate: ${join(storage, 'pki', 'server.crt')}\n    key: ${join(storage, 'pki', 'server.key')}\nauth:\n  htpasswd:\n    realm: r\n    path: ${join(storage, 'auth', 'htpasswd')}\n`,
    tls: true,
  });
  const deploy = await tree(t, 'tlsimg');
  const base = { DEPLOY_DIR_IMAGE: deploy, CONTAINER_REGISTRY_URL: d.host, CONTAINER_REGISTRY_TAG_STRATEGY: 'latest' };
  const secure = await runCli(['push', '--quiet', '--storage', storage], { env: { ...base, CONTAINER_REGISTRY_SECURE: '1' } });
  t.equal(secure.code, 0, `secure mode: CA from <storage>/certs/ca.crt, password from <storage>/auth/password: ${secure.stderr}`);
  const viaEnv = await runCli(['tags', 'tlsimg'], { env: { ...base, CONTAINER_REGISTRY_SECURE: '1', CONTAINER_REGISTRY_STORAGE: storage } });
  t.equal(viaEnv.stdout.trim(), 'latest', viaEnv.stderr);
  const unknownCa = await runCli(['push', '--quiet', '--creds', `yocto:${password}`], { env: base });
  t.not(unknownCa.code, 0, 'an unknown CA is refused');
  t.match(unknownCa.stderr, /\[network\].*(certificate|CERT)/i);
  const caCert = await runCli(['push', '--quiet', '--ca-cert', join(storage, 'certs', 'ca.crt'), '--creds', `yocto:${password}`], { env: base });
  t.equal(caCert.code, 0, caCert.stderr);
  const certDir = await runCli(['push', '--quiet', '--cert-dir', join(storage, 'certs'), '--creds', `yocto:${password}`], { env: base });
  t.equal(certDir.code, 0, certDir.stderr);
  const keysDir = await runCli(['push', '--quiet', '--cert-dir', join(storage, 'pki'), '--creds', `yocto:${password}`], { env: base });
  t.not(keysDir.code, 0);
  t.match(keysDir.stderr, /\[tls\]: --cert-dir .*pki holds private keys \(ca.key, server.key\)/);
  const insecure = await runCli(['push', '--quiet', '--insecure', '--creds', `yocto:${password}`], { env: base });
  t.equal(insecure.code, 0, `--insecure skips verification: ${insecure.stderr}`);
  const both = await runCli(['push', '--quiet', '--insecure', '--storage', storage], { env: { ...base, CONTAINER_REGISTRY_SECURE: '1' } });
  t.equal(both.code, 2);
  t.match(both.stderr, /exclude each other/);
});

t.test('secure mode against our registry: its CA (certs/ca.crt) and its password (auth/password)', async (t) => {
  const storage = await tempDir(t, 'cr-secure-');
  const secureEnv = { CONTAINER_REGISTRY_SECURE: '1', CONTAINER_REGISTRY_AUTH: '1', CONTAINER_REGISTRY_INSECURE: '' };
  const sreg = await startTestRegistry(t, { storage, env: secureEnv });
  const deploy = await tree(t, 'secureimg');
  const env = {
    ...secureEnv,
    CONTAINER_REGISTRY_URL: sreg.host,
    DEPLOY_DIR_IMAGE: deploy,
    CONTAINER_REGISTRY_STORAGE: storage,
    CONTAINER_REGISTRY_TAG_STRATEGY: 'latest',
  };
  const r = await runCli(['push', '--json'], { env });
  t.equal(r.code, 0, r.stderr);
  t.equal((JSON.parse(r.stdout || '{"results":[{}]}') as { results: Array<{ repository: string }> }).results[0]!.repository, 'yocto/secureimg');
  const tags = await runCli(['tags', 'secureimg'], { env });
  t.equal(tags.stdout.trim(), 'latest', tags.stderr);
  const anon = await runCli(['tags', 'secureimg', '--ca-cert', join(storage, 'certs', 'ca.crt')], { env: { ...env, CONTAINER_REGISTRY_SECURE: '' } });
  t.not(anon.code, 0, 'without the password: refused');
  t.match(anon.stderr, /\[unauthorized\]/);
  const keys = await runCli(['tags', 'secureimg', '--cert-dir', join(storage, 'pki')], { env });
  t.match(keys.stderr, /holds private keys/, 'the PKI folder is never a cert dir');
});

t.test('two push processes at once (two machines of one build host): both platforms stay', async (t) => {
  for (let round = 0; round < 2; round++) {
    const one = await tempDir(t);
    const two = await tempDir(t);
    const name = `procrace${round}`;
    await writeBuild(join(one, 'images'), { machine: 'qemux86-64', image: name, stamp: '20260112143022' });
    await writeBuild(join(two, 'images'), { machine: 'qemuarm64', image: name, stamp: '20260112143022', architecture: 'arm64' });
    const env = { CONTAINER_REGISTRY_URL: reg.host, CONTAINER_REGISTRY_TAG_STRATEGY: 'latest' };
    const [a, b] = await Promise.all([
      runCli(['push', '-q'], { env: { ...env, DEPLOY_DIR_IMAGE: join(one, 'images', 'qemux86-64') } }),
      runCli(['push', '-q'], { env: { ...env, DEPLOY_DIR_IMAGE: join(two, 'images', 'qemuarm64') } }),
    ]);
    t.equal(a.code, 0, a.stderr);
    t.equal(b.code, 0, b.stderr);
    const insp = await runCli(['inspect', name, '--json'], { env });
    t.same(
      (JSON.parse(insp.stdout) as { manifests: Array<{ platform: string }> }).manifests.map((m) => m.platform).sort(),
      ['linux/amd64', 'linux/arm64'],
      `round ${round}`,
    );
  }
});
