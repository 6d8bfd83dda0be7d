#!/usr/bin/env node
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir, cpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createGzip, gzipSync } from 'node:zlib';
import { median, parseOptions, randomStream, randomTar, run, skopeo, startRegistry, tarHeader, treeCpu } from './common.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
let BUNDLE = join(ROOT, 'meta-container-registry', 'files', 'container-registry.mjs');
const MiB = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// options

function parseArgs(argv) {
  const o = { runs: 5, sizeMib: 1024, layers: 8, blobMib: 2048, only: ['image', 'rss', 'concurrent'], workdir: undefined, keep: false, nodeArgs: [] };
  parseOptions(argv, {
    script: import.meta.url,
    helpLines: 14,
    valued: {
      '--runs': (v) => (o.runs = Number(v)),
      '--size-mib': (v) => (o.sizeMib = Number(v)),
      '--layers': (v) => (o.layers = Number(v)),
      '--blob-mib': (v) => (o.blobMib = Number(v)),
      '--only': (v) => (o.only = v.split(',')),
      '--workdir': (v) => (o.workdir = v),
      '--node-args': (v) => (o.nodeArgs = v.split(' ').filter(Boolean)),
      '--bundle': (v) => (BUNDLE = resolve(v)),
    },
    switches: {
      '--keep': () => (o.keep = true),
    },
  });
  if (!(o.runs >= 1) || !(o.sizeMib >= 1) || !(o.layers >= 1) || !(o.blobMib >= 1))
    throw new Error('--runs, --size-mib, --layers and --blob-mib must be positive');
  return o;
}

// ---------------------------------------------------------------------------------------------
// small helpers

