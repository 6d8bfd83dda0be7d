// The real server on a small tmpfs of its own, in a private mount namespace (root only): a real
// full or read-only disk, invisible to the rest of the machine.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { BUNDLE } from './registry.js';
import { freePort, waitFor } from './ports.js';
import { tempDir } from './tmp.js';
import { isRoot, which } from './peers.js';

const run = promisify(execFile);

/** TMPFS_SKIP is the reason these tests cannot run here, or false. */
export const TMPFS_SKIP: string | false = !isRoot()
  ? 'needs root (mount namespaces and tmpfs mounts)'
  : !which('unshare') || !which('nsenter')
    ? 'needs unshare and nsenter (Debian package util-linux)'
    : false;

/** TmpfsServer is a server whose storage is a tmpfs only its namespace sees. */
export interface TmpfsServer {
  base: string;
  storage: string;
  child: ChildProcess;
  output(): string;
  /** inNs runs a command inside the server's mount namespace (where the tmpfs is). */
  inNs(...args: string[]): Promise<{ stdout: string; stderr: string }>;
}

/** startTmpfsServer mounts a tmpfs of `sizeMiB` over a temp folder and runs `serve` on it; killed at teardown. */
export async function startTmpfsServer(t: { teardown(fn: () => unknown): void }, sizeMiB: number, prefix = 'cr-tmpfs-'): Promise<TmpfsServer> {
  const storage = await tempDir(t, prefix);
  const port = await freePort();
  let out = '';
  // unshare execs sh, which execs node: the child's pid is the server's, inside the namespace.
  const child = spawn(
    'unshare',
    [
      '-m',
      '--propagation',
      'private',
      'sh',
      '-c',
      `mount -t tmpfs -o size=${sizeMiB}m tmpfs "$1" && exec "$2" "$3" serve --storage "$1" --listen "$4" --min-free-disk 1`,
      'sh',
      storage,
      process.execPath,
      BUNDLE,
      `127.0.0.1:${port}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise((r) => child.once('exit', r));
  t.teardown(async () => {
    child.kill('SIGKILL');
    await exited;
  });
  const base = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${base}/healthz`)).status === 200, 15_000, 'the server').catch((err) => {
    throw new Error(`${(err as Error).message}\n${out}`);
  });
  return { base, storage, child, output: () => out, inNs: (...args) => run('nsenter', ['-t', String(child.pid), '-m', ...args]) };
}
