// The helper reports the package's version, so a bundle in a layer says which source it came from.
import t from 'tap';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ROOT, runCli } from './helpers/registry.js';

t.test('--version equals package.json', async (t) => {
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const r = await runCli(['--version']);
  t.equal(r.code, 0);
  t.equal(r.stdout.trim(), pkg.version);
});

t.test('--help lists every command, wrapped', async (t) => {
  const r = await runCli(['--help'], { env: { COLUMNS: '100' } });
  t.equal(r.code, 0);
  for (const word of [
    'serve',
    'start',
    'stop',
    'status',
    'gc',
    'pki',
    'auth',
    'push',
    'import',
    'list',
    'tags',
    'catalog',
    'inspect',
    'delete',
    'config',
    'script',
  ]) {
    t.match(r.stdout, new RegExp(`container-registry ${word}\\b`), word);
  }
});

t.test("a command's --help lays its options out in aligned columns", async (t) => {
  // The build loads string-width lazily (scripts/build.mjs); help must still measure text right.
  const r = await runCli(['push', '--help']);
  t.equal(r.code, 0);
  const typed = r.stdout.split('\n').filter((line) => /\[(string|boolean|number|array)\]$/.test(line));
  t.ok(typed.length >= 5, `${typed.length} option lines end with their type`);
  t.equal(new Set(typed.map((line) => line.length)).size, 1, 'every type annotation ends in the same column');
});

t.test('a usage error is one line on stderr, exit code 2, no help text', async (t) => {
  // yargs' help cache is skipped when a command runs (tools/src/cli.ts); errors must not need it.
  const r = await runCli(['push', '--no-such-flag']);
  t.equal(r.code, 2);
  t.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  t.match(r.stderr, /error \[usage\]: Unknown argument/);
  t.notMatch(r.stderr, /Options:/);
  t.equal(r.stdout, '');
});

t.test('--version: the helper before a command word; on push, the image version, which needs a value', async (t) => {
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  for (const args of [['--version'], ['--version', 'push'], ['--version', 'list']]) {
    const r = await runCli(args, { env: { DEPLOY_DIR_IMAGE: '' } });
    t.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    t.equal(r.stdout.trim(), pkg.version, `${args.join(' ')} prints the helper's version`);
  }
  t.equal((await runCli(['list', '--version'])).stdout.trim(), pkg.version, 'after another command word too');
  for (const args of [
    ['push', '--version'],
    ['push', '-v'],
    ['push', '--version', '--json'],
  ]) {
    const r = await runCli(args, { env: { DEPLOY_DIR_IMAGE: '/nonexistent' } });
    t.equal(r.code, 2, `${args.join(' ')}: exit 2`);
    t.equal(r.stderr.trim().split('\n').length, 1, `${args.join(' ')}: one line`);
    t.match(
      r.stderr,
      /^container-registry: error \[usage\]: .*image version.*container-registry --version/,
      `${args.join(' ')}: says which --version is which`,
    );
  }
  const help = await runCli(['push', '--help']);
  t.match(help.stdout, /-v, --version .*container-registry --version/s, "push --help names the helper's --version");
});

t.test('--jobs is an option of the commands that upload (push, import) only', async (t) => {
  for (const cmd of ['push', 'import']) t.match((await runCli([cmd, '--help'])).stdout, /--jobs/, `${cmd} --help has --jobs`);
  for (const cmd of ['list', 'tags', 'catalog', 'inspect', 'delete'])
    t.notMatch((await runCli([cmd, '--help'])).stdout, /--jobs/, `${cmd} --help has no --jobs`);
});
