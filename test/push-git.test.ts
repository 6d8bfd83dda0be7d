// Where the sha/git and branch strategies get their facts, in order: OCI_IMAGE_REVISION /
// OCI_IMAGE_BRANCH, git at TOPDIR, git at COREBASE (the first checkout answers both), then what
// BitBake computed (METADATA_REVISION / METADATA_BRANCH). Real git in temp folders.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GitFacts } from '../tools/src/push/git.js';
import { tempDir } from './helpers/tmp.js';

const GIT_ENV = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com' };
const git = (dir: string, ...args: string[]) => execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8', env: GIT_ENV }).trim();

/** repo makes a git checkout with one commit on `branch`, and gives its short commit. */
async function repo(dir: string, branch: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  git(dir, 'init', '-q', '-b', branch);
  await writeFile(join(dir, 'f'), dir);
  git(dir, 'add', 'f');
  git(dir, 'commit', '-q', '-m', 'one');
  return git(dir, 'rev-parse', '--short=7', 'HEAD');
}

const facts = async (env: Record<string, string>) => {
  const f = new GitFacts(env);
  return { commit: await f.commit(), branch: await f.branch() };
};

t.test('the order: overrides, git at TOPDIR, git at COREBASE, METADATA_*', async (t) => {
  const root = await tempDir(t, 'cr-git-');
  const build = join(root, 'build');
  await mkdir(build);
  const corebase = join(root, 'openembedded-core');
  const core = await repo(corebase, 'scarthgap');
  const topRepo = join(root, 'project');
  const top = await repo(topRepo, 'main');
  const computed = { METADATA_REVISION: '0123456789abcdef0123456789abcdef01234567', METADATA_BRANCH: 'kirkstone' };

  t.same(await facts({ TOPDIR: build, COREBASE: corebase, ...computed }), { commit: core, branch: 'scarthgap' }, 'a build folder outside git: COREBASE');
  t.same(await facts({ TOPDIR: topRepo, COREBASE: corebase, ...computed }), { commit: top, branch: 'main' }, 'TOPDIR first when it is a checkout');
  t.same(await facts({ TOPDIR: build, COREBASE: join(root, 'missing'), ...computed }), { commit: '0123456', branch: 'kirkstone' }, 'no checkout: METADATA_*');
  t.same(await facts({ TOPDIR: build, COREBASE: build }), { commit: undefined, branch: undefined }, 'nothing at all');
  t.same(
    await facts({ TOPDIR: build, METADATA_REVISION: '<unknown>', METADATA_BRANCH: '<unknown>' }),
    { commit: undefined, branch: undefined },
    "oe-core's <unknown> is none",
  );
  t.same(await facts({ TOPDIR: build, METADATA_REVISION: 'unknown', METADATA_BRANCH: 'HEAD' }), { commit: undefined, branch: undefined }, 'unknown, HEAD');
  t.same(
    await facts({ TOPDIR: build, COREBASE: corebase, OCI_IMAGE_REVISION: 'fedcba9876', OCI_IMAGE_BRANCH: 'release/1' }),
    { commit: 'fedcba9', branch: 'release/1' },
    'the overrides win',
  );
  t.same(await facts({ TOPDIR: topRepo, OCI_IMAGE_REVISION: 'none', OCI_IMAGE_BRANCH: 'none' }), { commit: undefined, branch: undefined }, '"none" is none');

  // A detached HEAD at TOPDIR has no branch; COREBASE's is not taken for it (one checkout answers both).
  git(topRepo, 'checkout', '-q', '--detach');
  t.same(await facts({ TOPDIR: topRepo, COREBASE: corebase, ...computed }), { commit: top, branch: undefined }, 'detached: a commit, no branch');
});
