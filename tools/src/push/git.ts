// Git facts for the sha/git and branch strategies. In order:
//   1. OCI_IMAGE_REVISION / OCI_IMAGE_BRANCH, which override them as they do for the OCI labels
//      ("none": none);
//   2. git at TOPDIR (unset: the current folder), then git at COREBASE (the openembedded-core or
//      poky checkout the build uses; a plain oe-core build folder is never a checkout). The first
//      of them that is a git checkout answers both facts, so a commit and a branch never come from
//      two repositories; a detached HEAD there has no branch;
//   3. METADATA_REVISION / METADATA_BRANCH, what BitBake computed when the script was generated
//      (oe-core writes "<unknown>" when it found none).
// The generated script carries TOPDIR, COREBASE and METADATA_* in its conf (settings/table.ts).
import { readString, type Env } from '../settings/values.js';

async function git(dir: string, args: string[]): Promise<string | undefined> {
  // Loaded here, not at the top: most pushes use no git strategy, and execa costs ~10 ms to load.
  const { execa } = await import('execa');
  const r = await execa('git', ['-C', dir, ...args], { reject: false, timeout: 10_000 });
  return r.exitCode === 0 ? String(r.stdout).trim() || undefined : undefined;
}

/** override reads OCI_IMAGE_REVISION / OCI_IMAGE_BRANCH: unset is undefined, "none" is `{ value: undefined }`. */
function override(env: Env, name: 'OCI_IMAGE_REVISION' | 'OCI_IMAGE_BRANCH'): { value: string | undefined } | undefined {
  const o = readString(env, name)?.trim();
  if (!o) return undefined;
  return { value: o === 'none' ? undefined : o };
}

/** computed reads what BitBake computed (METADATA_*): "<unknown>", "unknown" and "HEAD" (detached) are none. */
function computed(env: Env, name: 'METADATA_REVISION' | 'METADATA_BRANCH'): string | undefined {
  const v = readString(env, name)?.trim();
  return !v || ['<unknown>', 'unknown', 'HEAD'].includes(v) ? undefined : v;
}

/** checkouts are the folders asked, in order: TOPDIR (else the current folder), then COREBASE. */
function checkouts(env: Env): string[] {
  const dirs = [readString(env, 'TOPDIR') ?? process.cwd()];
  const corebase = readString(env, 'COREBASE');
  if (corebase && !dirs.includes(corebase)) dirs.push(corebase);
  return dirs;
}

/** GitCheckout is the first checkout that answered: its folder and short commit. */
interface GitCheckout {
  dir: string;
  commit: string;
}

/** findCheckout asks each folder of checkouts() in turn; undefined when none is a git checkout with a commit. */
async function findCheckout(env: Env): Promise<GitCheckout | undefined> {
  for (const dir of checkouts(env)) {
    const commit = await git(dir, ['rev-parse', '--short=7', 'HEAD']);
    if (commit) return { dir, commit };
  }
  return undefined;
}

/** GitFacts finds the commit and the branch once per run (both strategies ask the same checkout). */
export class GitFacts {
  private found: Promise<GitCheckout | undefined> | undefined;

  constructor(private readonly env: Env = process.env) {}

  private checkout(): Promise<GitCheckout | undefined> {
    return (this.found ??= findCheckout(this.env));
  }

  /** commit gives the short commit (7 characters), or undefined when nothing gives one. */
  async commit(): Promise<string | undefined> {
    const o = override(this.env, 'OCI_IMAGE_REVISION');
    if (o) return o.value?.slice(0, 7);
    const c = await this.checkout();
    if (c) return c.commit;
    return computed(this.env, 'METADATA_REVISION')?.slice(0, 7);
  }

  /** branch gives the branch, or undefined (a detached HEAD, or nothing gives one). */
  async branch(): Promise<string | undefined> {
    const o = override(this.env, 'OCI_IMAGE_BRANCH');
    if (o) return o.value;
    const c = await this.checkout();
    if (!c) return computed(this.env, 'METADATA_BRANCH');
    const branch = await git(c.dir, ['rev-parse', '--abbrev-ref', 'HEAD']);
    return branch === 'HEAD' ? undefined : branch;
  }
}
