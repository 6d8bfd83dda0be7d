#!/usr/bin/env node
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, parseOptions, run, startRegistry, treeCpu } from './common.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BUNDLE = join(ROOT, 'meta-container-registry', 'files', 'container-registry.mjs');
const MiB = 1024 * 1024;

function parseArgs(argv) {
  const o = { runs: 3, pushes: 4, sizeMib: 1024, workers: 2, registries: undefined, workdir: undefined, storageDir: undefined, keep: false };
  parseOptions(argv, {
    script: import.meta.url,
    helpLines: 17,
    valued: {
      '--runs': (v) => (o.runs = Number(v)),
      '--pushes': (v) => (o.pushes = Number(v)),
      '--size-mib': (v) => (o.sizeMib = Number(v)),
      '--workers': (v) => (o.workers = Number(v)),
      '--registries': (v) => (o.registries = v.split(',')),
      '--workdir': (v) => (o.workdir = resolve(v)),
      '--storage-dir': (v) => (o.storageDir = resolve(v)),
    },
    switches: {
      '--keep': () => (o.keep = true),
    },
  });
  if (!(o.runs >= 1) || !(o.pushes >= 1) || !(o.sizeMib >= 1) || !(o.workers >= 2))
    throw new Error('--runs, --pushes and --size-mib must be positive, --workers at least 2');
  o.registries ??= ['1cpu', 'w1', `w${o.workers}`, 'distribution'];
  return o;
}

