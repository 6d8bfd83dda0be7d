// A private containerd for a test: its own root, state and socket under a temp folder, stopped at
// teardown (root only, like every containerd).
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exec } from './exec.js';
import { waitFor } from './ports.js';

/** startContainerd runs a private containerd (root, state and socket under `dir`). */
export async function startContainerd(t: { teardown(fn: () => unknown): void }, dir: string): Promise<string> {
  const sock = join(dir, 'containerd.sock');
  const config = join(dir, 'config.toml');
  await writeFile(
    config,
    [
      'version = 2',
      `root = "${join(dir, 'root')}"`,
      `state = "${join(dir, 'state')}"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      '[grpc]',
      `  address = "${sock}"`,
      '[ttrpc]',
      `  address = "${sock}.ttrpc"`,
      '[debug]',
      '  address = ""',
      '[metrics]',
      '  address = ""',
      '',
    ].join('\n'),
  );
  let log = '';
  const child = spawn('containerd', ['--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (c: Buffer) => (log += c.toString()));
  child.stderr.on('data', (c: Buffer) => (log += c.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  let gone = false;
  void exited.then(() => (gone = true));
  t.teardown(async () => {
    if (!gone) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  });
  await waitFor(
    async () => {
      if (gone) throw new Error(`containerd exited:\n${log.slice(-2000)}`);
      return (await exec('ctr', ['--address', sock, 'version'], { timeoutMs: 5000 })).code === 0;
    },
    20_000,
    'containerd to answer',
  );
  return sock;
}
