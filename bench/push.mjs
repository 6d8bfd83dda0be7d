#!/usr/bin/env node
// Benchmark: our native push against `skopeo copy oci:<layout> docker://...` of the same layout
// into the same registry, in the same run; medians of several runs; ratios printed. Also the
// re-push of an unchanged image (target < 0.2 s for the whole command).
//
//   npm run build && node bench/push.mjs [--size-mib 1024] [--layers 8] [--runs 3] [--registries ours,distribution] [--jobs 4]
//     [--gzip] [--node-args "--cpu-prof --cpu-prof-dir=/tmp/prof"] [--bundle other-build/container-registry.mjs]
//     [--server-bundle FILE]   (the registry of ours from another build: compare clients against one server)
//
// Every cold run gets a fresh registry (new storage), so nothing is already there. The layout's
// layers are tars of random bytes (incompressible): uncompressed, which skopeo compresses on the
// way to a registry (so it measures skopeo's gzip as much as the copy), or with --gzip gzip layers
// as a Yocto build writes them, which both tools send as they are.
import { spawn, execFileSync } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, startRegistry, tarHeader, writeImageLayout } from './common.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
}
const BUNDLE = resolve(arg('bundle', join(ROOT, 'meta-container-registry', 'files', 'container-registry.mjs')));
// The registry of ours runs this build (default: the same): pin it to compare clients only.
const SERVER_BUNDLE = resolve(arg('server-bundle', BUNDLE));
const gzip = process.argv.includes('--gzip');
const sizeMiB = Number(arg('size-mib', '1024'));
const layers = Number(arg('layers', '8'));
const runs = Number(arg('runs', '3'));
const registries = arg('registries', 'ours,distribution').split(',');
const jobs = arg('jobs', '4');
// e.g. --node-args "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile our push command
const nodeArgs = arg('node-args', '').split(' ').filter(Boolean);

const which = (bin) => {
  try {
    execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
};
if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} missing: npm run build`);
if (!which('skopeo')) throw new Error('needs skopeo (Debian package skopeo)');

const work = mkdtempSync(join(tmpdir(), 'cr-bench-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

// ---- the layout: `layers` uncompressed tar layers of random bytes, in a deploy/ tree
/** randomTar streams a tar of one file of `size` random bytes. */
function* randomTar(name, size) {
  yield tarHeader(name, size);
  for (let left = size; left > 0; ) {
    const n = Math.min(left, 4 * 1024 * 1024);
    yield randomFillSync(Buffer.allocUnsafe(n));
    left -= n;
  }
  yield Buffer.alloc(((512 - (size % 512)) % 512) + 1024);
}

/** writeLayer writes one layer blob (gzip level 1 with --gzip) into `blobs`, named by its digest. */
async function writeLayer(blobs, i, size) {
  const tmp = join(blobs, `tmp-${i}`);
  const hash = createHash('sha256');
  const source = Readable.from(randomTar(`layer${i}.bin`, size));
  const hashed = async function* (chunks) {
    for await (const c of chunks) {
      hash.update(c);
      yield c;
    }
  };
  if (gzip) await pipeline(source, createGzip({ level: 1 }), hashed, createWriteStream(tmp));
  else await pipeline(source, hashed, createWriteStream(tmp));
  const digest = hash.digest('hex');
  execFileSync('mv', [tmp, join(blobs, digest)]);
  return {
    mediaType: gzip ? 'application/vnd.oci.image.layer.v1.tar+gzip' : 'application/vnd.oci.image.layer.v1.tar',
    digest: `sha256:${digest}`,
    size: Number(execFileSync('stat', ['-c', '%s', join(blobs, digest)]).toString()),
  };
}

async function buildLayout() {
  const layout = join(work, 'deploy', 'images', 'qemux86-64', 'bench-qemux86-64.rootfs-20260101000000-oci');
  const blobs = join(layout, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const perLayer = Math.floor((sizeMiB * 1024 * 1024) / layers);
  const descs = [];
  for (let i = 0; i < layers; i++) descs.push(await writeLayer(blobs, i, perLayer));
  writeImageLayout(layout, descs);
  return { layout, deployDir: dirname(layout), bytes: descs.reduce((n, d) => n + d.size, 0) };
}

// ---- registries: a fresh one (new storage) per cold run
async function freshRegistry(kind) {
  const storage = mkdtempSync(join(work, `${kind}-`));
  const reg = await startRegistry(kind, storage, { bundle: SERVER_BUNDLE });
  return {
    host: reg.host,
    cpu: () => processCpu(reg.pid),
    stop: async () => {
      await reg.stop();
      rmSync(storage, { recursive: true, force: true });
    },
  };
}

/** processCpu is the CPU time (s) of a process (all its threads) and of the children it reaped, from /proc/<pid>/stat. */
function processCpu(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100;
}

/** childrenCpu is the CPU time (s) of this process's reaped children, from /proc/self/stat (cutime + cstime). */
function childrenCpu() {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[13]) + Number(f[14])) / 100;
}

/** timed runs a command to its end: its wall-clock seconds, and in `out.cpu` its CPU seconds (the registry, a child too, never exits meanwhile). */
function timed(cmd, args, env = {}, out = { text: '' }) {
  return new Promise((res, rej) => {
    const t0 = process.hrtime.bigint();
    const cpu0 = childrenCpu();
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let err = '';
    child.stdout.on('data', (c) => (out.text += c));
    child.stderr.on('data', (c) => (err += c));
    child.on('close', (code) => {
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      out.cpu = childrenCpu() - cpu0;
      code === 0 ? res(s) : rej(new Error(`${cmd} ${args.join(' ')} failed (${code}): ${err.slice(0, 400)}`));
    });
  });
}
const ourPush = (host, deployDir, out) =>
  timed(
    process.execPath,
    [...nodeArgs, BUNDLE, 'push', '--registry', host, '--insecure', '--json', '--jobs', jobs, '--strategy', 'latest', '--deploy-dir', deployDir],
    { CONTAINER_REGISTRY_SECURE: '', CONTAINER_REGISTRY_AUTH_MODE: '' },
    out,
  );
const skopeoPush = (host, layout, out) =>
  timed('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${layout}:latest`, `docker://${host}/yocto/bench-skopeo:latest`], {}, out);

