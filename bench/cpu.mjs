#!/usr/bin/env node
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createGzip } from 'node:zlib';
import { median, parseOptions, randomTar, run, skopeo, startRegistry, treeCpu } from './common.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const TARGET = { push: 0.5, pull: 0.6 };
const MEDIA_TYPE = { gzip: 'application/vnd.oci.image.layer.v1.tar+gzip', tar: 'application/vnd.oci.image.layer.v1.tar' };

function parseArgs(argv) {
  const o = {
    runs: 5,
    sizeMib: 1024,
    layers: 8,
    layerTypes: ['gzip', 'tar'],
    registries: ['ours', 'distribution'],
    workdir: undefined,
    keep: false,
    pullKeepTar: false,
    nodeArgs: [],
    bundle: join(ROOT, 'meta-container-registry', 'files', 'container-registry.mjs'),
  };
  parseOptions(argv, {
    script: import.meta.url,
    helpLines: 21,
    valued: {
      '--runs': (v) => (o.runs = Number(v)),
      '--size-mib': (v) => (o.sizeMib = Number(v)),
      '--layers': (v) => (o.layers = Number(v)),
      '--layer-type': (v) => (o.layerTypes = v.split(',')),
      '--registries': (v) => (o.registries = v.split(',')),
      '--workdir': (v) => (o.workdir = resolve(v)),
      '--node-args': (v) => (o.nodeArgs = v.split(' ').filter(Boolean)),
      '--bundle': (v) => (o.bundle = resolve(v)),
    },
    switches: {
      '--keep': () => (o.keep = true),
      '--pull-keep-tar': () => (o.pullKeepTar = true),
    },
  });
  if (!(o.runs >= 1) || !(o.sizeMib >= 1) || !(o.layers >= 1)) throw new Error('--runs, --size-mib and --layers must be positive');
  for (const t of o.layerTypes) if (!(t in MEDIA_TYPE)) throw new Error(`--layer-type: gzip or tar, not ${t}`);
  for (const r of o.registries) if (r !== 'ours' && r !== 'distribution') throw new Error(`--registries: ours or distribution, not ${r}`);
  return o;
}

