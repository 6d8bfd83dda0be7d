import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { cp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { HELPER_CHUNKS, HELPER_NAME, renderConf, renderScript, shellQuote, USAGE } from '../tools/src/script/render.js';
import { helperChunks, installScript } from '../tools/src/script/install.js';
import { generateScript, scriptSettings } from '../tools/src/cli/commands/script.js';
import { tempDir } from './helpers/tmp.js';
import { BUNDLE, testUserEnv } from './helpers/registry.js';
// @ts-expect-error: a plain .mjs of the build, without types
import { CHUNK_DIR, ENTRY_NAME } from '../scripts/bundle-files.mjs';

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
  t.equal(
    scriptSettings({ CONTAINER_REGISTRY_MIRRORS: 'docker.io localhost:5001=http://127.0.0.1:5001' }).CONTAINER_REGISTRY_MIRRORS,
    'docker.io localhost:5001=http://127.0.0.1:5001',
    'the mirrored upstreams reach the conf, so `start` serves them',
  );
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
  await t.rejects(
    generateScript({ storage, node: process.execPath, helper, env: { CONTAINER_REGISTRY_MIRRORS: 'upstream.lan=ftp://upstream.lan' } }),
    { message: /CONTAINER_REGISTRY_MIRRORS: .* must be http/ },
    'a mirror the targets could not use stops the script, as the packages would',
  );
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

t.test('the build and the script name the helper and its chunk folder alike', async (t) => {
  t.equal(ENTRY_NAME, HELPER_NAME);
  t.equal(CHUNK_DIR, HELPER_CHUNKS);
});

t.test('the built helper, every chunk, works from the storage copy once the tree it came from is gone', async (t) => {
  const root = await tempDir(t, 'cr bundle ');
  // A copy of the layer's files/, as bitbake would find it in a layer checkout.
  const layer = join(root, 'layer', 'files');
  await mkdir(layer, { recursive: true });
  await cp(BUNDLE, join(layer, HELPER_NAME));
  await cp(join(dirname(BUNDLE), HELPER_CHUNKS), join(layer, HELPER_CHUNKS), { recursive: true });
  const storage = join(root, 'storage');
  const { script } = await installScript({ storage, node: process.execPath, helper: join(layer, HELPER_NAME), settings: {} });
  const readText = (p: string) => readFile(p, 'utf8').catch(() => undefined);
  const wanted = await helperChunks(join(layer, HELPER_NAME), readText);
  t.ok(wanted.size > 10, `the helper has ${wanted.size} chunks`);
  t.same(new Set(await readdir(join(storage, HELPER_CHUNKS))), wanted, 'every chunk the entry imports was copied, and nothing else');
  await rm(join(root, 'layer'), { recursive: true });

  const env = { ...process.env, ...testUserEnv(), CONTAINER_REGISTRY_STORAGE: storage, CONTAINER_REGISTRY_URL: '' };
  const run = (args: string[]) => spawnSync(script, args, { encoding: 'utf8', env });
  const version = run(['--version']);
  t.equal(version.status, 0, version.stderr);
  t.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
  // help loads every command's chunk; each command below loads its own and what it imports.
  const help = run(['help']);
  t.equal(help.status, 0, help.stderr);
  t.match(help.stdout, /container-registry push/);
  const status = run(['status']);
  t.match(`${status.stdout}${status.stderr}`, /not running|no registry/i, 'status runs (the server chunk)');
  const config = run(['config', 'docker', '--output', join(root, 'out')]);
  t.equal(config.status, 0, `config docker (the target chunk): ${config.stderr}`);
  const pki = run(['pki', 'show']);
  t.notMatch(pki.stderr, /Cannot find module|ERR_MODULE_NOT_FOUND/, 'pki show finds its chunks');
  const bad = run(['push', '--no-such-flag']);
  t.equal(bad.status, 2, 'a usage error loads the error formatting chunk');
  t.match(bad.stderr, /error \[usage\]/);
});

/** fakeBuild writes a helper entry importing `chunks` (name → the chunks it imports) into `dir`. */
async function fakeBuild(dir: string, entryImports: string[], chunks: Record<string, string[]>): Promise<string> {
  await mkdir(join(dir, HELPER_CHUNKS), { recursive: true });
  const entry = join(dir, HELPER_NAME);
  await writeFile(entry, `${entryImports.map((c) => `import"./${HELPER_CHUNKS}/${c}";`).join('')}console.log('ran', process.argv.slice(2).join(' '));\n`);
  for (const [name, imports] of Object.entries(chunks)) await writeFile(join(dir, HELPER_CHUNKS, name), `${imports.map((c) => `import"./${c}";`).join('')}\n`);
  return entry;
}

t.test('a new helper replaces the copy: chunks first, entry last; the replaced entry keeps its chunks, older ones go', async (t) => {
  const root = await tempDir(t);
  const storage = join(root, 'st');
  const chunksAt = () => readdir(join(storage, HELPER_CHUNKS)).then((l) => l.sort());
  const one = await fakeBuild(join(root, 'one'), ['a-AAAAAAA1.mjs'], {
    'a-AAAAAAA1.mjs': ['shared-SSSSSSS1.mjs'],
    'shared-SSSSSSS1.mjs': [],
    'unused-UUUUUUU1.mjs': [],
  });
  const { script } = await installScript({ storage, node: process.execPath, helper: one, settings: {} });
  t.same(await chunksAt(), ['a-AAAAAAA1.mjs', 'shared-SSSSSSS1.mjs'], 'only the chunks the entry imports');
  t.equal(execFileSync(script, ['status'], { encoding: 'utf8' }), 'ran status\n');
  const two = await fakeBuild(join(root, 'two'), ['a-AAAAAAA2.mjs'], { 'a-AAAAAAA2.mjs': ['shared-SSSSSSS1.mjs'], 'shared-SSSSSSS1.mjs': [] });
  await installScript({ storage, node: process.execPath, helper: two, settings: {} });
  t.same(
    await chunksAt(),
    ['a-AAAAAAA1.mjs', 'a-AAAAAAA2.mjs', 'shared-SSSSSSS1.mjs'],
    "the replaced entry's chunks stay (a registry started from it may import them)",
  );
  const three = await fakeBuild(join(root, 'three'), ['a-AAAAAAA3.mjs'], { 'a-AAAAAAA3.mjs': [] });
  await installScript({ storage, node: process.execPath, helper: three, settings: {} });
  t.same(await chunksAt(), ['a-AAAAAAA2.mjs', 'a-AAAAAAA3.mjs', 'shared-SSSSSSS1.mjs'], 'chunks of neither the new entry nor the replaced one are removed');
  t.equal(await readFile(join(storage, HELPER_NAME), 'utf8'), await readFile(three, 'utf8'));
  t.equal(execFileSync(script, ['status'], { encoding: 'utf8' }), 'ran status\n');

  // A helper whose chunk is missing is refused before anything of the copy changes.
  const broken = await fakeBuild(join(root, 'broken'), ['b-BBBBBBB1.mjs'], { 'b-BBBBBBB1.mjs': ['gone-GGGGGGG1.mjs'] });
  await t.rejects(installScript({ storage, node: process.execPath, helper: broken, settings: {} }), {
    message: /imports container-registry-chunks\/gone-GGGGGGG1\.mjs, which is missing/,
  });
  t.equal(await readFile(join(storage, HELPER_NAME), 'utf8'), await readFile(three, 'utf8'), 'the copy is still the last good helper');
  t.same(await chunksAt(), ['a-AAAAAAA2.mjs', 'a-AAAAAAA3.mjs', 'shared-SSSSSSS1.mjs']);
});
