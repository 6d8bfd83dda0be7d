// settings-python: writes the layer's Python data file (lib/containerregistry/variables.py) from the
// settings table (tools/src/settings/table.ts), so the Python keeps its own rules but not its own
// list. Run by build.mjs; the output is deterministic and checked in, and
// test/settings-table.test.ts fails when the committed copy differs from the table.
import { build } from 'esbuild';
import { readFile, writeFile } from 'node:fs/promises';

const bundled = await build({
  entryPoints: ['tools/src/settings/layer.ts'],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  write: false,
  logLevel: 'warning',
});
const layer = await import(`data:text/javascript;base64,${Buffer.from(bundled.outputFiles[0].text).toString('base64')}`);
const out = layer.PYTHON_VARIABLES_PATH;
const body = layer.renderPythonVariables();
let old = '';
try {
  old = await readFile(out, 'utf8');
} catch {
  // first run
}
if (old !== body) await writeFile(out, body);