function log(msg) {
  process.stderr.write(`[cpu ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

async function writeLayer(blobsDir, index, size, type) {
  const diff = createHash('sha256');
  const blob = createHash('sha256');
  const tmp = join(blobsDir, `.layer-${index}`);
  let blobSize = 0;
  const count = async function* (source) {
    for await (const c of source) {
      blob.update(c);
      blobSize += c.length;
      yield c;
    }
  };
  const stages = type === 'gzip' ? [createGzip({ level: 0, chunkSize: 256 * 1024 })] : [];
  await pipeline(Readable.from(randomTar(`layer-${index}.bin`, size, diff)), ...stages, count, createWriteStream(tmp));
  const digest = `sha256:${blob.digest('hex')}`;
  await rename(tmp, join(blobsDir, digest.slice(7)));
  return { digest, size: blobSize, diffId: `sha256:${diff.digest('hex')}` };
}

/** makeLayout writes (or reuses) an OCI layout of `layers` layers of `type`, tagged `bench`. */
async function makeLayout(dir, sizeMib, layerCount, type) {
  const marker = join(dir, 'bench-layout.json');
  if (existsSync(marker)) {
    const had = JSON.parse(await readFile(marker, 'utf8'));
    if (had.sizeMib === sizeMib && had.layerCount === layerCount && had.type === type) return had;
  }
  await rm(dir, { recursive: true, force: true });
  const blobs = join(dir, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  const per = Math.floor((sizeMib * MiB) / layerCount);
  const layers = [];
  for (let i = 0; i < layerCount; i++) layers.push(await writeLayer(blobs, i, per, type));
  const put = async (obj) => {
    const data = Buffer.from(JSON.stringify(obj));
    const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
    await writeFile(join(blobs, digest.slice(7)), data);
    return { digest, size: data.length };
  };
  const config = await put({
    architecture: 'amd64',
    os: 'linux',
    created: '2026-01-01T00:00:00Z',
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
  });
  const manifest = await put({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers: layers.map((l) => ({ mediaType: MEDIA_TYPE[type], digest: l.digest, size: l.size })),
  });
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': 'bench' } }],
    }),
  );
  const info = { sizeMib, layerCount, type, bytes: layers.reduce((n, l) => n + l.size, 0) };
  await writeFile(marker, JSON.stringify(info));
  log(`layout ${type}: ${layerCount} layers, ${(info.bytes / MiB).toFixed(1)} MiB`);
  return info;
}

/** storedImage asks the registry for the manifest it holds: its layers' media types and bytes. */
async function storedImage(url) {
  const res = await fetch(`${url}/v2/bench/image/manifests/latest`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } });
  if (res.status !== 200) throw new Error(`manifest: ${res.status}`);
  const m = await res.json();
  return { bytes: m.layers.reduce((n, l) => n + l.size, m.config.size), mediaTypes: [...new Set(m.layers.map((l) => l.mediaType))] };
}

function cpuDelta(a, b) {
  return { user: b.user - a.user, system: b.system - a.system, total: b.total - a.total };
}

async function benchType(opts, work, type) {
  const layout = join(work, `layout-${type}`);
  await makeLayout(layout, opts.sizeMib, opts.layers, type);
  const samples = Object.fromEntries(opts.registries.map((r) => [r, { push: [], pull: [] }]));
  for (let r = 0; r < opts.runs; r++) {
    const order = r % 2 === 0 ? opts.registries : [...opts.registries].reverse();
    for (const name of order) {
      const storage = join(work, `storage-${type}-${name}-${r}`);
      await mkdir(storage, { recursive: true });
      const reg = await startRegistry(name, storage, name === 'ours' ? { bundle: opts.bundle, nodeArgs: opts.nodeArgs } : {});
      const target = join(work, `pull-${type}-${name}-${r}`);
      try {
        const ref = `docker://${reg.host}/bench/image:latest`;
        const pushArgs = ['copy', '--quiet', '--dest-tls-verify=false', ...(type === 'tar' ? ['--preserve-digests'] : []), `oci:${layout}:bench`, ref];
        await run('sync', []);
        let c0 = treeCpu(reg.pid);
        const push = await skopeo(pushArgs);
        const pushCpu = cpuDelta(c0, treeCpu(reg.pid));
        const stored = await storedImage(reg.url);
        if (stored.mediaTypes.join() !== MEDIA_TYPE[type]) throw new Error(`${name} stored layers of ${stored.mediaTypes.join(', ')}, not ${MEDIA_TYPE[type]}`);
        await run('sync', []);
        c0 = treeCpu(reg.pid);
        const keep = type === 'tar' && opts.pullKeepTar ? ['--dest-oci-accept-uncompressed-layers'] : [];
        const pull = await skopeo(['copy', '--quiet', '--src-tls-verify=false', ...keep, ref, `oci:${target}:bench`]);
        const pullCpu = cpuDelta(c0, treeCpu(reg.pid));
        const gib = stored.bytes / GiB;
        samples[name].push.push({ cpu: pushCpu, perGib: pushCpu.total / gib, sysPerGib: pushCpu.system / gib, seconds: push.seconds, client: push.cpu });
        samples[name].pull.push({ cpu: pullCpu, perGib: pullCpu.total / gib, sysPerGib: pullCpu.system / gib, seconds: pull.seconds, client: pull.cpu });
        log(
          `${type} run ${r + 1}/${opts.runs} ${name}: push ${push.seconds.toFixed(2)} s, server CPU ${pushCpu.total.toFixed(2)} s (sys ${pushCpu.system.toFixed(2)}), skopeo ${push.cpu.toFixed(2)} s; pull ${pull.seconds.toFixed(2)} s, server CPU ${pullCpu.total.toFixed(2)} s (sys ${pullCpu.system.toFixed(2)}), skopeo ${pull.cpu.toFixed(2)} s`,
        );
      } finally {
        await reg.stop();
        await rm(storage, { recursive: true, force: true });
        await rm(target, { recursive: true, force: true });
      }
    }
  }
  return samples;
}

