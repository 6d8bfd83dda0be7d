#!/usr/bin/env node
// What hostile input costs the endpoints next to the distribution API, against the built bundle:
//
//   1. GET /v2/<name>/tags/list?n=10 on a repository of --tags tags (13,000 by default): one image
//      is pushed, then the tag folders are written straight into the storage, every one a `current`
//      link to that manifest. Median of --runs calls; also GET /v2/ while such a call is running,
//      and the UI's tags and repositories calls on the same repository.
//   2. GET /ui/api/image of a manifest whose config descriptor declares 500 bytes but names a
//      --config-mib MiB blob of valid JSON (written straight into the storage and linked). Median of
//      --runs calls on a fresh server, whether it answered a config, and the server's VmHWM after.
//
// Usage: npm run build && node bench/endpoints.mjs [--tags 13000] [--config-mib 300] [--runs 5]
//          [--only tags,image] [--bundle other-build.mjs] [--workdir DIR] [--keep]
// Plain node, no dependencies; Linux (/proc) for the memory figure.
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { median, parseOptions, startRegistry, tarHeader } from './common.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MiB = 1024 * 1024;

function parseArgs(argv) {
  const o = {
    tags: 13_000,
    configMib: 300,
    runs: 5,
    only: ['tags', 'image'],
    bundle: join(ROOT, 'meta-container-registry', 'files', 'container-registry.mjs'),
    workdir: undefined,
    keep: false,
  };
  parseOptions(argv, {
    script: import.meta.url,
    helpLines: 13,
    valued: {
      '--tags': (v) => (o.tags = Number(v)),
      '--config-mib': (v) => (o.configMib = Number(v)),
      '--runs': (v) => (o.runs = Number(v)),
      '--only': (v) => (o.only = v.split(',')),
      '--bundle': (v) => (o.bundle = resolve(v)),
      '--workdir': (v) => (o.workdir = resolve(v)),
    },
    switches: { '--keep': () => (o.keep = true) },
  });
  return o;
}

const sha256 = (data) => `sha256:${createHash('sha256').update(data).digest('hex')}`;
const v2 = (storage) => join(storage, 'docker', 'registry', 'v2');

async function check(res, want, what) {
  if (res.status !== want) throw new Error(`${what}: ${res.status} ${await res.text()}`);
  return res;
}

/** pushSmallImage pushes a one-layer image under `tag`; it answers the manifest's digest and its layer. */
async function pushSmallImage(url, repo, tag, configOverride) {
  const content = Buffer.from(`hello ${randomBytes(4).toString('hex')}\n`);
  const tar = Buffer.concat([tarHeader('hello.txt', content.length), content, Buffer.alloc(512 - content.length), Buffer.alloc(1024)]);
  const layer = gzipSync(tar);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [sha256(tar)] } }));
  for (const blob of configOverride ? [layer] : [config, layer]) {
    await check(
      await fetch(`${url}/v2/${repo}/blobs/uploads/?digest=${sha256(blob)}`, {
        method: 'POST',
        body: blob,
        headers: { 'Content-Type': 'application/octet-stream' },
      }),
      201,
      'blob upload',
    );
  }
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: configOverride ?? { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(layer), size: layer.length }],
    }),
  );
  await check(
    await fetch(`${url}/v2/${repo}/manifests/${tag}`, {
      method: 'PUT',
      body: manifest,
      headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
    }),
    201,
    'manifest put',
  );
  return sha256(manifest);
}

/** writeTagFolders writes `count` tags straight into the storage, each a `current` link to `digest`. */
async function writeTagFolders(storage, repo, digest, count) {
  const root = join(v2(storage), 'repositories', ...repo.split('/'), '_manifests', 'tags');
  const width = String(count).length;
  for (let start = 0; start < count; start += 256) {
    await Promise.all(
      Array.from({ length: Math.min(256, count - start) }, async (_, k) => {
        const dir = join(root, `t${String(start + k).padStart(width, '0')}`, 'current');
        await mkdir(dir, { recursive: true });
        await writeFile(join(dir, 'link'), digest);
      }),
    );
  }
}

/** writeJsonBlob writes a `mib` MiB config-shaped JSON blob into the storage and links it into `repo`. */
async function writeJsonBlob(storage, work, repo, mib) {
  const tmp = join(work, 'big-config.json');
  const hash = createHash('sha256');
  const out = createWriteStream(tmp);
  const write = (s) => {
    const b = Buffer.from(s);
    hash.update(b);
    return out.write(b) ? undefined : new Promise((r) => out.once('drain', r));
  };
  await write('{"architecture":"amd64","os":"linux","config":{"Env":[');
  const entry = `"PADDING=${'x'.repeat(90)}"`;
  const per = 10_000;
  const chunk = Array.from({ length: per }, () => entry).join(',');
  let size = 0;
  for (let i = 0; size < mib * MiB; i++) {
    await write(i === 0 ? chunk : `,${chunk}`);
    size += chunk.length + 1;
  }
  await write(']}}');
  await new Promise((r, j) => out.end((err) => (err ? j(err) : r())));
  const digest = `sha256:${hash.digest('hex')}`;
  const hex = digest.slice(7);
  const dataDir = join(v2(storage), 'blobs', 'sha256', hex.slice(0, 2), hex);
  await mkdir(dataDir, { recursive: true });
  await rename(tmp, join(dataDir, 'data'));
  const link = join(v2(storage), 'repositories', ...repo.split('/'), '_layers', 'sha256', hex);
  await mkdir(link, { recursive: true });
  await writeFile(join(link, 'link'), digest);
  return digest;
}

