// README.md's "A first push, without Yocto" runs as written: the `sh` blocks of that section, up to
// the output it shows, are read from the README and run by bash in a temp folder. Only what must
// change is changed: the helper's path in the alias (the test does not run at the top of the
// checkout), a free port through CONTAINER_REGISTRY_URL (which the README documents), and a HOME,
// XDG_DATA_HOME, XDG_RUNTIME_DIR and TMPDIR of the test's own. The registry the walkthrough starts
// is stopped at the end.
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BUNDLE, ROOT, runCli } from './helpers/registry.js';
import { freePort } from './helpers/ports.js';
import { tempDir } from './helpers/tmp.js';
import { missingPeer } from './helpers/peers.js';
import { processStartTime } from '../tools/src/daemon/pidfile.js';

const HEADING = '## A first push, without Yocto';
/** HELPER_PATH is how the README's alias names the helper, from the top of the checkout. */
const HELPER_PATH = '$PWD/meta-container-registry/files/container-registry.mjs';

/** walkthrough returns the `sh` blocks of the README's section, up to its first block of another kind. */
function walkthrough(readme: string): string[] {
  const lines = readme.split('\n');
  const start = lines.indexOf(HEADING);
  if (start < 0) return [];
  const blocks: string[] = [];
  let block: string[] | undefined;
  for (const line of lines.slice(start + 1)) {
    if (block) {
      if (line.startsWith('```')) {
        blocks.push(block.join('\n'));
        block = undefined;
      } else block.push(line);
      continue;
    }
    if (/^#{1,2} /.test(line)) break;
    if (line === '```sh') block = [];
    else if (line.startsWith('```')) break;
  }
  return blocks;
}

const skip = missingPeer('umoci');

t.test("the README's first push without Yocto, as written", { skip }, async (t) => {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const blocks = walkthrough(readme);
  t.ok(blocks.length > 0, `sh blocks under "${HEADING}"`);
  const text = blocks.join('\n');
  for (const step of ['container-registry start', 'container-registry push', 'container-registry list']) t.match(text, step, `the walkthrough runs ${step}`);
  t.equal(text.split(HELPER_PATH).length, 2, `the alias names the helper as ${HELPER_PATH}, once`);
  const script = ['shopt -s expand_aliases', 'set -euo pipefail', text.replace(HELPER_PATH, BUNDLE)].join('\n');

  const root = await tempDir(t, 'cr-readme-');
  const env: Record<string, string> = {
    HOME: join(root, 'home'),
    XDG_DATA_HOME: join(root, 'data'),
    XDG_RUNTIME_DIR: join(root, 'run'),
    TMPDIR: join(root, 'tmp'),
    CONTAINER_REGISTRY_URL: `localhost:${await freePort()}`,
    // Every other setting at its default, whatever the environment that runs the tests holds.
    CONTAINER_REGISTRY_STORAGE: '',
    CONTAINER_REGISTRY_LISTEN: '',
    CONTAINER_REGISTRY_NAMESPACE: '',
    CONTAINER_REGISTRY_SECURE: '',
    CONTAINER_REGISTRY_AUTH: '',
    CONTAINER_REGISTRY_TAG_STRATEGY: '',
    CONTAINER_REGISTRY_IMAGES: '',
    DEPLOY_DIR_IMAGE: '',
  };
  const cwd = join(root, 'work');
  for (const d of [env.HOME!, env.XDG_DATA_HOME!, env.XDG_RUNTIME_DIR!, env.TMPDIR!, cwd]) await mkdir(d, { recursive: true, mode: 0o700 });
  const pidFile = join(env.XDG_DATA_HOME!, 'container-registry', 'container-registry.pid');
  t.teardown(async () => {
    await runCli(['stop', '--timeout', '2'], { env, cwd });
    // Whatever happened, nothing the walkthrough started outlives the test.
    const pid = await readFile(pidFile, 'utf8').then(
      (s) => JSON.parse(s).pid as number,
      () => undefined,
    );
    if (pid !== undefined && processStartTime(pid) !== undefined) process.kill(pid, 'SIGKILL');
  });

  const run = await new Promise<{ code: number | null; out: string }>((resolve, reject) => {
    const child = spawn('bash', ['-c', script], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
  t.equal(run.code, 0, `the walkthrough succeeds:\n${run.out}`);
  t.match(run.out, /^Registry (started|already running): http:\/\/127\.0\.0\.1:\d+ /m, 'it starts the registry');
  t.match(run.out, /^Pushed 1 image\(s\)/m, 'it pushes the image');
  t.match(run.out, /^yocto\/container-base: \d{8}-\d{6} latest$/m, 'and lists it');
});