console.log(`building a ${sizeMiB} MiB, ${layers}-layer ${gzip ? 'gzip' : 'uncompressed'} layout in ${work} ...`);
const { layout, deployDir, bytes } = await buildLayout();
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.log(
  `layout: ${(bytes / 1048576).toFixed(0)} MiB in ${layers} ${gzip ? 'gzip' : 'uncompressed'} layers; ${runs} runs per tool and registry; node ${process.version}; load average ${loadavg()}`,
);
const summary = [];
for (const kind of registries) {
  if (kind === 'distribution' && !which('docker-registry')) {
    console.log('distribution: skipped (needs docker-registry, Debian package docker-registry)');
    continue;
  }
  const ours = [];
  const skopeo = [];
  const oursCpu = [];
  const skopeoCpu = [];
  const oursServerCpu = [];
  const skopeoServerCpu = [];
  const repush = [];
  const repushInProcess = [];
  for (let i = 0; i < runs; i++) {
    // alternate the order so page cache and disk state favour neither tool
    for (const tool of i % 2 ? ['skopeo', 'ours'] : ['ours', 'skopeo']) {
      const reg = await freshRegistry(kind);
      try {
        if (tool === 'ours') {
          const cold = { text: '' };
          const server0 = reg.cpu();
          ours.push(await ourPush(reg.host, deployDir, cold));
          oursCpu.push(cold.cpu);
          oursServerCpu.push(reg.cpu() - server0);
          const out = { text: '' };
          repush.push(await ourPush(reg.host, deployDir, out));
          const report = JSON.parse(out.text);
          if (report.results[0].bytesSent !== 0) throw new Error('re-push sent bytes');
          repushInProcess.push(report.seconds);
        } else {
          const out = { text: '' };
          const server0 = reg.cpu();
          skopeo.push(await skopeoPush(reg.host, layout, out));
          skopeoCpu.push(out.cpu);
          skopeoServerCpu.push(reg.cpu() - server0);
        }
      } finally {
        await reg.stop();
      }
    }
    console.log(
      `  ${kind} run ${i + 1}: ours ${ours.at(-1).toFixed(2)} s (CPU ${oursCpu.at(-1).toFixed(2)} s, registry ${oursServerCpu.at(-1).toFixed(2)} s), skopeo ${skopeo.at(-1).toFixed(2)} s (CPU ${skopeoCpu.at(-1).toFixed(2)} s, registry ${skopeoServerCpu.at(-1).toFixed(2)} s), re-push ${repush.at(-1).toFixed(3)} s (${repushInProcess.at(-1).toFixed(3)} s after start-up)`,
    );
  }
  const mo = median(ours);
  const ms = median(skopeo);
  const mr = median(repush);
  summary.push({
    kind,
    mo,
    ms,
    mr,
    mi: median(repushInProcess),
    co: median(oursCpu),
    cs: median(skopeoCpu),
    so: median(oursServerCpu),
    ss: median(skopeoServerCpu),
  });
}
console.log(
  '\nregistry       ours (median)  skopeo copy (median)  speed-up  MiB/s ours  client CPU ours / skopeo  registry CPU (ours / skopeo)  re-push unchanged (median, whole command / after node start-up)',
);
for (const { kind, mo, ms, mr, mi, co, cs, so, ss } of summary) {
  console.log(
    `${kind.padEnd(14)} ${`${mo.toFixed(2)} s`.padStart(13)}  ${`${ms.toFixed(2)} s`.padStart(20)}  ${`${(ms / mo).toFixed(2)}x`.padStart(8)}  ${(bytes / 1048576 / mo).toFixed(0).padStart(10)}  ${`${co.toFixed(2)} s / ${cs.toFixed(2)} s`.padStart(25)}  ${`${so.toFixed(2)} s / ${ss.toFixed(2)} s`.padStart(29)}  ${`${mr.toFixed(3)} s`.padStart(26)} / ${mi.toFixed(3)} s${mr < 0.2 ? '' : '  (whole command over the 0.2 s target)'}`,
  );
}
console.log(`load average after: ${loadavg()}`);
