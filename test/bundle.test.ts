// The helper the layer carries is an entry and a folder of chunks (scripts/build.mjs): the build is
// byte for byte the same from the same sources, and check-bundle finds a chunk that is stale,
// missing, or left from an older build.
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFile, cp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ROOT } from './helpers/registry.js';
import { tempDir } from './helpers/tmp.js';
import { HELPER_CHUNKS, HELPER_NAME } from '../tools/src/script/render.js';

const build = (outdir: string) => execFileSync(process.execPath, ['scripts/build.mjs', '--outdir', outdir], { cwd: ROOT, stdio: 'pipe' });
const check = (dir: string) => spawnSync(process.execPath, ['scripts/check-bundle.mjs', '--helper-dir', dir], { cwd: ROOT, encoding: 'utf8' });

t.test('the build is reproducible, and check-bundle checks every chunk', async (t) => {
  const root = await tempDir(t);
  const fresh = join(root, 'fresh');
  const again = join(root, 'again');
  build(fresh);
  build(again);
  const chunks = (await readdir(join(fresh, HELPER_CHUNKS))).sort();
  t.same((await readdir(join(again, HELPER_CHUNKS))).sort(), chunks, 'the same chunk names');
  for (const f of [HELPER_NAME, ...chunks.map((c) => `${HELPER_CHUNKS}/${c}`)]) {
    if (!(await readFile(join(fresh, f))).equals(await readFile(join(again, f)))) t.fail(`${f} differs between two builds`);
  }
  t.ok(
    chunks.some((c) => /^push-[A-Z0-9]+\.mjs$/.test(c)) && chunks.some((c) => /^server-[A-Z0-9]+\.mjs$/.test(c)),
    'push and the server are chunks of their own',
  );

  t.equal(check(fresh).status, 0, 'a fresh build passes');

  const stale = join(root, 'stale');
  await cp(fresh, stale, { recursive: true });
  const push = chunks.find((c) => c.startsWith('push-'))!;
  await appendFile(join(stale, HELPER_CHUNKS, push), '\n// edited\n');
  let r = check(stale);
  t.equal(r.status, 1, 'a changed chunk fails');
  t.match(r.stderr, `${HELPER_CHUNKS}/${push} differs from a fresh build`);

  await rm(stale, { recursive: true });
  await cp(fresh, stale, { recursive: true });
  await writeFile(join(stale, HELPER_CHUNKS, 'push-OLDBUILD.mjs'), 'export {};\n');
  await rm(join(stale, HELPER_CHUNKS, chunks[0]!));
  r = check(stale);
  t.equal(r.status, 1, 'a chunk left from an older build, or one missing, fails');
  t.match(r.stderr, `${HELPER_CHUNKS}/push-OLDBUILD.mjs is not part of a fresh build`);
  t.match(r.stderr, `${HELPER_CHUNKS}/${chunks[0]} is missing`);

  // The build removes the chunks of the one before (esbuild only adds files).
  await writeFile(join(fresh, HELPER_CHUNKS, 'push-OLDBUILD.mjs'), 'export {};\n');
  build(fresh);
  t.same((await readdir(join(fresh, HELPER_CHUNKS))).sort(), chunks, 'a rebuild leaves no chunk of the build before');
});
