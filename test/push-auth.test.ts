// Credentials and auth: challenge parsing, credential sources, then Basic (htpasswd) and the
// Bearer token flow against docker-registry, every auth mode through the built CLI, secrets kept
// out of argv, output and errors.
import t, { type Test } from 'tap';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { parseChallenges } from '../tools/src/client/auth.js';
import { credentialFromDockerConfig, credentialSource, parseCredsFile } from '../tools/src/client/credentials.js';
import { RegistrySession } from '../tools/src/client/session.js';
import { catalog, listTags } from '../tools/src/client/listing.js';
import { planDeployPush, pushPlanned } from '../tools/src/push/deploy.js';
import { newPushContext } from '../tools/src/push/push.js';
import { SilentReporter } from '../tools/src/push/progress.js';
import { startDistribution } from './helpers/distribution.js';
import { startTokenIssuer } from './helpers/token-issuer.js';
import { writeBuild } from './helpers/deploy.js';
import { tempDir } from './helpers/tmp.js';
import { missingPeer } from './helpers/peers.js';
import { runCli } from './helpers/registry.js';

t.test('WWW-Authenticate parsing', async (t) => {
  t.same(parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"'), [
    { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/alpine:pull' } },
  ]);
  t.same(parseChallenges('Basic realm="Registry Realm"'), [{ scheme: 'basic', params: { realm: 'Registry Realm' } }]);
  t.same(
    parseChallenges('Bearer realm="x",scope="repository:a:pull,push repository:b:pull",error="insufficient_scope"')[0]!.params.scope,
    'repository:a:pull,push repository:b:pull',
    'commas inside quotes',
  );
  t.same(
    parseChallenges(['Basic realm="a"', 'Bearer realm="b"']).map((c) => c.scheme),
    ['basic', 'bearer'],
    'several challenges',
  );
  t.same(parseChallenges('Bearer realm="a\\"b"')[0]!.params.realm, 'a"b', 'escapes');
  t.same(parseChallenges(undefined), []);
});

t.test('credentials files and Docker config', async (t) => {
  t.same(parseCredsFile('# c\nCONTAINER_REGISTRY_USER=me\nCONTAINER_REGISTRY_PASSWORD="p:w=d"\n', 'f'), { kind: 'basic', username: 'me', password: 'p:w=d' });
  t.same(
    parseCredsFile('export CONTAINER_REGISTRY_USER=me\nCONTAINER_REGISTRY_PASSWORD=x\nCONTAINER_REGISTRY_TOKEN=tok\n', 'f'),
    { kind: 'token', token: 'tok', username: 'me' },
    'the token wins',
  );
  t.throws(() => parseCredsFile('CONTAINER_REGISTRY_USER=me\n', 'creds.txt'), { message: /creds.txt sets neither/ });
  // A shell-style file, not INI: a value is kept as written (`#`, `;`, backslashes, "true"), quotes only strip.
  for (const password of ['pa#ss ;x', 'a\\nb', 'true', "it's"]) {
    for (const value of [password, `"${password}"`, `'${password}'`]) {
      t.same(
        parseCredsFile(`CONTAINER_REGISTRY_USER=me\r\nCONTAINER_REGISTRY_PASSWORD = ${value}\r\n`, 'f'),
        { kind: 'basic', username: 'me', password },
        `PASSWORD=${value}`,
      );
    }
  }
  t.throws(
    () => parseCredsFile('[creds]\nCONTAINER_REGISTRY_USER\nCONTAINER_REGISTRY_PASSWORD=x\n', 'f'),
    { message: /sets neither/ },
    'a key without a value sets nothing',
  );
  const auth = Buffer.from('bob:pa:ss').toString('base64');
  t.same(await credentialFromDockerConfig({ auths: { 'https://reg.example:5000': { auth } } }, 'reg.example:5000', 'c'), {
    kind: 'basic',
    username: 'bob',
    password: 'pa:ss',
  });
  t.same(
    await credentialFromDockerConfig({ auths: { 'https://index.docker.io/v1/': { auth } } }, 'registry-1.docker.io', 'c'),
    { kind: 'basic', username: 'bob', password: 'pa:ss' },
    "Docker Hub's key",
  );
  t.equal(await credentialFromDockerConfig({ auths: { other: { auth } } }, 'reg.example', 'c'), undefined);
  const env = { CONTAINER_REGISTRY_TOKEN: 't0k' };
  t.same(await credentialSource({ mode: 'env', env })('x'), { kind: 'token', token: 't0k' });
  t.same(await credentialSource({ mode: 'none', creds: 'u:p' })('x'), { kind: 'basic', username: 'u', password: 'p' }, '--creds wins over the mode');
  t.throws(() => credentialSource({ mode: 'env', env: {} }), { message: /auth mode env: set CONTAINER_REGISTRY_TOKEN/ });
  t.throws(() => credentialSource({ mode: 'credsfile' }), { message: /needs --credsfile/ });
});

