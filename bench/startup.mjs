#!/usr/bin/env node
// Benchmark: the helper's start-up against Node's own. N rounds, each running `node -e 0`,
// `container-registry --version`, `--help`, and a re-push of an unchanged small layout into a
// running registry of ours (a ping and HEADs; nothing sent), in a rotating order so drift
// and page-cache state favour none; medians and their ratio to `node -e 0` (target: 1.8x or less).
//
//   npm run build && node bench/startup.mjs [--runs 30] [--bundle FILE] [--server-bundle FILE] [--node PATH] [--layers 2] [--layer-kib 512]
//
// --bundle A/Bs another build (`node scripts/build.mjs --outdir DIR` of another checkout; a one-file
// bundle of an older commit: `git show <commit>:meta-container-registry/files/container-registry.mjs
// > /tmp/old.mjs`); --server-bundle runs the registry from another build than the one timed. --node runs
// every command (and the registry) with another node, e.g. one >= 22.1, where the helper turns on
// Node's compile cache: the warm-up round fills it, so the timed rounds read it.
import { spawn } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, startRegistry, tarHeader, writeBlob, writeImageLayout } from './common.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
}
const runs = Number(arg('runs', '30'));
const bundle = resolve(arg('bundle', join(ROOT, 'meta-container-registry', 'files', 'container-registry.mjs')));
const serverBundle = resolve(arg('server-bundle', bundle));
const node = resolve(arg('node', process.execPath));
const layers = Number(arg('layers', '2'));
const layerKiB = Number(arg('layer-kib', '512'));
if (!existsSync(bundle)) throw new Error(`${bundle} missing: npm run build`);

const work = mkdtempSync(join(tmpdir(), 'cr-startup-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
// The helper's per-user files (upload records, running-instance records, tag locks) go here, not
// to the user's folders, for the registry and the timed commands alike (the client finds the
// registry's record, as a build's script does); the compile cache (node >= 22.1) stays where Node
// puts it by default.
Object.assign(process.env, {
  XDG_CACHE_HOME: join(work, 'cache'),
  XDG_DATA_HOME: join(work, 'data'),
  XDG_RUNTIME_DIR: join(work, 'run'),
  CONTAINER_REGISTRY_SECURE: '',
  CONTAINER_REGISTRY_AUTH_MODE: '',
});
const env = { ...process.env };

/** buildLayout writes a deploy/ tree with one small image: `layers` tar layers of random bytes. */
function buildLayout() {
  const deployDir = join(work, 'deploy', 'images', 'qemux86-64');
  const layout = join(deployDir, 'startup-qemux86-64.rootfs-20260101000000-oci');
  const blobs = join(layout, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const descs = [];
  for (let i = 0; i < layers; i++) {
    const body = randomFillSync(Buffer.alloc(layerKiB * 1024));
    const tar = Buffer.concat([tarHeader(`layer${i}.bin`, body.length), body, Buffer.alloc(1024)]);
    descs.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...writeBlob(blobs, tar) });
  }
  writeImageLayout(layout, descs);
  return deployDir;
}

/** timed runs one command to its end: wall-clock seconds and its output. */
function timed(args) {
  return new Promise((res, rej) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(node, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    child.on('close', (code) => {
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      code === 0 ? res({ s, out }) : rej(new Error(`node ${args.join(' ')} failed (${code}): ${err.slice(0, 400)}`));
    });
  });
}

const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const nodeVersion = (await timed(['--version'])).out.trim();
console.log(`node ${nodeVersion} (${node}), bundle ${bundle}, ${runs} rounds; load average ${loadavg()}`);

const deployDir = buildLayout();
const storage = join(work, 'storage');
mkdirSync(storage);
const reg = await startRegistry('ours', storage, { bundle: serverBundle });
try {
  const push = [bundle, 'push', '--registry', reg.host, '--insecure', '--json', '--strategy', 'latest', '--deploy-dir', deployDir];
  await timed(push);
  const commands = [
    { name: 'node -e 0', args: ['-e', '0'] },
    { name: '--version', args: [bundle, '--version'] },
    { name: '--help', args: [bundle, '--help'] },
    { name: 're-push unchanged', args: push, check: (out) => JSON.parse(out).results.every((r) => r.bytesSent === 0) },
  ];
  const times = commands.map(() => []);
  // Round 0 warms the page cache (and a compile cache) and is not counted.
  for (let round = 0; round <= runs; round++) {
    for (let k = 0; k < commands.length; k++) {
      const i = (k + round) % commands.length;
      const { s, out } = await timed(commands[i].args);
      if (commands[i].check && !commands[i].check(out)) throw new Error(`${commands[i].name}: sent bytes`);
      if (round > 0) times[i].push(s);
    }
  }
  const base = median(times[0]);
  console.log(`\ncommand              median     min   ratio to node -e 0`);
  for (const [i, c] of commands.entries()) {
    const m = median(times[i]);
    console.log(
      `${c.name.padEnd(18)} ${`${m.toFixed(3)} s`.padStart(8)} ${Math.min(...times[i])
        .toFixed(3)
        .padStart(7)}   ${(m / base).toFixed(2)}x`,
    );
  }
  console.log(`load average after: ${loadavg()}`);
} finally {
  await reg.stop();
}
