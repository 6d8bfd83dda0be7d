// Git facts for the sha/git and branch strategies, read from TOPDIR (else the current folder).
// OCI_IMAGE_REVISION / OCI_IMAGE_BRANCH override them, as they do for the OCI labels.
import { readString, type Env } from '../settings/values.js';

async function git(dir: string, args: string[]): Promise<string | undefined> {
  // Loaded here, not at the top: most pushes use no git strategy, and execa costs ~10 ms to load.
  const { execa } = await import('execa');
  const r = await execa('git', ['-C', dir, ...args], { reject: false, timeout: 10_000 });
  return r.exitCode === 0 ? String(r.stdout).trim() || undefined : undefined;
}

/** gitCommit gives the short commit (OCI_IMAGE_REVISION wins; "none" means none). */
export async function gitCommit(env: Env = process.env, dir = readString(env, 'TOPDIR') ?? process.cwd()): Promise<string | undefined> {
  const o = readString(env, 'OCI_IMAGE_REVISION');
  if (o) return o === 'none' ? undefined : o.slice(0, 7);
  return git(dir, ['rev-parse', '--short=7', 'HEAD']);
}

/** gitBranch gives the branch (OCI_IMAGE_BRANCH wins); a detached HEAD has none. */
export async function gitBranch(env: Env = process.env, dir = readString(env, 'TOPDIR') ?? process.cwd()): Promise<string | undefined> {
  const o = readString(env, 'OCI_IMAGE_BRANCH');
  if (o) return o === 'none' ? undefined : o;
  const b = await git(dir, ['rev-parse', '--abbrev-ref', 'HEAD']);
  return b === 'HEAD' ? undefined : b;
}
