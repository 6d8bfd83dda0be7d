// The generated script running the real helper against real registries. Its conf exports every
// setting a build gives (CONTAINER_REGISTRY_AUTH_MODE='none' included), and an explicit flag must
// still win over such a default: --credsfile/--authfile to another registry, a wrong credsfile
// against our secure one. The conf carries TOPDIR and COREBASE for the sha strategy, and the
// hints name the script.
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { generateScript } from '../tools/src/cli/commands/script.js';
import { BUNDLE, runCli, startTestRegistry, testUserEnv } from './helpers/registry.js';
import { writeBuild } from './helpers/deploy.js';
import { freePort } from './helpers/ports.js';
import { tempDir } from './helpers/tmp.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** runScript runs a generated script with a bare environment (the conf's settings apply) plus `env`. */
function runScript(script: string, args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(script, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: opts.cwd,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', ...testUserEnv(), ...opts.env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** BUILD_SETTINGS are what BitBake hands the script generator for a secure build (defaults included, as helper_env passes them). */
const BUILD_SETTINGS = {
  CONTAINER_REGISTRY_NAMESPACE: 'yocto',
  CONTAINER_REGISTRY_TAG_STRATEGY: 'timestamp latest',
  CONTAINER_REGISTRY_SECURE: '1',
  CONTAINER_REGISTRY_AUTH: '1',
  CONTAINER_REGISTRY_INSECURE: '0',
  CONTAINER_REGISTRY_AUTH_MODE: 'none',
  CONTAINER_REGISTRY_USERNAME: 'yocto',
};

/** Build is a build folder (no git checkout) with a deploy tree and an oe-core checkout beside it. */
interface Build {
  topdir: string;
  deploy: string;
  corebase: string;
  commit: string;
}

async function build(t: Test): Promise<Build> {
  const root = await tempDir(t, 'cr-build-');
  const topdir = join(root, 'build');
  await writeBuild(join(topdir, 'tmp', 'deploy', 'images'), { machine: 'qemux86-64', image: 'app', stamp: '20260112143022' });
  const corebase = join(root, 'openembedded-core');
  await mkdir(corebase);
  const git = (...args: string[]) =>
    execFileSync('git', ['-C', corebase, ...args], {
      encoding: 'utf8',
      env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@e', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@e' },
    }).trim();
  git('init', '-q', '-b', 'scarthgap');
  await writeFile(join(corebase, 'README'), 'oe-core\n');
  git('add', 'README');
  git('commit', '-q', '-m', 'one');
  return { topdir, deploy: join(topdir, 'tmp', 'deploy', 'images', 'qemux86-64'), corebase, commit: git('rev-parse', '--short=7', 'HEAD') };
}

t.test('push --credsfile / --authfile through the script: the flag wins over the conf', async (t) => {
  const b = await build(t);
  // Ours: the build's secure registry, its storage holding the script.
  const storage = join(b.topdir, 'container-registry');
  const local = await startTestRegistry(t, { storage, args: ['--tls', '--auth'] });
  const settings = { ...BUILD_SETTINGS, CONTAINER_REGISTRY_URL: `localhost:${local.port}`, DEPLOY_DIR_IMAGE: b.deploy, TOPDIR: b.topdir, COREBASE: b.corebase };
  const { script } = await generateScript({ storage, node: process.execPath, helper: BUNDLE, env: settings });
  t.match(await readFile(join(storage, 'container-registry.conf'), 'utf8'), "cr_set CONTAINER_REGISTRY_AUTH_MODE 'none'", 'the conf exports the default mode');

  // Another secure registry of ours with a user of its own.
  const other = await startTestRegistry(t, { storage: await tempDir(t, 'cr-other-'), args: ['--tls', '--auth'] });
  const add = await runCli(['auth', 'add', 'ci', '--password-stdin', '--storage', other.storage], { input: 'ci-password-3\n' });
  t.equal(add.code, 0, add.stderr);
  const dir = await tempDir(t);
  const credsfile = join(dir, 'ci-creds');
  await writeFile(credsfile, 'CONTAINER_REGISTRY_USER=ci\nCONTAINER_REGISTRY_PASSWORD=ci-password-3\n', { mode: 0o600 });
  const authfile = join(dir, 'auth.json');
  const host = `localhost:${other.port}`;
  await writeFile(authfile, JSON.stringify({ auths: { [host]: { auth: Buffer.from('ci:ci-password-3').toString('base64') } } }), { mode: 0o600 });
  const otherTls = ['--registry', host, '--ca-cert', join(other.storage, 'certs', 'ca.crt')];

  const withCreds = await runScript(script, ['push', 'app', '-t', 'v1', ...otherTls, '--credsfile', credsfile]);
  t.equal(withCreds.code, 0, `--credsfile: ${withCreds.stderr}`);
  const withAuth = await runScript(script, ['push', 'app', '-t', 'v2', ...otherTls, '--authfile', authfile]);
  t.equal(withAuth.code, 0, `--authfile: ${withAuth.stderr}`);
  const tags = await runScript(script, ['tags', 'app', ...otherTls, '--credsfile', credsfile]);
  t.equal(tags.stdout, 'v1\nv2\n', tags.stderr);
  const anonymous = await runScript(script, ['push', 'app', '-t', 'v3', ...otherTls]);
  t.not(anonymous.code, 0, 'without a flag, the conf says none: refused');
  t.match(anonymous.stderr, /\[unauthorized\]/);

  // Against our own secure registry, a credsfile is used as given: a wrong password is refused
  // (not quietly replaced by the registry's own password); without one, the storage's password works.
  const wrong = join(dir, 'wrong-creds');
  await writeFile(wrong, 'CONTAINER_REGISTRY_USER=yocto\nCONTAINER_REGISTRY_PASSWORD=not-the-password\n', { mode: 0o600 });
  const refused = await runScript(script, ['push', 'app', '-t', 'wrong', '--credsfile', wrong]);
  t.equal(refused.code, 1, refused.stdout);
  t.match(refused.stderr, /^container-registry: error \[unauthorized\]: .*401/m);
  const own = await runScript(script, ['push', 'app', '-t', 'own']);
  t.equal(own.code, 0, own.stderr);
  t.equal((await runScript(script, ['tags', 'app'])).stdout, 'own\n', 'only the push with the right password landed');
});

t.test('the script carries TOPDIR and COREBASE: sha tags from the oe-core checkout; none at all is a warning', async (t) => {
  const b = await build(t);
  const storage = join(b.topdir, 'container-registry');
  const local = await startTestRegistry(t, { storage });
  const settings = { CONTAINER_REGISTRY_URL: `127.0.0.1:${local.port}`, DEPLOY_DIR_IMAGE: b.deploy, TOPDIR: b.topdir, COREBASE: b.corebase };
  const { script } = await generateScript({ storage, node: process.execPath, helper: BUNDLE, env: settings });
  const conf = await readFile(join(storage, 'container-registry.conf'), 'utf8');
  t.match(conf, `cr_set TOPDIR '${b.topdir}'`);
  t.match(conf, `cr_set COREBASE '${b.corebase}'`);

  const sha = await runScript(script, ['push', '--json'], { cwd: b.topdir, env: { CONTAINER_REGISTRY_TAG_STRATEGY: 'sha branch latest' } });
  t.equal(sha.code, 0, sha.stderr);
  t.same((JSON.parse(sha.stdout) as { results: Array<{ tags: string[] }> }).results[0]!.tags, [b.commit, 'scarthgap', 'latest']);
  t.equal(sha.stderr, '');

  // COREBASE gone too (a copied build folder): the configured sha is skipped, latest is pushed.
  const none = await runScript(script, ['push', '--json'], {
    cwd: b.topdir,
    env: { CONTAINER_REGISTRY_TAG_STRATEGY: 'sha latest', COREBASE: join(b.topdir, 'gone') },
  });
  t.equal(none.code, 0, none.stderr);
  t.same((JSON.parse(none.stdout) as { results: Array<{ tags: string[] }> }).results[0]!.tags, ['latest']);
  t.match(none.stderr, /^warning: tag strategy sha skipped: it needs a git commit/);
});

t.test('hints name the script: a registry that does not run, a CA that does not exist yet', async (t) => {
  const storage = join(await tempDir(t, 'cr-hint-'), 'container-registry');
  const port = await freePort();
  const { script } = await generateScript({ storage, node: process.execPath, helper: BUNDLE, env: { CONTAINER_REGISTRY_URL: `localhost:${port}` } });
  const list = await runScript(script, ['list']);
  t.equal(list.stderr, `container-registry: error [not-running]: registry not running at http://localhost:${port}: start it with ${script} start\n`);
  t.equal(list.code, 3);

  const secure = join(await tempDir(t, 'cr-hint-'), 'container-registry');
  const s = await generateScript({
    storage: secure,
    node: process.execPath,
    helper: BUNDLE,
    env: { ...BUILD_SETTINGS, CONTAINER_REGISTRY_URL: `localhost:${port}` },
  });
  const noCa = await runScript(s.script, ['config', 'containerd', '--print']);
  t.match(noCa.stderr, `error [missing-ca]: the registry CA ${join(secure, 'pki', 'ca.crt')} does not exist yet: \`${s.script} pki init\``);
  t.equal((await runScript(s.script, ['pki', 'init'])).code, 0);
  const containerd = await runScript(s.script, ['config', 'containerd', '--print']);
  t.equal(containerd.code, 0, containerd.stderr);
  t.match(containerd.stdout, await readFile(join(secure, 'pki', 'ca.crt'), 'utf8'), "the storage's CA, no --ca needed");
});