function log(msg) {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

/** cpuSeconds reads utime+stime of a process and its children from /proc (common.mjs treeCpu: a server of several workers counts whole). */
function cpuSeconds(pid) {
  return treeCpu(pid).total;
}

/** syncDisks flushes dirty pages (untimed), so one step's deferred writeback is not charged to the next. */
async function syncDisks() {
  await run('sync', []);
}

/**
 * memKiB reads the memory of a server: `rss` and `hwm` (VmHWM) of its largest process (the one
 * worker of several that receives a blob, or the one process), `total` the RSS of all of them.
 */
function memKiB(pid) {
  let children = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    // no children file: one process
  }
  const out = { rss: 0, hwm: 0, total: 0 };
  for (const p of [pid, ...children]) {
    let s;
    try {
      s = readFileSync(`/proc/${p}/status`, 'utf8');
    } catch {
      if (p === pid) throw new Error(`process ${pid} is gone`);
      continue;
    }
    const rss = Number(/VmRSS:\s+(\d+)/.exec(s)?.[1] ?? NaN);
    out.rss = Math.max(out.rss, rss);
    out.hwm = Math.max(out.hwm, Number(/VmHWM:\s+(\d+)/.exec(s)?.[1] ?? NaN));
    out.total += rss;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// the test image: an OCI layout of `layers` gzip (level 0: stored, so no CPU spent compressing
// and skopeo pushes it as it is) tar layers of random data

async function writeLayer(blobsDir, index, size) {
  const diff = createHash('sha256');
  const comp = createHash('sha256');
  const tmp = join(blobsDir, `.layer-${index}`);
  let compSize = 0;
  const out = createWriteStream(tmp);
  await pipeline(
    Readable.from(randomTar(`layer-${index}.bin`, size, diff)),
    createGzip({ level: 0, chunkSize: 256 * 1024 }),
    async function* (source) {
      for await (const c of source) {
        comp.update(c);
        compSize += c.length;
        yield c;
      }
    },
    out,
  );
  const digest = `sha256:${comp.digest('hex')}`;
  const { rename } = await import('node:fs/promises');
  await rename(tmp, join(blobsDir, digest.slice(7)));
  return { digest, size: compSize, diffId: `sha256:${diff.digest('hex')}` };
}

async function makeLayout(dir, totalMib, layerCount) {
  const marker = join(dir, 'bench-layout.json');
  const wanted = { totalMib, layerCount, version: 1 };
  if (existsSync(marker)) {
    const had = JSON.parse(await readFile(marker, 'utf8'));
    if (had.totalMib === totalMib && had.layerCount === layerCount && had.version === 1) {
      log(`reusing the layout in ${dir}`);
      return had;
    }
  }
  await rm(dir, { recursive: true, force: true });
  const blobs = join(dir, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  const started = Date.now();
  const per = Math.floor((totalMib * MiB) / layerCount);
  const layers = [];
  for (let i = 0; i < layerCount; i++) layers.push(await writeLayer(blobs, i, per));
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      created: '2026-01-01T00:00:00Z',
      config: { Labels: { 'org.opencontainers.image.title': 'bench' } },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    }),
  );
  const configDigest = `sha256:${createHash('sha256').update(config).digest('hex')}`;
  await writeFile(join(blobs, configDigest.slice(7)), config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: l.digest, size: l.size })),
    }),
  );
  const manifestDigest = `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
  await writeFile(join(blobs, manifestDigest.slice(7)), manifest);
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: manifestDigest,
          size: manifest.length,
          annotations: { 'org.opencontainers.image.ref.name': 'bench' },
        },
      ],
    }),
  );
  const bytes = layers.reduce((n, l) => n + l.size, 0) + config.length + manifest.length;
  const info = { ...wanted, bytes, manifestDigest, seconds: (Date.now() - started) / 1000 };
  await writeFile(marker, JSON.stringify(info));
  log(`layout: ${layerCount} layers, ${(bytes / MiB).toFixed(1)} MiB, written in ${info.seconds.toFixed(1)} s`);
  return info;
}

// ---------------------------------------------------------------------------------------------
// the two registries

const startOurs = (storage, opts) => startRegistry('ours', storage, { bundle: BUNDLE, nodeArgs: opts.nodeArgs });
const REGISTRIES = {
  ours: { start: startOurs },
  distribution: { start: (storage) => startRegistry('distribution', storage) },
};

// ---------------------------------------------------------------------------------------------
// 1. push and pull of the big image with skopeo

async function benchImage(opts, work, layout) {
  const results = {
    ours: { push: [], pull: [], pushCpu: [], pullCpu: [], pushClientCpu: [], pullClientCpu: [] },
    distribution: { push: [], pull: [], pushCpu: [], pullCpu: [], pushClientCpu: [], pullClientCpu: [] },
  };
  for (let r = 0; r < opts.runs; r++) {
    // Alternate which registry goes first, so a drift of the machine hits both alike.
    const order = r % 2 === 0 ? ['ours', 'distribution'] : ['distribution', 'ours'];
    for (const name of order) {
      const storage = join(work, `storage-${name}-${r}`);
      await mkdir(storage, { recursive: true });
      const reg = await REGISTRIES[name].start(storage, opts);
      try {
        const ref = `docker://${reg.host}/bench/image:latest`;
        await syncDisks();
        let cpu0 = cpuSeconds(reg.pid);
        const push = await skopeo(['copy', '--quiet', '--dest-tls-verify=false', `oci:${layout}:bench`, ref]);
        results[name].pushCpu.push(cpuSeconds(reg.pid) - cpu0);
        const target = join(work, `pull-${name}-${r}`);
        await syncDisks();
        cpu0 = cpuSeconds(reg.pid);
        const pull = await skopeo(['copy', '--quiet', '--src-tls-verify=false', ref, `oci:${target}:bench`]);
        results[name].pullCpu.push(cpuSeconds(reg.pid) - cpu0);
        const pulledIndex = JSON.parse(await readFile(join(target, 'index.json'), 'utf8'));
        const pulledDigest = pulledIndex.manifests[0]?.digest;
        if (pulledDigest !== layoutManifestDigest(layout)) throw new Error(`${name}: pulled ${pulledDigest}, pushed ${layoutManifestDigest(layout)}`);
        results[name].pushClientCpu.push(push.cpu);
        results[name].pullClientCpu.push(pull.cpu);
        results[name].push.push(push.seconds);
        results[name].pull.push(pull.seconds);
        log(
          `run ${r + 1}/${opts.runs} ${name}: push ${push.seconds.toFixed(2)} s, pull ${pull.seconds.toFixed(2)} s (server CPU ${results[name].pushCpu.at(-1).toFixed(2)} s / ${results[name].pullCpu.at(-1).toFixed(2)} s, skopeo CPU ${push.cpu.toFixed(2)} s / ${pull.cpu.toFixed(2)} s)`,
        );
        await rm(target, { recursive: true, force: true });
      } finally {
        await reg.stop();
        await rm(storage, { recursive: true, force: true });
      }
    }
  }
  return results;
}

