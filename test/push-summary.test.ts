// What push says it did when a tag already held other platforms: the summary (text and --json)
// names what the tag holds afterwards (the merged index: its digest, media type and platforms),
// beside what this run pushed.
import t from 'tap';
import { join } from 'node:path';
import { startTestRegistry, runCli } from './helpers/registry.js';
import { writeBuild } from './helpers/deploy.js';
import { tempDir } from './helpers/tmp.js';

const reg = await startTestRegistry(t);
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

interface Result {
  repository: string;
  tags: string[];
  digest: string;
  mediaType: string;
  platforms: string[];
  tagDigests: Record<string, string>;
  tagged: Record<string, { digest: string; mediaType: string; platforms: string[] }>;
}

/** twoMachines writes amd64 and arm64 builds of `image` into two separate deploy trees (two builds, two runs). */
async function twoMachines(t: { teardown(fn: () => unknown): void }, image: string): Promise<{ x86: string; arm: string; armDigest: string }> {
  const one = await tempDir(t);
  const two = await tempDir(t);
  await writeBuild(join(one, 'images'), { machine: 'qemux86-64', image, stamp: '20260112143022' });
  const arm = await writeBuild(join(two, 'images'), { machine: 'qemuarm64', image, stamp: '20260112150000', architecture: 'arm64' });
  return { x86: join(one, 'images', 'qemux86-64'), arm: join(two, 'images', 'qemuarm64'), armDigest: arm.image.manifest.digest };
}

async function indexDigest(image: string, tag: string): Promise<string> {
  const r = await runCli(['inspect', `${image}:${tag}`, '--json', '--registry', reg.host]);
  const info = JSON.parse(r.stdout) as { digest: string; mediaType: string };
  if (info.mediaType !== OCI_INDEX) throw new Error(`${image}:${tag} is ${info.mediaType}`);
  return info.digest;
}

t.test('--json: the second machine run reports the merged index the tag holds', async (t) => {
  const m = await twoMachines(t, 'duojson');
  const first = await runCli(['push', 'duojson', '-t', 'v1', '--json', '--registry', reg.host, '--deploy-dir', m.x86]);
  t.equal(first.code, 0, first.stderr);
  const one = (JSON.parse(first.stdout) as { results: Result[] }).results[0]!;
  t.same(one.tagged, { v1: { digest: one.digest, mediaType: OCI_MANIFEST, platforms: ['linux/amd64'] } }, 'one platform: the tag holds what was pushed');

  const second = await runCli(['push', 'duojson', '-t', 'v1', '--json', '--registry', reg.host, '--deploy-dir', m.arm]);
  t.equal(second.code, 0, second.stderr);
  const r = (JSON.parse(second.stdout) as { results: Result[] }).results[0]!;
  const index = await indexDigest('duojson', 'v1');
  // In the index's order: this run's platforms first, then those the tag kept.
  t.same(r.tagged.v1, { digest: index, mediaType: OCI_INDEX, platforms: ['linux/arm64', 'linux/amd64'] }, 'the tag: the index, both platforms');
  t.equal(r.tagDigests.v1, index, 'tagDigests kept');
  t.equal(r.digest, m.armDigest, 'digest: what this run pushed (the arm64 manifest)');
  t.same(r.platforms, ['linux/arm64'], 'platforms: what this run pushed');
});

t.test('text: the second machine run names the index digest and both platforms', async (t) => {
  const m = await twoMachines(t, 'duotext');
  const first = await runCli(['push', 'duotext', '-t', 'v1', '--registry', reg.host, '--deploy-dir', m.x86]);
  t.equal(first.code, 0, first.stderr);
  const second = await runCli(['push', 'duotext', '-t', 'v1', '--registry', reg.host, '--deploy-dir', m.arm]);
  t.equal(second.code, 0, second.stderr);
  const index = await indexDigest('duotext', 'v1');
  const line = second.stdout.split('\n').find((l) => l.startsWith(`${reg.host}/yocto/duotext:`));
  t.ok(line, second.stdout);
  t.equal(
    line,
    `${reg.host}/yocto/duotext: v1 ${index} (linux/arm64, linux/amd64; OCI index, merged: this run pushed linux/arm64)`,
    'the tag, the index digest, its media type, both platforms, and what this run added',
  );
  t.notMatch(second.stdout, new RegExp(`duotext: v1 ${m.armDigest}`), 'not the arm64 manifest as if the tag held it');
});

t.test('tags of one run that end up holding different things get a line each', async (t) => {
  const m = await twoMachines(t, 'duosplit');
  const first = await runCli(['push', 'duosplit', '-t', 'latest', '--registry', reg.host, '--deploy-dir', m.x86]);
  t.equal(first.code, 0, first.stderr);
  const second = await runCli(['push', 'duosplit', '-t', 'latest', '-t', 'arm-only', '--registry', reg.host, '--deploy-dir', m.arm, '--json']);
  t.equal(second.code, 0, second.stderr);
  const r = (JSON.parse(second.stdout) as { results: Result[] }).results[0]!;
  t.equal(r.tagged['arm-only']!.digest, m.armDigest);
  t.same(r.tagged['arm-only']!.platforms, ['linux/arm64']);
  t.same(r.tagged.latest!.platforms, ['linux/arm64', 'linux/amd64']);
  const third = await runCli(['push', 'duosplit', '-t', 'latest', '-t', 'arm-only', '--registry', reg.host, '--deploy-dir', m.arm]);
  t.equal(third.code, 0, third.stderr);
  t.match(third.stdout, `${reg.host}/yocto/duosplit: latest ${r.tagged.latest!.digest} (linux/arm64, linux/amd64; OCI index, merged`);
  t.match(third.stdout, `${reg.host}/yocto/duosplit: arm-only ${m.armDigest} (linux/arm64)`);
});
