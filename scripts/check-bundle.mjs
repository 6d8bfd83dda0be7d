// check-bundle: fails when the committed helper bundle differs from a fresh build of the sources.
import { execFileSync } from 'node:child_process';
import { readFileSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

const bundle = 'meta-container-registry/files/container-registry.mjs';
const dir = mkdtempSync(join(tmpdir(), 'bundle-check-'));
const saved = join(dir, 'committed.mjs');
copyFileSync(bundle, saved);
try {
  execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
  const fresh = readFileSync(bundle);
  const committed = readFileSync(saved);
  if (!fresh.equals(committed)) {
    console.error(`check-bundle: ${bundle} is stale; run \`npm run build\` and commit it`);
    process.exitCode = 1;
  }
} finally {
  copyFileSync(saved, bundle);
  rmSync(dir, { recursive: true, force: true });
}
