// check-bundle: fails when a committed build output differs from a fresh build of the sources: the
// helper bundle, and the layer's Python data file generated from the settings table.
import { execFileSync } from 'node:child_process';
import { readFileSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

const outputs = ['meta-container-registry/files/container-registry.mjs', 'meta-container-registry/lib/containerregistry/variables.py'];
const dir = mkdtempSync(join(tmpdir(), 'bundle-check-'));
const saved = outputs.map((file, i) => {
  const copy = join(dir, `committed-${i}`);
  copyFileSync(file, copy);
  return copy;
});
try {
  execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
  outputs.forEach((file, i) => {
    if (!readFileSync(file).equals(readFileSync(saved[i]))) {
      console.error(`check-bundle: ${file} is stale; run \`npm run build\` and commit it`);
      process.exitCode = 1;
    }
  });
} finally {
  for (const [i, file] of outputs.entries()) copyFileSync(saved[i], file);
  rmSync(dir, { recursive: true, force: true });
}
