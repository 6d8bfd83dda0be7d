// mDNS, tested only inside two network namespaces this test creates and joins with a veth pair:
// nothing is ever sent on the host's network. The registry in one namespace announces itself; a
// small querier in the other finds `_oci-registry._tcp`, resolves `registry.local`, reaches /v2/ at
// the address it got, and sees the goodbye (TTL 0) records when the registry stops. A second
// registry claiming the same name is renamed by the library's conflict handling.
import t from 'tap';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BUNDLE, ROOT } from './helpers/registry.js';
import { tempDir } from './helpers/tmp.js';
import { waitFor } from './helpers/ports.js';
import { isRoot, which } from './helpers/peers.js';
import { mdnsSan, withMdnsSan } from '../tools/src/registry/mdns.js';
import { composeServer } from '../tools/src/daemon/serve.js';
import { StateDir } from '../tools/src/state/state-dir.js';
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';

const run = promisify(execFile);
const skip = !isRoot() ? 'needs root (network namespaces)' : !which('ip') ? 'needs ip (Debian package iproute2)' : false;

interface Record {
  name: string;
  type: string;
  ttl: number;
  data: unknown;
}

/** spawnIn runs a command inside a namespace, collecting its output; killed at teardown. */
function spawnIn(t: { teardown(fn: () => unknown): void }, ns: string, argv: string[]) {
  const child: ChildProcess = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  t.teardown(async () => {
    child.kill('SIGKILL');
    await exited;
  });
  return { child, output: () => out, exited };
}

t.test('mdnsSan and withMdnsSan add the name to the certificate names once', async (t) => {
  t.equal(mdnsSan('registry.local'), 'DNS:registry.local');
  t.equal(mdnsSan('Lab-Registry'), 'DNS:lab-registry.local');
  t.equal(withMdnsSan(undefined, 'registry.local'), 'DNS:registry.local');
  t.equal(withMdnsSan('IP:10.0.0.5, DNS:registry.local', 'registry'), 'IP:10.0.0.5,DNS:registry.local');
  t.throws(() => mdnsSan('bad name.local'), /invalid mDNS name/);
});

t.test('secure mode with --mdns: the name is in the server certificate', async (t) => {
  // composeServer makes the PKI and announces nothing (the server does that), so no packet leaves.
  const storage = await tempDir(t, 'cr-mdns-pki-');
  const { options } = await composeServer({
    state: new StateDir(storage),
    host: '127.0.0.1',
    port: 5000,
    secure: { tls: true, auth: false },
    services: { ui: true, metricsAccess: 'loopback', mdns: true, mdnsName: 'lab-registry.local', minFreeMib: 1 },
    drainTimeoutMs: 1000,
  });
  t.ok(options.tls, 'secure mode');
  t.same(options.services?.mdns, { name: 'lab-registry.local', interfaces: undefined });
  const cert = new X509Certificate(await readFile(options.tls!.certFile));
  t.match(cert.subjectAltName, /DNS:lab-registry\.local/);
});

