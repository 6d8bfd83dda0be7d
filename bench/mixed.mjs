#!/usr/bin/env node
// Mixed load: pulls of a big blob and pushes of small images at the same time, ours against CNCF
// distribution (Debian's docker-registry) in one run, on the same machine.
//
// `--pullers` clients each GET one `--blob-mib` blob over and over (keep-alive, body counted and
// dropped), while `--pushers` clients each push small images one after the other (POST + PUT
// ?digest of a 16 KiB layer and of a config, then PUT of the manifest under a new tag), for
// `--seconds`. Fresh storage per registry. It prints pushes/s, push p50/p99 (one whole image push),
// pull MiB/s, pull p50/p99 (one whole GET), errors, and the server's CPU time (the process and
// its children, /proc/<pid>/stat) side by side, with ratios against distribution.
//
// Usage: npm run build && node bench/mixed.mjs [--seconds 60] [--pullers 100] [--pushers 100]
//          [--blob-mib 50] [--runs 1] [--registries ours,distribution] [--bundle FILE]
//          [--baseline FILE] [--serve-args "--workers 2"] [--variant "w1=--workers 1"]...
//          [--env UV_THREADPOOL_SIZE=64] [--node-args "--cpu-prof --cpu-prof-dir=/tmp/prof"]
// --variant NAME=ARGS (repeatable) adds a column NAME: ours with `serve ARGS` instead of --serve-args.
// --baseline adds a column for another build of ours, e.g. the last commit's:
//   git show HEAD:meta-container-registry/files/container-registry.mjs > /tmp/old.mjs
//   node bench/mixed.mjs --baseline /tmp/old.mjs
// Plain node, no dependencies; Linux (/proc).
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, parseOptions, startRegistry, treeCpu } from './common.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MiB = 1024 * 1024;

function parseArgs(argv) {
  const o = {
    seconds: 60,
    pullers: 100,
    pushers: 100,
    blobMib: 50,
    runs: 1,
    registries: ['ours', 'distribution'],
    bundle: join(ROOT, 'meta-container-registry', 'files', 'container-registry.mjs'),
    baseline: undefined,
    serveArgs: [],
    variants: {},
    env: {},
    nodeArgs: [],
  };
  parseOptions(argv, {
    script: import.meta.url,
    helpLines: 19,
    valued: {
      '--seconds': (v) => (o.seconds = Number(v)),
      '--pullers': (v) => (o.pullers = Number(v)),
      '--pushers': (v) => (o.pushers = Number(v)),
      '--blob-mib': (v) => (o.blobMib = Number(v)),
      '--runs': (v) => (o.runs = Number(v)),
      '--registries': (v) => (o.registries = v.split(',')),
      '--bundle': (v) => (o.bundle = resolve(v)),
      '--baseline': (v) => (o.baseline = resolve(v)),
      '--serve-args': (v) => (o.serveArgs = v.split(' ').filter(Boolean)),
      '--variant': (v) => {
        const [name, ...args] = v.split('=');
        o.variants[name] = args.join('=').split(' ').filter(Boolean);
      },
      '--node-args': (v) => (o.nodeArgs = v.split(' ').filter(Boolean)),
      '--env': (v) => {
        const [k, ...rest] = v.split('=');
        o.env[k] = rest.join('=');
      },
    },
  });
  if (!(o.seconds > 0) || !(o.pullers >= 0) || !(o.pushers >= 0) || !(o.blobMib > 0) || !(o.runs >= 1)) {
    throw new Error('--seconds, --blob-mib and --runs must be positive, --pullers and --pushers not negative');
  }
  if (o.baseline) o.registries = [...new Set([...o.registries, 'baseline'])];
  o.registries = [...new Set([...o.registries, ...Object.keys(o.variants)])];
  return o;
}