function layoutManifestDigest(layout) {
  return JSON.parse(readFileSync(join(layout, 'bench-layout.json'), 'utf8')).manifestDigest;
}

// ---------------------------------------------------------------------------------------------
// 2. RSS while receiving one big blob in one PATCH

function httpRequest(url, method, headers, body) {
  return new Promise((res, rej) => {
    const req = request(url, { method, headers }, (resp) => {
      let text = '';
      resp.on('data', (c) => (text += c));
      resp.on('end', () => res({ status: resp.statusCode, headers: resp.headers, text }));
    });
    req.on('error', rej);
    if (body === undefined) req.end();
    else if (typeof body === 'string' || Buffer.isBuffer(body)) req.end(body);
    else pipeline(body, req).catch(rej);
  });
}

async function benchRss(opts, work, name) {
  const storage = join(work, `storage-rss-${name}`);
  await mkdir(storage, { recursive: true });
  const reg = await REGISTRIES[name].start(storage, opts);
  const samples = [];
  const totals = [];
  const sampler = setInterval(() => {
    try {
      const m = memKiB(reg.pid);
      samples.push(m.rss);
      totals.push(m.total);
    } catch {
      // gone
    }
  }, 100);
  try {
    const before = memKiB(reg.pid);
    const cpu0 = cpuSeconds(reg.pid);
    const post = await httpRequest(`${reg.url}/v2/bench/big/blobs/uploads/`, 'POST', { 'Content-Length': '0' });
    if (post.status !== 202) throw new Error(`${name} POST: ${post.status} ${post.text}`);
    const size = opts.blobMib * MiB;
    const hash = createHash('sha256');
    const body = Readable.from(
      (async function* () {
        for await (const c of randomStream(size)) {
          hash.update(c);
          yield c;
        }
      })(),
    );
    const started = Date.now();
    const loc = new URL(post.headers.location, reg.url);
    const patch = await httpRequest(loc, 'PATCH', { 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) }, body);
    if (patch.status !== 202) throw new Error(`${name} PATCH: ${patch.status} ${patch.text}`);
    const patchSeconds = (Date.now() - started) / 1000;
    const put = new URL(patch.headers.location, reg.url);
    put.searchParams.set('digest', `sha256:${hash.digest('hex')}`);
    const done = await httpRequest(put, 'PUT', { 'Content-Length': '0' });
    if (done.status !== 201) throw new Error(`${name} PUT: ${done.status} ${done.text}`);
    const seconds = (Date.now() - started) / 1000;
    const putSeconds = seconds - patchSeconds;
    const cpu = cpuSeconds(reg.pid) - cpu0;
    const after = memKiB(reg.pid);
    const peak = Math.max(...samples, after.rss);
    const peakTotal = Math.max(...totals, after.total);
    log(
      `rss ${name}: ${opts.blobMib} MiB in ${seconds.toFixed(1)} s (PATCH ${patchSeconds.toFixed(1)} s, PUT ${putSeconds.toFixed(1)} s, server CPU ${cpu.toFixed(1)} s), RSS before ${(before.rss / 1024).toFixed(0)} MiB, peak sampled ${(peak / 1024).toFixed(0)} MiB (all processes ${(peakTotal / 1024).toFixed(0)} MiB), VmHWM ${(after.hwm / 1024).toFixed(0)} MiB (${samples.length} samples)`,
    );
    return {
      before: before.rss / 1024,
      peak: peak / 1024,
      peakTotal: peakTotal / 1024,
      hwm: after.hwm / 1024,
      seconds,
      patchSeconds,
      putSeconds,
      samples: samples.length,
    };
  } finally {
    clearInterval(sampler);
    await reg.stop();
    await rm(storage, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// 3. 100 concurrent pushes of distinct small images (POST, then PUT ?digest, as every registry takes)

function smallImage(i) {
  const tar = Buffer.concat([tarHeader(`f${i}`, 16 * 1024), randomBytes(16 * 1024), Buffer.alloc(1024)]);
  const layer = gzipSync(tar, { level: 1 });
  const config = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(tar)] }, config: { Labels: { n: String(i) } } }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(layer), size: layer.length }],
    }),
  );
  return { blobs: [layer, config], manifest, digest: sha256(manifest) };
}