t.test('announce in a private network namespace, resolve, reach, rename on conflict, say goodbye', { skip, timeout: 90_000 }, async (t) => {
  const tag = `${process.pid % 100000}`;
  const nsA = `cr-mdns-a-${tag}`;
  const nsB = `cr-mdns-b-${tag}`;
  const ip = (...args: string[]) => run('ip', args);
  await ip('netns', 'add', nsA);
  t.teardown(() => ip('netns', 'del', nsA).catch(() => {}));
  await ip('netns', 'add', nsB);
  t.teardown(() => ip('netns', 'del', nsB).catch(() => {}));
  // The veth pair is made inside nsA with its peer placed straight into nsB: it never exists on the host.
  await ip('-n', nsA, 'link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'vb', 'netns', nsB);
  for (const [ns, dev, addr] of [
    [nsA, 'va', '10.231.0.1/24'],
    [nsB, 'vb', '10.231.0.2/24'],
  ] as const) {
    await ip('-n', ns, 'link', 'set', 'lo', 'up');
    await ip('-n', ns, 'addr', 'add', addr, 'dev', dev);
    await ip('-n', ns, 'link', 'set', dev, 'up');
    await ip('-n', ns, 'route', 'add', '224.0.0.0/4', 'dev', dev);
  }

  const listener = spawnIn(t, nsB, [
    process.execPath,
    join(ROOT, 'test/helpers/mdns-listen.mjs'),
    '10.231.0.2',
    '_oci-registry._tcp.local/PTR',
    'registry.local/A',
  ]);
  await waitFor(async () => listener.output().includes('"listening":true'), 10_000, 'the querier');
  const records = (): Record[] =>
    listener
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{"name"'))
      .map((l) => JSON.parse(l) as Record);

  const storage = await tempDir(t, 'cr-mdns-');
  const server = spawnIn(t, nsA, [
    process.execPath,
    BUNDLE,
    'serve',
    '--storage',
    storage,
    '--listen',
    '0.0.0.0:5000',
    '--mdns',
    '--mdns-name',
    'registry.local',
  ]);
  await waitFor(async () => /mDNS: announcing/.test(server.output()) && /container-registry: serving/.test(server.output()), 20_000, 'the announcement').catch(
    (err) => {
      throw new Error(`${(err as Error).message}\n${server.output()}`);
    },
  );
  t.match(server.output(), /mDNS: announcing registry\.local \(_oci-registry\._tcp, port 5000\)/);

  await waitFor(async () => records().some((r) => r.type === 'A' && r.name === 'registry.local' && r.ttl > 0), 20_000, 'registry.local A').catch((err) => {
    throw new Error(`${(err as Error).message}\n${listener.output()}`);
  });
  const a = records().find((r) => r.type === 'A' && r.name === 'registry.local')!;
  t.equal(a.data, '10.231.0.1', 'registry.local resolves to the server namespace address');
  const ptr = records().find((r) => r.type === 'PTR' && r.name === '_oci-registry._tcp.local');
  t.ok(ptr, 'the service type is browsable');
  t.equal(ptr?.data, 'registry._oci-registry._tcp.local');
  const srv = records().find((r) => r.type === 'SRV');
  t.same(srv?.data, { port: 5000, target: 'registry.local' }, 'SRV names the port and host');
  const txt = records().find((r) => r.type === 'TXT' && r.name === 'registry._oci-registry._tcp.local');
  t.match(txt?.data, ['path=/v2/', 'scheme=http', 'ui=/ui/'], 'TXT says where the API is');

  // From the other namespace, at the address mDNS gave: the registry answers.
  const reach = await run('ip', ['netns', 'exec', nsB, process.execPath, '-e', `fetch('http://${a.data}:5000/v2/').then(r => console.log(r.status))`]);
  t.equal(reach.stdout.trim(), '200');

  // A second registry (in the querier's namespace) wants the same name: the library probes and renames.
  const storage2 = await tempDir(t, 'cr-mdns2-');
  const second = spawnIn(t, nsB, [
    process.execPath,
    BUNDLE,
    'serve',
    '--storage',
    storage2,
    '--listen',
    '0.0.0.0:5001',
    '--mdns',
    '--mdns-name',
    'registry.local',
  ]);
  // "serving" comes after the announcement and the signal handlers: a SIGTERM before it kills outright.
  await waitFor(
    async () => /mDNS: announcing/.test(second.output()) && /container-registry: serving/.test(second.output()),
    30_000,
    'the second announcement',
  ).catch((err) => {
    throw new Error(`${(err as Error).message}\n${second.output()}`);
  });
  const name2 = /mDNS: announcing (\S+)/.exec(second.output())![1];
  t.not(name2, 'registry.local', `the second registry took another name (${name2})`);
  second.child.kill('SIGTERM');
  t.equal(await second.exited, 0);

  // Stop: goodbye records (TTL 0) for the name, and a clean exit.
  server.child.kill('SIGTERM');
  t.equal(await server.exited, 0, 'serve exits 0 after stopping the announcement');
  t.match(server.output(), /container-registry: stopped/);
  await waitFor(async () => records().some((r) => r.name === 'registry.local' && r.type === 'A' && r.ttl === 0), 10_000, 'the goodbye').catch((err) => {
    throw new Error(`${(err as Error).message}\n${listener.output().slice(-2000)}`);
  });
  t.pass('goodbye (TTL 0) seen for registry.local');
});
