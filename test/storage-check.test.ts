// A storage directory that does not exist is a typo, not a new registry: every command but
// serve/start, `pki init` and `script` (which make one) refuses it in one line, exit 2, naming the
// path and how to make one, and creates nothing. Runs with its own HOME and XDG folders.
import t from 'tap';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli } from './helpers/registry.js';
import { tempDir } from './helpers/tmp.js';

async function user(t: { teardown(fn: () => unknown): void }) {
  const root = await tempDir(t, 'cr-user-');
  const env: Record<string, string> = {
    HOME: join(root, 'home'),
    XDG_DATA_HOME: join(root, 'data'),
    XDG_RUNTIME_DIR: join(root, 'run'),
    TMPDIR: join(root, 'tmp'),
    CONTAINER_REGISTRY_STORAGE: '',
    CONTAINER_REGISTRY_URL: '',
    CONTAINER_REGISTRY_SECURE: '',
  };
  for (const d of [env.HOME!, env.XDG_DATA_HOME!, env.XDG_RUNTIME_DIR!, env.TMPDIR!]) await mkdir(d, { recursive: true, mode: 0o700 });
  return { root, env };
}

const HOW = '(create one with `container-registry start --storage DIR`)';

t.test('gc --storage /typo/dir creates nothing and fails with one line, exit 2', async (t) => {
  const { root, env } = await user(t);
  const typo = join(root, 'typo', 'dir');
  const gc = await runCli(['gc', '--storage', typo, '--settle', '0'], { env, cwd: root });
  t.equal(gc.code, 2, gc.stdout);
  t.equal(gc.stdout, '', 'no success line');
  t.equal(gc.stderr, `container-registry: error [no-storage]: the storage directory ${typo} does not exist ${HOW}\n`);
  t.notOk(existsSync(join(root, 'typo')), 'nothing created');
});

t.test('every command that reads a storage refuses one that does not exist', async (t) => {
  const { root, env } = await user(t);
  const typo = join(root, 'no-such-storage');
  const commands = [
    ['gc'],
    ['status'],
    ['stop'],
    ['pki', 'show'],
    ['pki', 'renew'],
    ['auth', 'list'],
    ['auth', 'remove', 'someone'],
    ['auth', 'add', 'someone'],
    ['auth', 'passwd', 'someone'],
    ['list', '--registry', '127.0.0.1:1'],
    ['push', '--registry', '127.0.0.1:1', '--deploy-dir', root],
  ];
  for (const args of commands) {
    const r = await runCli([...args, '--storage', typo], { env, cwd: root, input: 'password\n' });
    t.equal(r.code, 2, `${args.join(' ')}: exit 2 (${r.stderr.trim()})`);
    t.equal(r.stderr, `container-registry: error [no-storage]: the storage directory ${typo} does not exist ${HOW}\n`, `${args.join(' ')}: one line`);
  }
  const viaEnv = await runCli(['gc'], { env: { ...env, CONTAINER_REGISTRY_STORAGE: typo }, cwd: root });
  t.equal(viaEnv.code, 2, 'named by CONTAINER_REGISTRY_STORAGE too');
  t.match(viaEnv.stderr, `the storage directory ${typo} does not exist`);
  t.notOk(existsSync(typo), 'none of them created it');

  const file = join(root, 'a-file');
  await writeFile(file, 'x');
  const notDir = await runCli(['gc', '--storage', file], { env, cwd: root });
  t.equal(notDir.code, 2);
  t.equal(notDir.stderr, `container-registry: error [no-storage]: the storage directory ${file} is not a directory ${HOW}\n`);
});

t.test('without --storage: gc names the per-user default; status and stop say "not running"', async (t) => {
  const { root, env } = await user(t);
  const storage = join(env.XDG_DATA_HOME!, 'container-registry');
  const gc = await runCli(['gc'], { env, cwd: root });
  t.equal(gc.code, 2);
  t.equal(gc.stderr, `container-registry: error [no-storage]: the storage directory ${storage} does not exist ${HOW}\n`);
  const status = await runCli(['status'], { env, cwd: root });
  t.equal(status.code, 3, status.stderr);
  t.match(status.stdout, 'Registry not running');
  const stop = await runCli(['stop'], { env, cwd: root });
  t.equal(stop.code, 0, stop.stderr);
  t.match(stop.stdout, 'Registry not running');
  t.notOk(existsSync(storage), 'nothing created');
  t.notOk(existsSync(join(root, 'container-registry')), 'and nothing in the current folder');
});

t.test('pki init and script make the storage directory', async (t) => {
  const { root, env } = await user(t);
  const fresh = join(root, 'fresh');
  const init = await runCli(['pki', 'init', '--storage', fresh], { env, cwd: root });
  t.equal(init.code, 0, init.stderr);
  t.ok(existsSync(join(fresh, 'pki', 'ca.crt')));
  const gc = await runCli(['gc', '--storage', fresh, '--settle', '0', '--json'], { env, cwd: root });
  t.equal(gc.code, 0, `gc on an existing storage: ${gc.stderr}`);
  const scripted = join(root, 'scripted');
  const script = await runCli(['script', '--storage', scripted], { env, cwd: root });
  t.equal(script.code, 0, script.stderr);
  t.ok(existsSync(join(scripted, 'container-registry.sh')));
});