function row(cells, widths) {
  return cells.map((c, i) => (i < 2 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.registries.includes('ours') && !existsSync(opts.bundle)) throw new Error(`${opts.bundle} is missing: run npm run build`);
  const work = opts.workdir ?? (await mkdtemp(join(tmpdir(), 'cr-cpu-')));
  await mkdir(work, { recursive: true });
  const skopeoVersion = (await run('skopeo', ['--version'])).out.trim();
  const load = () =>
    loadavg()
      .map((x) => x.toFixed(2))
      .join(' ');
  log(`node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model}), ${skopeoVersion}, load ${load()}, work dir ${work}`);
  const loadBefore = load();
  const results = {};
  try {
    for (const type of opts.layerTypes) results[type] = await benchType(opts, work, type);
  } finally {
    if (!opts.keep && !opts.workdir) await rm(work, { recursive: true, force: true });
  }
  const both = opts.registries.length === 2;
  const widths = [6, 5, 12, 12, 12, 12, 10, 8, 8];
  const lines = [
    row(['layers', 'op', 'ours s/GiB', '(sys)', 'dist s/GiB', '(sys)', 'ours/dist', 'target', ''], widths),
    row(
      widths.map((w) => '-'.repeat(w)),
      widths,
    ),
  ];
  const verdicts = [];
  for (const type of opts.layerTypes) {
    for (const op of ['push', 'pull']) {
      const cell = (name) => {
        const s = results[type][name]?.[op];
        return s ? [median(s.map((x) => x.perGib)).toFixed(3), median(s.map((x) => x.sysPerGib)).toFixed(3)] : ['', ''];
      };
      let ratio = Number.NaN;
      if (both) ratio = median(results[type].ours[op].map((x, i) => x.perGib / results[type].distribution[op][i].perGib));
      const met = ratio <= TARGET[op];
      lines.push(
        row(
          [type, op, ...cell('ours'), ...cell('distribution'), both ? `${ratio.toFixed(2)}x` : '', `<= ${TARGET[op]}x`, both ? (met ? 'MET' : 'NOT MET') : ''],
          widths,
        ),
      );
      if (both)
        verdicts.push(`${type} ${op}: ours ${ratio.toFixed(2)}x distribution's server CPU per GiB (target <= ${TARGET[op]}x): ${met ? 'MET' : 'NOT MET'}`);
    }
  }
  for (const type of opts.layerTypes) {
    for (const op of ['push', 'pull']) {
      const parts = opts.registries.map((name) => {
        const s = results[type][name][op];
        return `${name} wall ${median(s.map((x) => x.seconds)).toFixed(2)} s, skopeo CPU ${median(s.map((x) => x.client)).toFixed(2)} s, server s/GiB per run ${s.map((x) => x.perGib.toFixed(2)).join(',')}`;
      });
      lines.push(`  ${type} ${op}: ${parts.join('; ')}`);
    }
  }
  process.stdout.write(`\n${lines.join('\n')}\n\n${verdicts.join('\n')}\n`);
  process.stdout.write(
    `(${opts.runs} runs; medians; ratio = median of the per-run ratios; server CPU = utime+stime of the server and its children from /proc; ${cpus().length} CPUs ${cpus()[0]?.model}; node ${process.version}; ${skopeoVersion}; load before ${loadBefore}, after ${load()})\n`,
  );
}

main().catch((err) => {
  process.stderr.write(`cpu: ${err.stack ?? err}\n`);
  process.exit(1);
});