async function timed(fn) {
  const t0 = performance.now();
  const r = await fn();
  return { ms: performance.now() - t0, r };
}

function vm(pid, key) {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

const fmt = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`);

async function benchTags(o, work) {
  const storage = join(work, 'tags-storage');
  await mkdir(storage, { recursive: true });
  const repo = 'bench/many-tags';
  let reg = await startRegistry('ours', storage, { bundle: o.bundle });
  const digest = await pushSmallImage(reg.url, repo, 'seed');
  await reg.stop();
  await writeTagFolders(storage, repo, digest, o.tags);
  reg = await startRegistry('ours', storage, { bundle: o.bundle });
  try {
    const call = async (path) => {
      const res = await fetch(`${reg.url}${path}`);
      const body = await res.text();
      if (res.status !== 200) throw new Error(`${path}: ${res.status} ${body.slice(0, 200)}`);
      return body;
    };
    const page = JSON.parse(await call(`/v2/${repo}/tags/list?n=10`));
    if (page.tags.length !== 10) throw new Error(`tags/list?n=10 gave ${page.tags.length} tags`);
    const list = [];
    const ping = [];
    for (let i = 0; i < o.runs; i++) {
      const running = timed(() => call(`/v2/${repo}/tags/list?n=10`));
      await new Promise((r) => setTimeout(r, 5));
      ping.push((await timed(() => call('/v2/'))).ms);
      list.push((await running).ms);
    }
    const all = await timed(() => call(`/v2/${repo}/tags/list`));
    const uiTags = [];
    const uiRepos = [];
    for (let i = 0; i < o.runs; i++) {
      uiTags.push((await timed(() => call(`/ui/api/tags?repository=${encodeURIComponent(repo)}&n=50`))).ms);
      uiRepos.push((await timed(() => call('/ui/api/repositories'))).ms);
    }
    console.log(`tags: ${o.tags + 1} tags in ${repo}, ${o.runs} runs, bundle ${o.bundle}`);
    console.log(`  GET tags/list?n=10           median ${fmt(median(list))} (min ${fmt(Math.min(...list))}, max ${fmt(Math.max(...list))})`);
    console.log(`  GET /v2/ during that call    median ${fmt(median(ping))} (max ${fmt(Math.max(...ping))})`);
    console.log(`  GET tags/list (all)          ${fmt(all.ms)} (${JSON.parse(all.r).tags.length} tags)`);
    console.log(`  GET /ui/api/tags?n=50        median ${fmt(median(uiTags))}`);
    console.log(`  GET /ui/api/repositories     median ${fmt(median(uiRepos))}`);
  } finally {
    await reg.stop();
  }
}

async function benchImage(o, work) {
  const storage = join(work, 'image-storage');
  await mkdir(storage, { recursive: true });
  const repo = 'bench/big-config';
  const big = await writeJsonBlob(storage, work, repo, o.configMib);
  const reg = await startRegistry('ours', storage, { bundle: o.bundle });
  try {
    await pushSmallImage(reg.url, repo, 'v1', { mediaType: 'application/vnd.oci.image.config.v1+json', digest: big, size: 500 });
    const hwmBefore = vm(reg.pid, 'VmHWM');
    const times = [];
    let config;
    for (let i = 0; i < o.runs; i++) {
      const { ms, r } = await timed(async () => {
        const res = await fetch(`${reg.url}/ui/api/image?repository=${encodeURIComponent(repo)}&reference=v1`);
        const text = await res.text();
        if (res.status !== 200) throw new Error(`/ui/api/image: ${res.status} ${text.slice(0, 200)}`);
        return text;
      });
      times.push(ms);
      config = JSON.parse(r).config;
    }
    console.log(`image: config descriptor says 500 bytes, the blob is ${o.configMib} MiB of JSON; ${o.runs} runs, bundle ${o.bundle}`);
    console.log(
      `  GET /ui/api/image            median ${fmt(median(times))} (min ${fmt(Math.min(...times))}, max ${fmt(Math.max(...times))}); config ${config === null ? 'null' : 'read'}`,
    );
    console.log(`  server VmHWM                 ${hwmBefore.toFixed(0)} MiB before, ${vm(reg.pid, 'VmHWM').toFixed(0)} MiB after`);
  } finally {
    await reg.stop();
  }
}

const o = parseArgs(process.argv.slice(2));
const work = o.workdir ?? (await mkdtemp(join(tmpdir(), 'cr-bench-endpoints-')));
try {
  if (o.only.includes('tags')) await benchTags(o, work);
  if (o.only.includes('image')) await benchImage(o, work);
} finally {
  if (!o.keep) await rm(work, { recursive: true, force: true });
}