const skip = missingPeer('docker-registry', 'openssl');
const USER = 'alice';
const PASSWORD = 'S3cret-pw-do-not-print';

async function deployTree(t: Test): Promise<string> {
  const root = await tempDir(t);
  await writeBuild(join(root, 'images'), { machine: 'qemux86-64', image: 'authimg', stamp: '20260112143022' });
  return join(root, 'images', 'qemux86-64');
}

t.test('Basic auth (htpasswd) with every auth mode through the CLI', { skip }, async (t) => {
  const dir = await tempDir(t);
  // distribution reads bcrypt's $2y$ prefix (htpasswd -B); bcryptjs writes $2b$, the same algorithm
  const hash = bcrypt.hashSync(PASSWORD, 5).replace(/^\$2b\$/, '$2y$');
  await writeFile(join(dir, 'htpasswd'), `${USER}:${hash}\n`);
  const reg = await startDistribution(t, { extraConfig: `auth:\n  htpasswd:\n    realm: test-realm\n    path: ${join(dir, 'htpasswd')}\n` });
  const deploy = await deployTree(t);
  const base = { CONTAINER_REGISTRY_URL: reg.host, DEPLOY_DIR_IMAGE: deploy, CONTAINER_REGISTRY_TAG_STRATEGY: 'latest', HOME: dir, DOCKER_CONFIG: '' };
  const anon = await runCli(['push', '--quiet'], { env: base });
  t.not(anon.code, 0, 'no credentials: refused');
  t.match(anon.stderr, /\[unauthorized\].*401/);
  // distribution names what the request needed in the error's detail: the CLI shows it.
  t.match(anon.stderr, /401 UNAUTHORIZED: authentication required \(repository yocto\/authimg: pull/, 'the registry says which repository and right');

  const credsfile = join(dir, 'creds');
  await writeFile(credsfile, `CONTAINER_REGISTRY_USER=${USER}\nCONTAINER_REGISTRY_PASSWORD=${PASSWORD}\n`, { mode: 0o600 });
  const authfile = join(dir, 'auth.json');
  await writeFile(authfile, JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from(`${USER}:${PASSWORD}`).toString('base64') } } }));
  await mkdir(join(dir, '.docker'));
  await writeFile(join(dir, '.docker', 'config.json'), JSON.stringify({ auths: { [`http://${reg.host}`]: { username: USER, password: PASSWORD } } }));
  // a credential helper: gets the host on stdin, answers on stdout
  const bin = join(dir, 'bin');
  await mkdir(bin);
  await writeFile(
    join(bin, 'docker-credential-testhelper'),
    `#!/bin/sh\necho "$@" > ${join(dir, 'helper-argv')}\ncat > ${join(dir, 'helper-stdin')}\nprintf '{"ServerURL":"x","Username":"${USER}","Secret":"${PASSWORD}"}'\n`,
  );
  await chmod(join(bin, 'docker-credential-testhelper'), 0o755);
  const helperConfig = join(dir, 'helper.json');
  await writeFile(helperConfig, JSON.stringify({ credHelpers: { [reg.host]: 'testhelper' } }));
  const storeConfig = join(dir, 'store.json');
  await writeFile(storeConfig, JSON.stringify({ credsStore: 'testhelper' }));

  const modes: Array<[string, string[], Record<string, string>]> = [
    ['credsfile flag', ['--credsfile', credsfile], {}],
    ['credsfile env', [], { CONTAINER_REGISTRY_AUTH_MODE: 'credsfile', CONTAINER_REGISTRY_CREDSFILE: credsfile }],
    ['authfile', ['--authfile', authfile], {}],
    ['authfile env', [], { CONTAINER_REGISTRY_AUTH_MODE: 'authfile', CONTAINER_REGISTRY_AUTHFILE: authfile }],
    ['home (opt-in)', ['--use-home-auth'], {}],
    ['home mode', ['--auth-mode', 'home'], {}],
    ['env', [], { CONTAINER_REGISTRY_AUTH_MODE: 'env', CONTAINER_REGISTRY_USER: USER, CONTAINER_REGISTRY_PASSWORD: PASSWORD }],
    ['--creds', ['--creds', `${USER}:${PASSWORD}`], {}],
    ['credHelpers', ['--authfile', helperConfig], { PATH: `${bin}:${process.env.PATH}` }],
    ['credsStore', ['--authfile', storeConfig], { PATH: `${bin}:${process.env.PATH}` }],
  ];
  for (const [name, args, env] of modes) {
    const r = await runCli(['push', '--json', ...args], { env: { ...base, ...env } });
    t.equal(r.code, 0, `${name}: ${r.stderr}`);
    if (r.code === 0) t.equal((JSON.parse(r.stdout) as { results: Array<{ repository: string }> }).results[0]!.repository, 'yocto/authimg', name);
    t.notMatch(r.stdout + r.stderr, PASSWORD, `${name}: the password is printed nowhere`);
  }
  t.equal((await readFile(join(dir, 'helper-argv'), 'utf8')).trim(), 'get', 'the helper gets only "get" on its command line');
  t.equal(await readFile(join(dir, 'helper-stdin'), 'utf8'), reg.host, 'and the host on stdin');

  const home = await runCli(['push', '--quiet'], { env: base });
  t.not(home.code, 0, 'home is opt-in: ~/.docker/config.json is not read by default');

  const wrong = await runCli(['push', '--creds', `${USER}:wrong-${PASSWORD}`, '--verbose'], { env: base });
  t.not(wrong.code, 0);
  t.notMatch(wrong.stdout + wrong.stderr, PASSWORD, 'a rejected password is not echoed, even with --verbose');

  const list = await runCli(['list', '--credsfile', credsfile], { env: base });
  t.equal(list.code, 0, list.stderr);
  t.match(list.stdout, /yocto\/authimg: latest/);
});

