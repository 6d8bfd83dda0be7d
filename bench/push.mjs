#!/usr/bin/env node
// Benchmark: our native push against `skopeo copy oci:<layout> docker://...` of the same layout
// into the same registry, in the same run; medians of several runs; ratios printed. Also the
// re-push of an unchanged image (target < 0.2 s for the whole command).
//
//   npm run build && node bench/push.mjs [--size-mib 1024] [--layers 8] [--runs 3] [--registries ours,distribution] [--jobs 4]
//     [--node-args "--cpu-prof --cpu-prof-dir=/tmp/prof"]
//
// Every cold run gets a fresh registry (new storage), so nothing is already there. The layout's
// layers are uncompressed tars of random bytes (incompressible; nobody recompresses them).
import { spawn, execFileSync } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, startRegistry, tarHeader } from './common.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BUNDLE = join(ROOT, 'meta-container-registry', 'files', 'container-registry.mjs');

function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
}
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
function writeBlob(dir, data) {
  const digest = createHash('sha256').update(data).digest('hex');
  writeFileSync(join(dir, digest), data);
  return { digest: `sha256:${digest}`, size: data.length };
}
function buildLayout() {
  const layout = join(work, 'deploy', 'images', 'qemux86-64', 'bench-qemux86-64.rootfs-20260101000000-oci');
  const blobs = join(layout, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const perLayer = Math.floor((sizeMiB * 1024 * 1024) / layers);
  const chunk = Buffer.alloc(4 * 1024 * 1024);
  const descs = [];
  for (let i = 0; i < layers; i++) {
    const tmp = join(blobs, `tmp-${i}`);
    const fd = openSync(tmp, 'w');
    const hash = createHash('sha256');
    const put = (b) => {
      writeSync(fd, b);
      hash.update(b);
    };
    put(tarHeader(`layer${i}.bin`, perLayer));
    for (let left = perLayer; left > 0; ) {
      const n = Math.min(left, chunk.length);
      randomFillSync(chunk, 0, n);
      put(chunk.subarray(0, n));
      left -= n;
    }
    put(Buffer.alloc(((512 - (perLayer % 512)) % 512) + 1024));
    closeSync(fd);
    const digest = hash.digest('hex');
    execFileSync('mv', [tmp, join(blobs, digest)]);
    descs.push({
      mediaType: 'application/vnd.oci.image.layer.v1.tar',
      digest: `sha256:${digest}`,
      size: Number(execFileSync('stat', ['-c', '%s', join(blobs, digest)]).toString()),
    });
  }
  const config = writeBlob(
    blobs,
    Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: descs.map((d) => d.digest) } })),
  );
  const manifest = writeBlob(
    blobs,
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
        layers: descs,
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
  return { layout, deployDir: dirname(layout), bytes: descs.reduce((n, d) => n + d.size, 0) };
}

// ---- registries: a fresh one (new storage) per cold run
async function freshRegistry(kind) {
  const storage = mkdtempSync(join(work, `${kind}-`));
  const reg = await startRegistry(kind, storage, { bundle: BUNDLE });
  return {
    host: reg.host,
    stop: async () => {
      await reg.stop();
      rmSync(storage, { recursive: true, force: true });
    },
  };
}

function timed(cmd, args, env = {}, out = { text: '' }) {
  return new Promise((res, rej) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let err = '';
    child.stdout.on('data', (c) => (out.text += c));
    child.stderr.on('data', (c) => (err += c));
    child.on('close', (code) => {
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
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
const skopeoPush = (host, layout) =>
  timed('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${layout}:latest`, `docker://${host}/yocto/bench-skopeo:latest`]);

console.log(`building a ${sizeMiB} MiB, ${layers}-layer layout in ${work} ...`);
const { layout, deployDir, bytes } = buildLayout();
console.log(`layout: ${(bytes / 1048576).toFixed(0)} MiB in ${layers} layers; ${runs} runs per tool and registry; node ${process.version}`);
const summary = [];
for (const kind of registries) {
  if (kind === 'distribution' && !which('docker-registry')) {
    console.log('distribution: skipped (needs docker-registry, Debian package docker-registry)');
    continue;
  }
  const ours = [];
  const skopeo = [];
  const repush = [];
  const repushInProcess = [];
  for (let i = 0; i < runs; i++) {
    // alternate the order so page cache and disk state favour neither tool
    for (const tool of i % 2 ? ['skopeo', 'ours'] : ['ours', 'skopeo']) {
      const reg = await freshRegistry(kind);
      try {
        if (tool === 'ours') {
          ours.push(await ourPush(reg.host, deployDir, { text: '' }));
          const out = { text: '' };
          repush.push(await ourPush(reg.host, deployDir, out));
          const report = JSON.parse(out.text);
          if (report.results[0].bytesSent !== 0) throw new Error('re-push sent bytes');
          repushInProcess.push(report.seconds);
        } else skopeo.push(await skopeoPush(reg.host, layout));
      } finally {
        await reg.stop();
      }
    }
    console.log(
      `  ${kind} run ${i + 1}: ours ${ours.at(-1).toFixed(2)} s, skopeo ${skopeo.at(-1).toFixed(2)} s, re-push ${repush.at(-1).toFixed(3)} s (${repushInProcess.at(-1).toFixed(3)} s after start-up)`,
    );
  }
  const mo = median(ours);
  const ms = median(skopeo);
  const mr = median(repush);
  summary.push({ kind, mo, ms, mr, mi: median(repushInProcess) });
}
console.log('\nregistry       ours (median)  skopeo copy (median)  speed-up  MiB/s ours  re-push unchanged (median, whole command / after node start-up)');
for (const { kind, mo, ms, mr, mi } of summary) {
  console.log(
    `${kind.padEnd(14)} ${`${mo.toFixed(2)} s`.padStart(13)}  ${`${ms.toFixed(2)} s`.padStart(20)}  ${`${(ms / mo).toFixed(2)}x`.padStart(8)}  ${(bytes / 1048576 / mo).toFixed(0).padStart(10)}  ${`${mr.toFixed(3)} s`.padStart(26)} / ${mi.toFixed(3)} s${mr < 0.2 ? '' : '  (whole command over the 0.2 s target)'}`,
  );
}
