// check-bundle: fails when a committed build output differs from a fresh build of the sources: the
// helper (its entry and every chunk: a changed, missing or extra file is stale), and the layer's
// Python data file generated from the settings table.
//
//   node scripts/check-bundle.mjs [--helper-dir DIR]   (default meta-container-registry/files; the tests check a copy)
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { bundleFiles } from './bundle-files.mjs';

const at = process.argv.indexOf('--helper-dir');
const HELPER_DIR = at > 0 ? process.argv[at + 1] : 'meta-container-registry/files';
const PYTHON = 'meta-container-registry/lib/containerregistry/variables.py';

const dir = mkdtempSync(join(tmpdir(), 'bundle-check-'));
const savedPython = join(dir, 'variables.py');
copyFileSync(PYTHON, savedPython);
const fresh = join(dir, 'files');
const stale = [];
try {
  // The helper is built into a folder of its own, so the committed one is never touched; the build
  // also regenerates variables.py in place, which is compared, then put back as it was.
  execFileSync(process.execPath, ['scripts/build.mjs', '--outdir', fresh], { stdio: 'inherit' });
  const committed = bundleFiles(HELPER_DIR);
  const built = bundleFiles(fresh);
  for (const file of new Set([...committed, ...built])) {
    const a = join(HELPER_DIR, file);
    const b = join(fresh, file);
    if (!existsSync(a)) stale.push(`${a} is missing`);
    else if (!existsSync(b)) stale.push(`${a} is not part of a fresh build (left from an older one)`);
    else if (!readFileSync(a).equals(readFileSync(b))) stale.push(`${a} differs from a fresh build`);
  }
  if (!readFileSync(PYTHON).equals(readFileSync(savedPython))) stale.push(`${PYTHON} differs from a fresh build`);
} finally {
  copyFileSync(savedPython, PYTHON);
  rmSync(dir, { recursive: true, force: true });
}
for (const line of stale) console.error(`check-bundle: ${line}`);
if (stale.length) {
  console.error(`check-bundle: the committed helper is stale; run \`npm run build\` and commit ${HELPER_DIR}`);
  process.exitCode = 1;
}