function log(msg) {
  process.stderr.write(`[cores ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

/** makeBlob writes `size` random bytes (AES-128-CTR over zeros) to `path` and returns their digest. */
async function makeBlob(path, size) {
  const cipher = createCipheriv('aes-128-ctr', randomBytes(16), randomBytes(16));
  const hash = createHash('sha256');
  const out = createWriteStream(path);
  const zeros = Buffer.alloc(4 * MiB);
  for (let left = size; left > 0; ) {
    const n = Math.min(zeros.length, left);
    const chunk = cipher.update(n === zeros.length ? zeros : zeros.subarray(0, n));
    hash.update(chunk);
    if (!out.write(chunk)) await new Promise((r) => out.once('drain', r));
    left -= n;
  }
  await new Promise((r, j) => out.end((err) => (err ? j(err) : r())));
  return `sha256:${hash.digest('hex')}`;
}

async function blobs(o, work) {
  const marker = join(work, 'cores-blobs.json');
  if (existsSync(marker)) {
    const had = JSON.parse(await readFile(marker, 'utf8'));
    if (had.sizeMib === o.sizeMib && had.files.length >= o.pushes) {
      log(`reusing the blobs in ${work}`);
      return had.files.slice(0, o.pushes);
    }
  }
  const files = [];
  for (let i = 0; i < o.pushes; i++) {
    const path = join(work, `blob-${i}`);
    files.push({ path, digest: await makeBlob(path, o.sizeMib * MiB) });
  }
  await writeFile(marker, JSON.stringify({ sizeMib: o.sizeMib, files }));
  log(`made ${o.pushes} blobs of ${o.sizeMib} MiB`);
  return files;
}

/** push is POST, then curl's PUT ?digest= of the whole file (streamed, Content-Length known). */
async function push(base, repo, file) {
  const post = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  await post.arrayBuffer();
  if (post.status !== 202) throw new Error(`POST ${post.status}`);
  const put = new URL(post.headers.get('location'), base);
  put.searchParams.set('digest', file.digest);
  const { out: status } = await run('curl', [
    '-sS',
    '-o',
    '/dev/null',
    '-w',
    '%{http_code}',
    '-T',
    file.path,
    '-H',
    'Content-Type: application/octet-stream',
    put.href,
  ]);
  if (status.trim() !== '201') throw new Error(`PUT ${status.trim()}`);
}

async function runOne(o, kind, storage, files) {
  const reg =
    kind === 'distribution'
      ? await startRegistry('distribution', storage)
      : await startRegistry('ours', storage, { bundle: BUNDLE, serveArgs: ['--workers', kind === '1cpu' ? '1' : kind.slice(1)] });
  try {
    // Every thread of the process, and those it starts later, on CPU 0.
    if (kind === '1cpu') await run('taskset', ['-a', '-p', '-c', '0', String(reg.pid)]);
    await run('sync', []);
    const cpu0 = treeCpu(reg.pid).total;
    const started = performance.now();
    await Promise.all(files.map((f, i) => push(reg.url, `cores/blob${i}`, f)));
    const seconds = (performance.now() - started) / 1000;
    const cpu = treeCpu(reg.pid).total - cpu0;
    for (const f of files) {
      const head = await fetch(`${reg.url}/v2/cores/blob${files.indexOf(f)}/blobs/${f.digest}`, { method: 'HEAD' });
      if (head.status !== 200 || Number(head.headers.get('content-length')) !== o.sizeMib * MiB) throw new Error(`${kind}: ${f.digest} not stored whole`);
    }
    // Then every blob pulled back at once, by curl into /dev/null.
    const cpu1 = treeCpu(reg.pid).total;
    const pulled = performance.now();
    const sizes = await Promise.all(
      files.map((f, i) => run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code} %{size_download}', `${reg.url}/v2/cores/blob${i}/blobs/${f.digest}`])),
    );
    const getSeconds = (performance.now() - pulled) / 1000;
    const getCpu = treeCpu(reg.pid).total - cpu1;
    for (const { out: s } of sizes) if (s.trim() !== `200 ${o.sizeMib * MiB}`) throw new Error(`${kind}: GET answered ${s.trim()}`);
    return { seconds, cpu, getSeconds, getCpu };
  } finally {
    await reg.stop();
  }
}

function row(cells, widths) {
  return cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run npm run build`);
  const work = o.workdir ?? (await mkdtemp(join(tmpdir(), 'cr-cores-')));
  await mkdir(work, { recursive: true });
  const loads = [
    loadavg()
      .map((x) => x.toFixed(2))
      .join(' '),
  ];
  log(`node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model}), load ${loads[0]}, work dir ${work}, storage in ${o.storageDir ?? work}`);
  const results = Object.fromEntries(o.registries.map((k) => [k, []]));
  try {
    const files = await blobs(o, work);
    for (let r = 0; r < o.runs; r++) {
      const order = r % 2 === 0 ? o.registries : [...o.registries].reverse();
      for (const kind of order) {
        const storage = join(o.storageDir ?? work, `cr-cores-storage-${kind}`);
        await rm(storage, { recursive: true, force: true });
        await mkdir(storage, { recursive: true });
        const res = await runOne(o, kind, storage, files);
        await rm(storage, { recursive: true, force: true });
        results[kind].push(res);
        loads.push(
          loadavg()
            .map((x) => x.toFixed(2))
            .join(' '),
        );
        log(
          `run ${r + 1} ${kind}: ${o.pushes} x ${o.sizeMib} MiB in ${res.seconds.toFixed(2)} s (${((o.pushes * o.sizeMib) / res.seconds).toFixed(0)} MiB/s), server CPU ${res.cpu.toFixed(1)} s; GET ${res.getSeconds.toFixed(2)} s; load ${loads.at(-1)}`,
        );
      }
    }
  } finally {
    if (!o.keep && !o.workdir) await rm(work, { recursive: true, force: true });
  }
  const total = o.pushes * o.sizeMib;
  const med = (k, key) => median(results[k].map((x) => x[key]));
  const widths = [30, ...o.registries.map((k) => Math.max(12, k.length))];
  const lines = [
    row(['', ...o.registries], widths),
    row(['-'.repeat(widths[0]), ...o.registries.map((_, i) => '-'.repeat(widths[i + 1]))], widths),
    row([`${o.pushes} x ${o.sizeMib} MiB, median s`, ...o.registries.map((k) => med(k, 'seconds').toFixed(2))], widths),
    row(['throughput MiB/s', ...o.registries.map((k) => (total / med(k, 'seconds')).toFixed(0))], widths),
    row(['server CPU s (median)', ...o.registries.map((k) => med(k, 'cpu').toFixed(1))], widths),
    row(['runs s', ...o.registries.map((k) => results[k].map((x) => x.seconds.toFixed(1)).join(','))], widths),
    row([`GET of all ${o.pushes} at once, median s`, ...o.registries.map((k) => med(k, 'getSeconds').toFixed(2))], widths),
    row(['  throughput MiB/s', ...o.registries.map((k) => (total / med(k, 'getSeconds')).toFixed(0))], widths),
    row(['  server CPU s (median)', ...o.registries.map((k) => med(k, 'getCpu').toFixed(1))], widths),
  ];
  process.stdout.write(`\n${lines.join('\n')}\n\n`);
  const wN = `w${o.workers}`;
  for (const base of ['1cpu', 'w1']) {
    if (!results[base]?.length || !results[wN]?.length) continue;
    const speedup = med(base, 'seconds') / med(wN, 'seconds');
    // Runs are taken back to back, so a per-run ratio is blind to the machine drifting between runs.
    const paired = median(results[base].map((x, i) => x.seconds / results[wN][i].seconds));
    const what = base === '1cpu' ? 'one core (--workers 1 on one CPU)' : '--workers 1 on every CPU';
    const target = base === '1cpu' ? `; target >= 1.6x: ${speedup >= 1.6 ? 'MET' : 'NOT MET'}` : '';
    process.stdout.write(`--workers ${o.workers} against ${what}: ${speedup.toFixed(2)}x (paired ${paired.toFixed(2)}x${target})\n`);
  }
  if (results.distribution?.length) {
    const vs = o.registries.filter((k) => k !== 'distribution' && results[k].length);
    process.stdout.write(`against distribution: ${vs.map((k) => `${k} ${(med('distribution', 'seconds') / med(k, 'seconds')).toFixed(2)}x`).join(', ')}\n`);
  }
  process.stdout.write(
    `(${o.runs} runs; ${cpus().length} CPUs ${cpus()[0]?.model}; node ${process.version}; load average before/after each: ${loads.join(' | ')})\n`,
  );
}

main().catch((err) => {
  process.stderr.write(`cores: ${err.stack ?? err}\n`);
  process.exit(1);
});
