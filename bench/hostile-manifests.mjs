#!/usr/bin/env node
// Memory under stored manifests, against the built bundle: --count distinct manifests of about
// --mib MiB each (default 2,000 of 4 MiB: 8 GB of writes), all referrers of one image, are PUT into a
// fresh server; then every one is read back, the referrers API is called, and `gc --dry-run
// --delete-untagged` runs over the storage. Printed: the server's RSS now and at its peak (VmRSS,
// VmHWM from /proc) after each step, gc's peak RSS, the same gc pass of distribution's
// `docker-registry garbage-collect --dry-run` when it is installed, and the peak RSS of a
// `backup create` of the storage into a folder (`--backup`: it writes the 8 GB again).
//
// Usage: npm run build && node bench/hostile-manifests.mjs [--count 2000] [--mib 4] [--workdir DIR] [--keep] [--backup]
// Plain node, no dependencies; Linux (/proc).
import { createHash, randomBytes } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRegistry } from './common.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BUNDLE = join(ROOT, 'meta-container-registry', 'files', 'container-registry.mjs');
const MiB = 1024 * 1024;
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

function parseArgs(argv) {
  const o = { count: 2000, mib: 4, workdir: undefined, keep: false, backup: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--count') o.count = Number(argv[++i]);
    else if (a === '--mib') o.mib = Number(argv[++i]);
    else if (a === '--workdir') o.workdir = argv[++i];
    else if (a === '--keep') o.keep = true;
    else if (a === '--backup') o.backup = true;
    else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

const sha256 = (data) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

function memory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
}

/** peakOf runs a command and samples its RSS every 50 ms; returns the peak in MiB and the exit code. */
function peakOf(cmd, args, env = process.env) {
  return new Promise((done) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
    let err = '';
    child.stderr.on('data', (c) => (err += c));
    let peak = 0;
    const timer = setInterval(() => {
      try {
        peak = Math.max(peak, memory(child.pid).hwm);
      } catch {
        // exited
      }
    }, 50);
    child.on('exit', (code) => {
      clearInterval(timer);
      done({ peak, code, err: err.slice(-400) });
    });
  });
}

async function put(url, path, body, contentType) {
  const r = await fetch(`${url}${path}`, { method: 'PUT', headers: { 'Content-Type': contentType }, body });
  await r.arrayBuffer();
  if (r.status !== 201) throw new Error(`PUT ${path}: ${r.status}`);
}

const o = parseArgs(process.argv.slice(2));
const work = o.workdir ?? (await mkdtemp(join(tmpdir(), 'cr-bench-manifests-')));
const storage = join(work, 'storage');
const fmt = (m) => `${m.rss.toFixed(0)} MiB now, ${m.hwm.toFixed(0)} MiB peak`;
const reg = await startRegistry('ours', storage, { bundle: BUNDLE });
try {
  // One image (config + one layer) to refer to.
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  const layer = randomBytes(1024);
  for (const b of [config, layer]) {
    const r = await fetch(`${reg.url}/v2/bench/heap/blobs/uploads/?digest=${sha256(b)}`, { method: 'POST', body: b });
    if (r.status !== 201) throw new Error(`blob: ${r.status}`);
  }
  const descriptor = (b, mediaType, extra = {}) => ({ mediaType, digest: sha256(b), size: b.length, ...extra });
  const base = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: descriptor(config, 'application/vnd.oci.image.config.v1+json'),
      layers: [descriptor(layer, 'application/vnd.oci.image.layer.v1.tar')],
    }),
  );
  await put(reg.url, '/v2/bench/heap/manifests/base', base, OCI_MANIFEST);
  const subject = descriptor(base, OCI_MANIFEST);
  const pad = 'p'.repeat(o.mib * MiB - 4096);
  console.log(`server pid ${reg.pid}, start: ${fmt(memory(reg.pid))}`);
  const digests = [];
  const started = Date.now();
  for (let i = 0; i < o.count; i++) {
    // The bulk in a layer annotation: each manifest is --mib MiB, the referrers answer stays small.
    const body = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType: 'application/vnd.example.big',
        config: descriptor(config, 'application/vnd.oci.image.config.v1+json'),
        layers: [descriptor(layer, 'application/vnd.oci.image.layer.v1.tar', { annotations: { n: String(i), pad } })],
        subject,
      }),
    );
    const d = sha256(body);
    await put(reg.url, `/v2/bench/heap/manifests/${d}`, body, OCI_MANIFEST);
    digests.push(d);
    if ((i + 1) % 250 === 0) console.log(`  ${i + 1} manifests PUT (${((Date.now() - started) / 1000).toFixed(0)} s): ${fmt(memory(reg.pid))}`);
  }
  console.log(`after ${o.count} PUTs: ${fmt(memory(reg.pid))}`);
  for (const d of digests) {
    const r = await fetch(`${reg.url}/v2/bench/heap/manifests/${d}`);
    await r.arrayBuffer();
    if (r.status !== 200) throw new Error(`GET ${d}: ${r.status}`);
  }
  console.log(`after ${o.count} GETs: ${fmt(memory(reg.pid))}`);
  let t0 = Date.now();
  const ref = await fetch(`${reg.url}/v2/bench/heap/referrers/${sha256(base)}`);
  const index = await ref.json();
  console.log(`referrers (first call): ${ref.status}, ${index.manifests.length} listed, ${Date.now() - t0} ms; ${fmt(memory(reg.pid))}`);
  t0 = Date.now();
  await (await fetch(`${reg.url}/v2/bench/heap/referrers/${sha256(base)}`)).arrayBuffer();
  console.log(`referrers (second call): ${Date.now() - t0} ms; ${fmt(memory(reg.pid))}`);
  const gc = await peakOf(process.execPath, [BUNDLE, 'gc', '--storage', storage, '--dry-run', '--delete-untagged', '--json']);
  console.log(`gc --dry-run --delete-untagged: exit ${gc.code}, peak RSS ${gc.peak.toFixed(0)} MiB${gc.code ? ` ${gc.err}` : ''}`);
  if (spawnSync('sh', ['-c', 'command -v docker-registry']).status === 0) {
    const cfg = join(work, 'distribution.yml');
    await writeFile(cfg, `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${storage}\n`);
    const dist = await peakOf('docker-registry', ['garbage-collect', '--dry-run', cfg]);
    console.log(`docker-registry garbage-collect --dry-run: exit ${dist.code}, peak RSS ${dist.peak.toFixed(0)} MiB`);
  }
  if (o.backup) {
    const backup = await peakOf(process.execPath, [BUNDLE, 'backup', 'create', '--storage', storage, '--to', join(work, 'backup'), '--json']);
    console.log(`backup create: exit ${backup.code}, peak RSS ${backup.peak.toFixed(0)} MiB${backup.code ? ` ${backup.err}` : ''}`);
  }
  console.log(`server at the end: ${fmt(memory(reg.pid))}`);
} finally {
  await reg.stop();
  if (!o.keep && !o.workdir) await rm(work, { recursive: true, force: true });
}