function sha256(b) {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

async function pushSmall(url, repo, tag, img) {
  for (const b of img.blobs) {
    const post = await fetch(`${url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
    await post.arrayBuffer();
    if (post.status !== 202) throw new Error(`POST ${post.status}`);
    const put = new URL(post.headers.get('location'), url);
    put.searchParams.set('digest', sha256(b));
    const res = await fetch(put, { method: 'PUT', headers: { 'Content-Type': 'application/octet-stream' }, body: b });
    await res.arrayBuffer();
    if (res.status !== 201) throw new Error(`PUT blob ${res.status}`);
  }
  const res = await fetch(`${url}/v2/${repo}/manifests/${tag}`, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
    body: img.manifest,
  });
  await res.arrayBuffer();
  if (res.status !== 201) throw new Error(`PUT manifest ${res.status}`);
}

async function benchConcurrent(opts, work, name) {
  const storage = join(work, `storage-conc-${name}`);
  await mkdir(storage, { recursive: true });
  const reg = await REGISTRIES[name].start(storage, opts);
  try {
    const images = Array.from({ length: 100 }, (_, i) => smallImage(i));
    const started = Date.now();
    const results = await Promise.allSettled(images.map((img, i) => pushSmall(reg.url, `bench/app${i % 10}`, `v${i}`, img)));
    const seconds = (Date.now() - started) / 1000;
    const errors = results.filter((r) => r.status === 'rejected');
    let missing = 0;
    for (let i = 0; i < images.length; i++) {
      const res = await fetch(`${reg.url}/v2/bench/app${i % 10}/manifests/v${i}`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } });
      const body = Buffer.from(await res.arrayBuffer());
      if (res.status !== 200 || sha256(body) !== images[i].digest) missing++;
    }
    log(
      `concurrent ${name}: 100 pushes in ${seconds.toFixed(2)} s, ${errors.length} errors${errors[0] ? ` (first: ${errors[0].reason.message})` : ''}, ${missing} manifests not fetchable`,
    );
    return { seconds, errors: errors.length, missing };
  } finally {
    await reg.stop();
    await rm(storage, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------

function row(cells, widths) {
  return cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run npm run build`);
  const work = opts.workdir ?? (await mkdtemp(join(tmpdir(), 'cr-bench-')));
  await mkdir(work, { recursive: true });
  log(`node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, work dir ${work}`);
  const skopeoVersion = (await run('skopeo', ['--version'])).out.trim();
  log(skopeoVersion);
  const summary = [];
  const widths = [34, 14, 14, 10];
  const verdicts = [];
  try {
    if (opts.only.includes('image')) {
      const layout = join(work, 'layout');
      const info = await makeLayout(layout, opts.sizeMib, opts.layers);
      const res = await benchImage(opts, work, layout);
      const mib = info.bytes / MiB;
      for (const op of ['push', 'pull']) {
        const o = median(res.ours[op]);
        const d = median(res.distribution[op]);
        const ratio = d / o;
        summary.push([`${op} ${mib.toFixed(0)} MiB/${opts.layers} layers, median s`, o.toFixed(2), d.toFixed(2), '']);
        summary.push([`${op} throughput MiB/s`, (mib / o).toFixed(0), (mib / d).toFixed(0), `${ratio.toFixed(2)}x`]);
        summary.push([`${op} server CPU s (median)`, median(res.ours[`${op}Cpu`]).toFixed(2), median(res.distribution[`${op}Cpu`]).toFixed(2), '']);
        summary.push([`${op} skopeo CPU s (median)`, median(res.ours[`${op}ClientCpu`]).toFixed(2), median(res.distribution[`${op}ClientCpu`]).toFixed(2), '']);
        summary.push([`${op} runs s`, res.ours[op].map((x) => x.toFixed(1)).join(','), res.distribution[op].map((x) => x.toFixed(1)).join(','), '']);
        // Runs are pairs taken back to back, so a per-pair ratio is blind to the machine drifting
        // between pairs (a shared VM does); its median is printed beside the ratio of medians.
        const paired = median(res.ours[op].map((x, i) => res.distribution[op][i] / x));
        summary.push([`${op} paired ratio (median of runs)`, '', '', `${paired.toFixed(2)}x`]);
        // (The 1.25x target of a skopeo copy was retired: skopeo's own CPU bounds it on 2 CPUs. Raw
        // PUT and GET: bench/cores.mjs --pushes 1.)
        verdicts.push(`${op}: ours ${ratio.toFixed(2)}x distribution's throughput with skopeo`);
      }
    }
    if (opts.only.includes('rss')) {
      const o = await benchRss(opts, work, 'ours');
      const d = await benchRss(opts, work, 'distribution');
      summary.push([`RSS receiving ${opts.blobMib} MiB, peak MiB`, o.peak.toFixed(0), d.peak.toFixed(0), '']);
      summary.push(['  all processes together, MiB', o.peakTotal.toFixed(0), d.peakTotal.toFixed(0), '']);
      summary.push(['  VmHWM MiB (whole life)', o.hwm.toFixed(0), d.hwm.toFixed(0), '']);
      summary.push([
        '  upload MiB/s (PATCH+PUT)',
        (opts.blobMib / o.seconds).toFixed(0),
        (opts.blobMib / d.seconds).toFixed(0),
        `${(d.seconds / o.seconds).toFixed(2)}x`,
      ]);
      summary.push([
        '  PATCH s / PUT (commit) s',
        `${o.patchSeconds.toFixed(1)} / ${o.putSeconds.toFixed(1)}`,
        `${d.patchSeconds.toFixed(1)} / ${d.putSeconds.toFixed(1)}`,
        '',
      ]);
      verdicts.push(
        `RSS: ours peaked at ${o.peak.toFixed(0)} MiB (VmHWM ${o.hwm.toFixed(0)}; all processes ${o.peakTotal.toFixed(0)}) (target < 200 MiB): ${Math.max(o.peak, o.hwm) < 200 ? 'MET' : 'NOT MET'}`,
      );
    }
    if (opts.only.includes('concurrent')) {
      const o = await benchConcurrent(opts, work, 'ours');
      const d = await benchConcurrent(opts, work, 'distribution');
      summary.push(['100 concurrent pushes, s', o.seconds.toFixed(2), d.seconds.toFixed(2), `${(d.seconds / o.seconds).toFixed(2)}x`]);
      summary.push(['  errors / manifests not fetchable', `${o.errors} / ${o.missing}`, `${d.errors} / ${d.missing}`, '']);
      verdicts.push(`100 concurrent pushes: ours ${o.errors} errors (target 0): ${o.errors === 0 && o.missing === 0 ? 'MET' : 'NOT MET'}`);
    }
  } finally {
    if (!opts.keep && !opts.workdir) await rm(work, { recursive: true, force: true });
  }
  const lines = [
    row(['', 'ours', 'distribution', 'ours/dist'], widths),
    row(['-'.repeat(widths[0]), '-'.repeat(widths[1]), '-'.repeat(widths[2]), '-'.repeat(widths[3])], widths),
    ...summary.map((r) => row(r, widths)),
  ];
  process.stdout.write(`\n${lines.join('\n')}\n\n${verdicts.join('\n')}\n`);
  process.stdout.write(
    `(${opts.runs} runs; ${cpus().length} CPUs ${cpus()[0]?.model}; node ${process.version}; ${skopeoVersion}; docker-registry = Debian's CNCF distribution; ratios are throughput ours/distribution, > 1 = ours faster)\n`,
  );
}

main().catch((err) => {
  process.stderr.write(`bench: ${err.stack ?? err}\n`);
  process.exit(1);
});
