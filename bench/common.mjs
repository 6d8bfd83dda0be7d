// What the benchmarks share: free ports, medians, tar headers, starting ours or Debian's
// docker-registry (CNCF distribution) on a loopback port over a given storage folder, and the CPU
// time of a process tree.
import { spawn } from 'node:child_process';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
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

async function waitForPidFile(path, child) {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    try {
      if (JSON.parse(readFileSync(path, 'utf8')).pid === child.pid) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`container-registry wrote no PID file: ${child.output()}`);
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
 * says, with `serveArgs` such as `--workers 2` and `env` added to its environment; 'distribution':
 * docker-registry with deletes on) over `storage` on a free loopback port. Its config file, for
 * distribution, lies beside `storage`. stop() is SIGTERM, then SIGKILL.
 */
export async function startRegistry(kind, storage, { bundle, nodeArgs = [], serveArgs = [], env: extraEnv = {} } = {}) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let child;
  if (kind === 'ours') {
    const env = { ...process.env, CONTAINER_REGISTRY_SECURE: '', CONTAINER_REGISTRY_AUTH: '', ...extraEnv };
    child = spawnLogged(process.execPath, [...nodeArgs, bundle, 'serve', '--storage', storage, '--listen', `127.0.0.1:${port}`, ...serveArgs], env);
    await waitUp(url, child, 'container-registry');
    // With several workers /v2/ answers once the first listens; the PID file comes when all do.
    await waitForPidFile(join(storage, 'container-registry.pid'), child);
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

/**
 * treeCpu reads the CPU time of a process and its children from /proc (Linux): utime and stime of
 * the process (all its threads), cutime and cstime (children it has reaped), and the same of every
 * live descendant. Seconds, in clock ticks of 1/100 s; user and system apart.
 */
export function treeCpu(pid) {
  const out = { user: 0, system: 0 };
  const seen = new Set();
  const visit = (p, withReaped) => {
    if (seen.has(p)) return;
    seen.add(p);
    let stat;
    try {
      stat = readFileSync(`/proc/${p}/stat`, 'utf8');
    } catch {
      return; // gone: its time is in its parent's cutime/cstime once reaped
    }
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    out.user += (Number(f[11]) + (withReaped ? Number(f[13]) : 0)) / 100;
    out.system += (Number(f[12]) + (withReaped ? Number(f[14]) : 0)) / 100;
    for (const child of childPids(p)) visit(child, true);
  };
  visit(pid, true);
  return { ...out, total: out.user + out.system };
}

function childPids(pid) {
  const pids = [];
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      if (text) pids.push(...text.split(' ').map(Number));
    }
  } catch {
    // gone, or no children file (kernel without CONFIG_PROC_CHILDREN)
  }
  return pids;
}

/** writeBlob stores `data` in an OCI layout's blobs/sha256 folder `dir`; its digest and size. */
export function writeBlob(dir, data) {
  const hex = createHash('sha256').update(data).digest('hex');
  writeFileSync(join(dir, hex), data);
  return { digest: `sha256:${hex}`, size: data.length };
}

/**
 * writeImageLayout completes an OCI layout whose layer blobs are in `layout`/blobs/sha256
 * (`layers`: their descriptors, media type included): an amd64 config, the manifest, oci-layout and
 * an index.json naming it `latest`.
 */
export function writeImageLayout(layout, layers) {
  const blobs = join(layout, 'blobs', 'sha256');
  const config = writeBlob(
    blobs,
    Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: layers.map((d) => d.digest) } })),
  );
  const manifest = writeBlob(
    blobs,
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
        layers,
      }),
    ),
  );
  writeFileSync(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(
    join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': 'latest' } }],
    }),
  );
}

/**
 * parseOptions reads a benchmark's command line: `valued` maps each option that takes a value to
 * what to do with it, `switches` each option without one; --help prints the script's header
 * comment (its first `helpLines` lines, from the file at URL `script`) and exits.
 */
export function parseOptions(argv, { valued = {}, switches = {}, script, helpLines }) {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (Object.hasOwn(valued, a)) {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      valued[a](v);
    } else if (Object.hasOwn(switches, a)) switches[a]();
    else if (a === '--help' || a === '-h') {
      const head = readFileSync(new URL(script), 'utf8')
        .split('\n')
        .slice(1, helpLines + 1);
      process.stdout.write(`${head.join('\n').replace(/^\/\/ ?/gm, '')}\n`);
      process.exit(0);
    } else throw new Error(`unknown option ${a}`);
  }
}

/** randomStream yields `total` incompressible bytes, fast: AES-128-CTR over zeros, `chunk` at a time. */
export async function* randomStream(total, chunk = 1024 * 1024) {
  const cipher = createCipheriv('aes-128-ctr', randomBytes(16), randomBytes(16));
  const zeros = Buffer.alloc(chunk);
  for (let left = total; left > 0; left -= chunk) yield cipher.update(left >= chunk ? zeros : zeros.subarray(0, left));
}

/** randomTar yields a tar of one file `name` of `size` random bytes, each piece also given to `diff` (a hash: the layer's diff id). */
export async function* randomTar(name, size, diff) {
  const header = tarHeader(name, size);
  diff.update(header);
  yield header;
  for await (const c of randomStream(size)) {
    diff.update(c);
    yield c;
  }
  const tail = Buffer.alloc(((512 - (size % 512)) % 512) + 1024);
  diff.update(tail);
  yield tail;
}

/** run runs a command to its end; its wall time and its output (stdout and stderr), or an error with the output's tail. */
export function run(cmd, args, opts = {}) {
  return new Promise((res, rej) => {
    const started = process.hrtime.bigint();
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    child.on('error', rej);
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code !== 0) rej(new Error(`${cmd} ${args.join(' ')} exited ${code}:\n${out.slice(-3000)}`));
      else res({ seconds, out });
    });
  });
}

/** skopeo runs skopeo and tells its wall time and, through /usr/bin/time when present, its CPU time. */
export async function skopeo(args) {
  if (!existsSync('/usr/bin/time')) return { ...(await run('skopeo', args)), cpu: Number.NaN };
  const r = await run('/usr/bin/time', ['-f', 'cpu %U %S', 'skopeo', ...args]);
  const m = /cpu ([\d.]+) ([\d.]+)\s*$/.exec(r.out);
  return { ...r, cpu: m ? Number(m[1]) + Number(m[2]) : Number.NaN };
}
