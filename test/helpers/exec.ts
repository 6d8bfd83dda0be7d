// Runs a peer program (skopeo, podman, ctr, ...) and collects its exit code and output.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** ExecResult is what a finished program left. */
export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** exec runs `cmd args` with no shell; it is killed after `timeoutMs`. */
export function exec(cmd: string, args: string[], opts: { env?: Record<string, string>; timeoutMs?: number; cwd?: string } = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env }, cwd: opts.cwd });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** mustExec runs like exec and throws with the output when the exit code is not 0. */
export async function mustExec(cmd: string, args: string[], opts: Parameters<typeof exec>[2] = {}): Promise<ExecResult> {
  const r = await exec(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}:\n${r.stderr}${r.stdout}`);
  return r;
}

/** fileDigest streams a file through sha256 (or sha512) and returns `alg:hex`. */
export async function fileDigest(path: string, algorithm: 'sha256' | 'sha512' = 'sha256'): Promise<string> {
  const h = createHash(algorithm);
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return `${algorithm}:${h.digest('hex')}`;
}