t.test('Bearer token flow: token per scope, cached, refreshed on a later 401', { skip }, async (t) => {
  const dir = await tempDir(t);
  const issuer = await startTokenIssuer(t, dir, { [USER]: PASSWORD }, { tokens: ['pat-123'] });
  const reg = await startDistribution(t, {
    extraConfig: `auth:\n  token:\n    realm: ${issuer.realm}\n    service: ${issuer.service}\n    issuer: ${issuer.issuer}\n    rootcertbundle: ${issuer.certPath}\n`,
  });
  const deploy = await deployTree(t);
  const s = new RegistrySession({ registry: `http://${reg.host}`, credentials: async () => ({ kind: 'basic', username: USER, password: PASSWORD }) });
  t.teardown(() => s.close());
  const plans = await planDeployPush({ deployDir: deploy, only: [], namespace: 'yocto', tags: ['latest', 'v1'], arch: false, labels: {} });
  const [r] = await pushPlanned(newPushContext(s, new SilentReporter()), plans, { tags: ['latest', 'v1'], arch: false });
  t.equal(r!.blobsUploaded, 2);
  t.ok(issuer.requests.length >= 1 && issuer.requests.length <= 3, `tokens are cached per scope (${issuer.requests.length} token requests for the whole push)`);
  t.ok(issuer.requests.every((q) => q.user === USER));
  t.ok(issuer.requests.some((q) => q.scopes.includes('repository:yocto/authimg:pull,push')));
  // The next token the issuer signs is already expired: the registry answers 401, the client
  // drops the cached token, asks again and retries.
  const before = issuer.requests.length;
  t.same(await listTags(s, 'yocto/authimg'), ['latest', 'v1'].sort());
  issuer.expireNext(1);
  t.same(await catalog(s), ['yocto/authimg'], 'catalog with its own scope');
  t.ok(issuer.requests.length - before >= 2, 'an expired token was replaced');

  // The CLI with a PAT-style token (--token, credsfile TOKEN) and with wrong credentials
  const base = { CONTAINER_REGISTRY_URL: reg.host, DEPLOY_DIR_IMAGE: deploy, CONTAINER_REGISTRY_TAG_STRATEGY: 'latest', HOME: dir };
  const tok = await runCli(['push', '--quiet', '--token', 'pat-123'], { env: base });
  t.equal(tok.code, 0, tok.stderr);
  const credsfile = join(dir, 'tokcreds');
  await writeFile(credsfile, 'CONTAINER_REGISTRY_USER=ci\nCONTAINER_REGISTRY_PASSWORD=ignored\nCONTAINER_REGISTRY_TOKEN=pat-123\n');
  const tf = await runCli(['push', '--json', '--credsfile', credsfile], { env: base });
  t.equal(tf.code, 0, tf.stderr);
  t.equal((JSON.parse(tf.stdout) as { results: Array<{ bytesSent: number }> }).results[0]!.bytesSent, 0, 're-push uploads nothing');
  const bad = await runCli(['push', '--quiet', '--creds', `${USER}:nope-${PASSWORD}`], { env: base });
  t.not(bad.code, 0);
  t.match(bad.stderr, /\[unauthorized\]|credentials rejected/);
  t.notMatch(bad.stderr, PASSWORD);
});
