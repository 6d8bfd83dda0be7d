// What the benchmarks share: free ports, medians, tar headers, and starting ours or Debian's
// docker-registry (CNCF distribution) on a loopback port over a given storage folder.
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { basename, dirname, join } from 'node:path';

/** freePort asks the kernel for a free loopback port. */
export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.on('error', rej);
    s.listen({ host: '127.0.0.1', port: 0 }, () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

/** median of numbers; the mean of the two middle ones for an even count. */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** tarHeader is a ustar header for a regular file of `size` bytes (mode 0644, uid/gid/mtime 0). */
export function tarHeader(name, size) {
  const h = Buffer.alloc(512, 0);
  h.write(name, 0, 100, 'utf8');
  h.write('0000644\0', 100, 8, 'ascii');
  h.write('0000000\0', 108, 8, 'ascii');
  h.write('0000000\0', 116, 8, 'ascii');
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 12, 'ascii');
  h.write(`${'0'.padStart(11, '0')}\0`, 136, 12, 'ascii');
  h.write('        ', 148, 8, 'ascii');
  h.write('0', 156, 1, 'ascii');
  h.write('ustar\0', 257, 6, 'ascii');
  h.write('00', 263, 2, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return h;
}

function spawnLogged(cmd, args, env) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  child.stdout.on('data', (c) => (out = (out + c).slice(-20_000)));
  child.stderr.on('data', (c) => (out = (out + c).slice(-20_000)));
  child.output = () => out;
  child.exited = new Promise((r) => child.once('exit', r));
  return child;
}

async function waitUp(url, child, what) {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited: ${child.output()}`);
    try {
      const r = await fetch(`${url}/v2/`);
      await r.arrayBuffer();
      if (r.status === 200) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} did not answer: ${child.output()}`);
}

async function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await child.exited;
  clearTimeout(t);
}

/**
 * startRegistry runs `kind` ('ours': the bundle's `serve`, plain HTTP whatever the environment
 * says; 'distribution': docker-registry with deletes on) over `storage` on a free loopback port.
 * Its config file, for distribution, lies beside `storage`. stop() is SIGTERM, then SIGKILL.
 */
export async function startRegistry(kind, storage, { bundle, nodeArgs = [] } = {}) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let child;
  if (kind === 'ours') {
    const env = { ...process.env, CONTAINER_REGISTRY_SECURE: '', CONTAINER_REGISTRY_AUTH: '' };
    child = spawnLogged(process.execPath, [...nodeArgs, bundle, 'serve', '--storage', storage, '--listen', `127.0.0.1:${port}`], env);
    await waitUp(url, child, 'container-registry');
  } else if (kind === 'distribution') {
    const config = join(dirname(storage), `${basename(storage)}-distribution.yml`);
    await writeFile(
      config,
      [
        'version: 0.1',
        'log:',
        '  level: error',
        '  accesslog:',
        '    disabled: true',
        'storage:',
        '  filesystem:',
        `    rootdirectory: ${storage}`,
        '  delete:',
        '    enabled: true',
        'http:',
        `  addr: 127.0.0.1:${port}`,
        '',
      ].join('\n'),
    );
    child = spawnLogged('docker-registry', ['serve', config], process.env);
    await waitUp(url, child, 'docker-registry');
  } else {
    throw new Error(`unknown registry ${kind}`);
  }
  return { url, host: `127.0.0.1:${port}`, pid: child.pid, stop: () => stopChild(child) };
}
