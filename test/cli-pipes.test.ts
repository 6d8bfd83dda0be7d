// Output piped into a reader that stops early (`inspect IMAGE | head -1`, `list --json | head -2`):
// the helper ends quietly, exit 0 and nothing on stderr, however the race with the reader goes.
import t from 'tap';
import { BUNDLE, startTestRegistry } from './helpers/registry.js';
import { exec } from './helpers/exec.js';
import { makeImage, makeIndex, pushImage, putManifest } from './helpers/images.js';

const reg = await startTestRegistry(t);
// Enough output to come in many writes: repositories with several tags, and a two-platform index
// of many layers to inspect.
for (let r = 0; r < 6; r++) {
  const image = makeImage();
  for (let k = 0; k < 6; k++) await pushImage(reg.url, `yocto/pipe${r}`, `tag${k}`, image);
}
const layers = Array.from({ length: 24 }, (_, i) => [{ name: `f${i}.txt`, content: `layer ${i}\n` }]);
const amd = makeImage({ architecture: 'amd64', layers, labels: { 'org.example.a': '1', 'org.example.b': '2' } });
const arm = makeImage({ architecture: 'arm64', layers, labels: { 'org.example.a': '1', 'org.example.b': '2' } });
await pushImage(reg.url, 'yocto/piped', amd.manifest.digest, amd);
await pushImage(reg.url, 'yocto/piped', arm.manifest.digest, arm);
const index = makeIndex([amd, arm]);
const put = await putManifest(reg.url, 'yocto/piped', 'latest', index);
t.equal(put.status, 201, 'the index is in');

/** pipedRun runs `container-registry ARGS | head -N` in bash and gives the helper's exit status and stderr. */
async function pipedRun(args: string[], lines: number): Promise<{ code: number; stderr: string }> {
  const script = `"${process.execPath}" "$@" | head -${lines} >/dev/null; exit \${PIPESTATUS[0]}`;
  const r = await exec('bash', ['-c', script, 'bash', BUNDLE, ...args, '--registry', reg.host], { timeoutMs: 30_000 });
  return { code: r.code ?? -1, stderr: r.stderr };
}

t.test('a reader that closes the pipe early ends the command quietly', async (t) => {
  const cases: Array<[string[], number]> = [
    [['inspect', 'piped'], 1],
    [['list'], 1],
    [['list', '--json'], 2],
    [['inspect', 'piped', '--json'], 1],
  ];
  const failures: string[] = [];
  for (let i = 0; i < 20; i++) {
    const [args, lines] = cases[i % cases.length]!;
    const r = await pipedRun(args, lines);
    if (r.code !== 0 || r.stderr !== '') failures.push(`${args.join(' ')} | head -${lines}: exit ${r.code}, stderr ${JSON.stringify(r.stderr.split('\n')[0])}`);
  }
  t.same(failures, [], 'every run: exit 0, nothing on stderr');
});
