import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { renderConf, renderScript, shellQuote, USAGE } from '../tools/src/script/render.js';
import { installScript } from '../tools/src/script/install.js';
import { generateScript, scriptSettings } from '../tools/src/cli/commands/script.js';
import { tempDir } from './helpers/tmp.js';

t.test('shellQuote survives quotes, spaces and $', async (t) => {
  for (const v of ["it's", 'a b', '$HOME', '`x`', '"q"', "'", '']) {
    const out = execFileSync('bash', ['-c', `printf %s ${shellQuote(v)}`]).toString();
    t.equal(out, v, JSON.stringify(v));
  }
});

t.test('renderConf: one cr_set line per non-empty setting; no password', async (t) => {
  const conf = renderConf({
    storage: '/b d/container-registry',
    node: '/usr/bin/node',
    settings: {
      CONTAINER_REGISTRY_URL: 'localhost:5000',
      CONTAINER_REGISTRY_NAMESPACE: 'yocto',
      CONTAINER_REGISTRY_TAG_STRATEGY: 'timestamp latest',
      CONTAINER_REGISTRY_AUTHFILE: '',
    },
  });
  t.equal(
    conf,
    `# container-registry.conf: settings of container-registry.sh, written by
# \`bitbake container-registry-index -c generate_registry_script\` (regenerating overwrites it).
# A variable already set in the environment wins: CONTAINER_REGISTRY_TAG_STRATEGY="sha latest" container-registry.sh push
cr_set CONTAINER_REGISTRY_STORAGE '/b d/container-registry'
cr_set CONTAINER_REGISTRY_URL 'localhost:5000'
cr_set CONTAINER_REGISTRY_NAMESPACE 'yocto'
cr_set CONTAINER_REGISTRY_TAG_STRATEGY 'timestamp latest'
`,
  );
  t.throws(() => renderConf({ storage: '/s', node: '/n', settings: { CONTAINER_REGISTRY_URL: 'a\nb' } }), { message: /newline/ });
  t.notMatch(renderScript({ storage: '/s', node: '/n', settings: {} }), /PASSWORD/);
});

t.test('scriptSettings takes the CONTAINER_REGISTRY_* settings and never the password', async (t) => {
  const s = scriptSettings({ CONTAINER_REGISTRY_URL: 'localhost:5000', CONTAINER_REGISTRY_PASSWORD: 'pw', CONTAINER_REGISTRY_IMAGES: '', HOME: '/root' });
  t.same(s, { CONTAINER_REGISTRY_URL: 'localhost:5000', CONTAINER_REGISTRY_CERT_SAN: 'IP:10.0.2.2,IP:192.168.7.1' });
  t.equal(scriptSettings({ CONTAINER_REGISTRY_AUTH: '1' }).CONTAINER_REGISTRY_SECURE, '1', 'AUTH implies SECURE');
});

t.test('the generated script: bash -n, help, env wins, paths with spaces, password 0600', async (t) => {
  const root = await tempDir(t, 'cr script ');
  const storage = join(root, 'my storage', 'container-registry');
  // A stand-in helper that prints what it was given: argv and the settings it sees.
  const helperSrc = join(root, 'helper src.mjs');
  await writeFile(
    helperSrc,
    `const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('CONTAINER_REGISTRY_') || k === 'DEPLOY_DIR_IMAGE'));
if (process.argv.includes('--help')) { console.log('HELPER HELP'); process.exit(0); }
console.log(JSON.stringify({ argv: process.argv.slice(2), env }));`,
  );
  const result = await installScript({
    storage,
    node: process.execPath,
    helper: helperSrc,
    settings: {
      CONTAINER_REGISTRY_URL: 'localhost:5000',
      CONTAINER_REGISTRY_NAMESPACE: 'yocto',
      CONTAINER_REGISTRY_TAG_STRATEGY: 'timestamp latest',
      DEPLOY_DIR_IMAGE: join(root, 'deploy dir'),
    },
  });
  t.equal(result.script, join(storage, 'container-registry.sh'));
  t.equal(spawnSync('bash', ['-n', result.script]).status, 0, 'bash -n');
  t.equal((await stat(result.script)).mode & 0o777, 0o755);
  t.equal((await stat(join(storage, 'container-registry.mjs'))).mode & 0o777, 0o755, 'helper copied next to the script');

  const help = spawnSync(result.script, ['help'], { encoding: 'utf8' });
  t.equal(help.status, 0);
  t.equal(help.stdout, `${USAGE}\n\nHELPER HELP\n`);

  const run = spawnSync(result.script, ['push', 'my image', '--tag', 'v 1'], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, CONTAINER_REGISTRY_TAG_STRATEGY: 'sha latest' },
  });
  t.equal(run.status, 0, run.stderr);
  const seen = JSON.parse(run.stdout);
  t.same(seen.argv, ['push', 'my image', '--tag', 'v 1'], 'arguments pass through unchanged');
  t.same(
    seen.env,
    {
      CONTAINER_REGISTRY_STORAGE: storage,
      CONTAINER_REGISTRY_URL: 'localhost:5000',
      CONTAINER_REGISTRY_NAMESPACE: 'yocto',
      CONTAINER_REGISTRY_TAG_STRATEGY: 'sha latest',
      DEPLOY_DIR_IMAGE: join(root, 'deploy dir'),
    },
    'baked settings exported; the environment wins; no password',
  );

  // gc frees what deleted tags left: --delete-untagged goes first, so the user's flags win.
  const gc = spawnSync(result.script, ['gc', '--no-delete-untagged', '--grace', '0'], { encoding: 'utf8', env: { PATH: process.env.PATH } });
  t.equal(gc.status, 0, gc.stderr);
  t.same(JSON.parse(gc.stdout).argv, ['gc', '--delete-untagged', '--no-delete-untagged', '--grace', '0']);

  for (const f of ['container-registry.sh', 'container-registry.conf']) t.notMatch(await readFile(join(storage, f), 'utf8'), /pa ss/, `${f} holds no secret`);
});

