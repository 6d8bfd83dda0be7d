// The server core (oci/, storage/, registry/) depends on node: builtins and a short named list only,
// so the bundle stays small and the registry has nothing to break at run time.
import t from 'tap';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ROOT } from './helpers/registry.js';

const CORE = ['oci', 'storage', 'registry'];
const ALLOWED = new Set(['execa', 'prom-client', '@homebridge/ciao', 'bcryptjs', 'smol-toml']);

t.test('server core imports', async (t) => {
  for (const dir of CORE) {
    const folder = join(ROOT, 'tools', 'src', dir);
    for (const file of (await readdir(folder)).filter((f) => f.endsWith('.ts'))) {
      const text = await readFile(join(folder, file), 'utf8');
      for (const m of text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+'([^']+)'/gm)) {
        const spec = m[1]!;
        if (spec.startsWith('node:') || spec.startsWith('.')) continue;
        t.ok(ALLOWED.has(spec), `${dir}/${file} imports ${spec}`);
      }
      t.notMatch(text, /from\s+'(?:fs|http|https|crypto|path|os|net|stream)'/, `${dir}/${file} names builtins with node:`);
    }
  }
});
