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
  for (const word of ['serve', 'start', 'stop', 'status', 'gc', 'pki', 'auth', 'push', 'import', 'list', 'tags', 'catalog', 'inspect', 'delete', 'config', 'script']) {
    t.match(r.stdout, new RegExp(`container-registry ${word}\\b`), word);
  }
});