function log(msg) {
  process.stderr.write(`[mixed ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

function sha256(b) {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

function percentile(xs, p) {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

/** call sends one request and resolves to status, headers and body (bodies dropped with `discard`, only counted). */
function call(agent, url, method, { headers = {}, body, discard = false, onBytes } = {}) {
  return new Promise((res, rej) => {
    const req = request(url, { method, agent, headers: { ...headers, 'Content-Length': body ? String(body.length) : '0' } }, (resp) => {
      const chunks = [];
      let bytes = 0;
      resp.on('data', (c) => {
        bytes += c.length;
        onBytes?.(c.length);
        if (!discard) chunks.push(c);
      });
      resp.on('end', () => res({ status: resp.statusCode, headers: resp.headers, body: discard ? undefined : Buffer.concat(chunks), bytes }));
      resp.on('error', rej);
    });
    req.on('error', rej);
    req.end(body);
  });
}

/** uploadBlob is POST, then PUT ?digest with the whole body (the monolithic upload every registry takes). */
async function uploadBlob(agent, base, repo, data) {
  const post = await call(agent, `${base}/v2/${repo}/blobs/uploads/`, 'POST');
  if (post.status !== 202) throw new Error(`POST ${post.status}`);
  const put = new URL(post.headers.location, base);
  put.searchParams.set('digest', sha256(data));
  const res = await call(agent, put, 'PUT', { headers: { 'Content-Type': 'application/octet-stream' }, body: data });
  if (res.status !== 201) throw new Error(`PUT blob ${res.status} ${res.body}`);
}

/** pushImage pushes one small image: a 16 KiB layer, a config and the manifest under `tag`. */
async function pushImage(agent, base, repo, tag) {
  const layer = randomBytes(16 * 1024);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(layer)] }, tag }));
  await uploadBlob(agent, base, repo, layer);
  await uploadBlob(agent, base, repo, config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length }],
    }),
  );
  const res = await call(agent, `${base}/v2/${repo}/manifests/${tag}`, 'PUT', {
    headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
    body: manifest,
  });
  if (res.status !== 201) throw new Error(`PUT manifest ${res.status} ${res.body}`);
}

async function runOne(o, kind, storage) {
  const reg =
    kind === 'distribution'
      ? await startRegistry('distribution', storage)
      : await startRegistry('ours', storage, {
          bundle: kind === 'baseline' ? o.baseline : o.bundle,
          nodeArgs: o.nodeArgs,
          serveArgs: o.variants[kind] ?? o.serveArgs,
          env: o.env,
        });
  const agent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });
  try {
    // The blob everyone pulls, pushed once and read once (so the page cache holds it for both).
    const blob = randomBytes(o.blobMib * MiB);
    const blobDigest = sha256(blob);
    await uploadBlob(agent, reg.url, 'mixed/pull', blob);
    const warm = await call(agent, `${reg.url}/v2/mixed/pull/blobs/${blobDigest}`, 'GET', { discard: true });
    if (warm.status !== 200 || warm.bytes !== blob.length) throw new Error(`warm-up GET: ${warm.status}, ${warm.bytes} bytes`);

    const r = { pushes: 0, pushSeconds: [], pulls: 0, pullSeconds: [], pullBytes: 0, errors: 0, firstError: '', inFlightPushes: new Set() };
    let open = true;
    const started = performance.now();
    const deadline = started + o.seconds * 1000;
    const cpu0 = treeCpu(reg.pid).total;
    const client0 = process.cpuUsage();
    const failed = (err) => {
      if (!open) return;
      r.errors++;
      r.firstError ||= err.message;
    };
    const puller = async () => {
      while (open) {
        const t0 = performance.now();
        try {
          const res = await call(agent, `${reg.url}/v2/mixed/pull/blobs/${blobDigest}`, 'GET', {
            discard: true,
            onBytes: (n) => {
              if (open) r.pullBytes += n;
            },
          });
          if (res.status !== 200 || res.bytes !== blob.length) throw new Error(`GET blob ${res.status}, ${res.bytes} bytes`);
          if (!open) break;
          r.pulls++;
          r.pullSeconds.push((performance.now() - t0) / 1000);
        } catch (err) {
          failed(err);
        }
      }
    };
    const pusher = async (p) => {
      for (let n = 0; open; n++) {
        const t0 = performance.now();
        r.inFlightPushes.add(t0);
        try {
          await pushImage(agent, reg.url, `mixed/app${p % 10}`, `p${p}-${n}`);
          if (!open) break;
          r.pushes++;
          r.pushSeconds.push((performance.now() - t0) / 1000);
        } catch (err) {
          failed(err);
        } finally {
          r.inFlightPushes.delete(t0);
        }
      }
    };
    const clients = [...Array.from({ length: o.pullers }, () => puller()), ...Array.from({ length: o.pushers }, (_, p) => pusher(p))];
    await new Promise((r2) => setTimeout(r2, Math.max(0, deadline - performance.now())));
    open = false;
    const seconds = (performance.now() - started) / 1000;
    const cpu = treeCpu(reg.pid).total - cpu0;
    const client = process.cpuUsage(client0);
    const oldest = r.inFlightPushes.size ? (performance.now() - Math.min(...r.inFlightPushes)) / 1000 : 0;
    const unfinished = r.inFlightPushes.size;
    // In-flight requests are cut: what they would have added is not counted.
    agent.destroy();
    await Promise.allSettled(clients);
    return {
      seconds,
      pushesPerSecond: r.pushes / seconds,
      pushes: r.pushes,
      pushP50: percentile(r.pushSeconds, 50),
      pushP99: percentile(r.pushSeconds, 99),
      unfinished,
      oldest,
      pullMibPerSecond: r.pullBytes / MiB / seconds,
      pulls: r.pulls,
      pullP50: percentile(r.pullSeconds, 50),
      pullP99: percentile(r.pullSeconds, 99),
      errors: r.errors,
      firstError: r.firstError,
      cpu,
      clientCpu: (client.user + client.system) / 1e6,
    };
  } finally {
    agent.destroy();
    await reg.stop();
  }
}

function row(cells, widths) {
  return cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  for (const b of [o.bundle, o.baseline].filter(Boolean)) if (!existsSync(b)) throw new Error(`${b} is missing: run npm run build`);
  const work = await mkdtemp(join(tmpdir(), 'cr-mixed-'));
  const loads = [
    loadavg()
      .map((x) => x.toFixed(2))
      .join(' '),
  ];
  log(`node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model}), load ${loads[0]}`);
  const envText = Object.entries(o.env)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const variants = Object.entries(o.variants)
    .map(([k, v]) => `; ${k}: serve ${v.join(' ')}`)
    .join('');
  log(
    `${o.pullers} pullers of a ${o.blobMib} MiB blob, ${o.pushers} pushers of small images, ${o.seconds} s per registry, ${o.runs} run(s); ours: serve ${o.serveArgs.join(' ')}${variants}${envText ? `; env ${envText}` : ''}`,
  );
  const results = Object.fromEntries(o.registries.map((k) => [k, []]));
  try {
    for (let run = 0; run < o.runs; run++) {
      // Alternate the order, so a drift of the machine hits every registry alike.
      const order = run % 2 === 0 ? o.registries : [...o.registries].reverse();
      for (const kind of order) {
        const storage = join(work, `storage-${kind}-${run}`);
        await mkdir(storage, { recursive: true });
        const res = await runOne(o, kind, storage);
        await rm(storage, { recursive: true, force: true });
        results[kind].push(res);
        loads.push(
          loadavg()
            .map((x) => x.toFixed(2))
            .join(' '),
        );
        log(
          `run ${run + 1} ${kind}: ${res.pushesPerSecond.toFixed(1)} pushes/s (p50 ${res.pushP50.toFixed(2)} s, p99 ${res.pushP99.toFixed(2)} s, ${res.unfinished} unfinished, oldest ${res.oldest.toFixed(1)} s), pull ${res.pullMibPerSecond.toFixed(0)} MiB/s (${res.pulls} GETs, p99 ${res.pullP99.toFixed(2)} s), ${res.errors} errors${res.firstError ? ` (first: ${res.firstError})` : ''}, server CPU ${res.cpu.toFixed(1)} s, client CPU ${res.clientCpu.toFixed(1)} s; load ${loads.at(-1)}`,
        );
      }
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  const med = (kind, key) => median(results[kind].map((x) => x[key]));
  const ours = o.registries.filter((k) => k !== 'distribution');
  const hasDist = o.registries.includes('distribution');
  const header = ['', ...o.registries, ...(hasDist ? ours.map((k) => `${k}/dist`) : [])];
  const widths = [26, ...header.slice(1).map((h) => Math.max(12, h.length))];
  // higher = better for throughput; for latencies the ratio is dist/ours, so > 1 = ours better too
  const lines = [
    ['pushes/s', 'pushesPerSecond', (x) => x.toFixed(1), 'up'],
    ['push p50 s', 'pushP50', (x) => x.toFixed(2), 'down'],
    ['push p99 s', 'pushP99', (x) => x.toFixed(2), 'down'],
    ['pushes unfinished at end', 'unfinished', (x) => x.toFixed(0), ''],
    ['pull MiB/s', 'pullMibPerSecond', (x) => x.toFixed(0), 'up'],
    ['pull GETs', 'pulls', (x) => x.toFixed(0), ''],
    ['pull p50 s', 'pullP50', (x) => x.toFixed(2), 'down'],
    ['pull p99 s', 'pullP99', (x) => x.toFixed(2), 'down'],
    ['errors', 'errors', (x) => x.toFixed(0), ''],
    ['server CPU s', 'cpu', (x) => x.toFixed(1), ''],
    ['client CPU s', 'clientCpu', (x) => x.toFixed(1), ''],
  ];
  const out = [
    row(header, widths),
    row(
      header.map((_, i) => '-'.repeat(widths[i])),
      widths,
    ),
  ];
  for (const [label, key, fmt, dir] of lines) {
    const cells = o.registries.map((k) => fmt(med(k, key)));
    const ratios = hasDist
      ? ours.map((k) => {
          if (!dir) return '';
          const a = med(k, key);
          const d = med('distribution', key);
          return `${(dir === 'up' ? a / d : d / a).toFixed(2)}x`;
        })
      : [];
    out.push(row([label, ...cells, ...ratios], widths));
  }
  process.stdout.write(`\n${out.join('\n')}\n\n`);
  process.stdout.write(
    `(${o.runs} run(s) of ${o.seconds} s, medians; ${o.pullers} pullers of ${o.blobMib} MiB, ${o.pushers} pushers; ratios > 1 = ours better; ${cpus().length} CPUs ${cpus()[0]?.model}; node ${process.version}; load average before/after each registry: ${loads.join(' | ')})\n`,
  );
}

main().catch((err) => {
  process.stderr.write(`mixed: ${err.stack ?? err}\n`);
  process.exit(1);
});