t.test("generateScript: the password from the environment becomes the default user's, 0600, in no script", async (t) => {
  const root = await tempDir(t, 'cr gen ');
  const storage = join(root, 'st');
  const helper = join(root, 'h.mjs');
  await writeFile(helper, '');
  const env = {
    CONTAINER_REGISTRY_URL: 'localhost:5000',
    CONTAINER_REGISTRY_AUTH: '1',
    CONTAINER_REGISTRY_USERNAME: 'builder',
    CONTAINER_REGISTRY_PASSWORD: "pa ss'word-1",
  };
  const first = await generateScript({ storage, node: process.execPath, helper, env });
  t.equal(first.user?.action, 'created');
  const pw = join(storage, 'auth', 'password');
  t.equal(await readFile(pw, 'utf8'), "pa ss'word-1\n");
  t.equal((await stat(pw)).mode & 0o777, 0o600);
  const htpasswd = await readFile(join(storage, 'auth', 'htpasswd'), 'utf8');
  t.match(htpasswd, /^builder:\$2[aby]\$/);
  t.notMatch(htpasswd, /pa ss/);
  const conf = await readFile(join(storage, 'container-registry.conf'), 'utf8');
  t.match(conf, "cr_set CONTAINER_REGISTRY_SECURE '1'", 'AUTH implies SECURE');
  t.match(conf, "cr_set CONTAINER_REGISTRY_USERNAME 'builder'");
  for (const f of ['container-registry.sh', 'container-registry.conf']) t.notMatch(await readFile(join(storage, f), 'utf8'), /pa ss/, `${f} holds no secret`);
  // A new password in local.conf replaces the old one; the same one changes nothing.
  const changed = await generateScript({ storage, node: process.execPath, helper, env: { ...env, CONTAINER_REGISTRY_PASSWORD: 'second-password' } });
  t.equal(changed.user?.action, 'updated');
  t.equal(await readFile(pw, 'utf8'), 'second-password\n');
  t.equal((await stat(pw)).mode & 0o777, 0o600);
  const same = await generateScript({ storage, node: process.execPath, helper, env: { ...env, CONTAINER_REGISTRY_PASSWORD: 'second-password' } });
  t.equal(same.user?.action, 'kept');
  const none = await generateScript({ storage, node: process.execPath, helper, env: { CONTAINER_REGISTRY_URL: 'localhost:5000' } });
  t.equal(none.user, undefined, 'no password, no user change');
  await t.rejects(generateScript({ storage, node: process.execPath, helper, env: { CONTAINER_REGISTRY_SECURE: '1', CONTAINER_REGISTRY_INSECURE: '1' } }), {
    code: 'config',
  });
});

t.test('the script works after the tree it came from is gone, and says so when node is missing', async (t) => {
  const root = await tempDir(t);
  const storage = join(root, 'st');
  const tmpTree = join(root, 'tmp', 'work');
  await mkdir(tmpTree, { recursive: true });
  const helper = join(tmpTree, 'container-registry.mjs');
  await writeFile(helper, "console.log('ran', process.argv.slice(2).join(' '))");
  const { script } = await installScript({ storage, node: process.execPath, helper, settings: {} });
  execFileSync('rm', ['-rf', join(root, 'tmp')]);
  t.equal(execFileSync(script, ['status'], { encoding: 'utf8' }), 'ran status\n');
  const noNode = await installScript({ storage: join(root, 'st2'), node: '/nonexistent/node', helper: join(storage, 'container-registry.mjs'), settings: {} });
  const r = spawnSync(noNode.script, ['status'], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } });
  if (r.status === 127) t.match(r.stderr, /node \(>= 20\) not found/);
  else t.equal(r.stdout, 'ran status\n', 'falls back to node on PATH');
});
