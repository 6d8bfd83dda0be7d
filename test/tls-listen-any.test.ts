// Serving other machines over TLS: with --listen 0.0.0.0 the server certificate names this
// machine's host name and every address of its interfaces (so a client on the network that uses
// one of them verifies it), and the URLs the server prints and records are ones a client can use,
// never 0.0.0.0. The server runs in a private network namespace (loopback and a veth pair).
import t from 'tap';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { hostname, type networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { BUNDLE, runCli } from './helpers/registry.js';
import { freePort, waitFor } from './helpers/ports.js';
import { tempDir } from './helpers/tmp.js';
import { isRoot, which } from './helpers/peers.js';

const run = promisify(execFile);
import { listenNames } from '../tools/src/pki/sans.js';

/** sansOf lists a certificate's subjectAltName entries as `DNS:x` / `IP:y` (IPv6 compressed, lower case). */
function sansOf(pem: string | Buffer): string[] {
  const text = new X509Certificate(pem).subjectAltName ?? '';
  return text.split(', ').map((s) => (s.startsWith('IP Address:') ? `ip:${normalize(s.slice('IP Address:'.length))}` : s.toLowerCase()));
}

function normalize(address: string): string {
  return address.includes(':') ? new URL(`http://[${address}]/`).hostname.slice(1, -1) : address;
}

// 0.0.0.0 must only ever mean this test's own interfaces: the server runs in a private network
// namespace holding loopback and a veth pair (both ends inside, fixed MACs so the link-local
// addresses are the same each time) with a documentation address, so nothing
// listens beyond the machine's loopback and all traffic stays in that namespace.
const ADDRESS = '192.0.2.10';
const skip = !isRoot()
  ? 'needs root (a private network namespace)'
  : !which('unshare') || !which('nsenter') || !which('ip')
    ? 'needs unshare, nsenter (util-linux) and ip (iproute2)'
    : false;
const NS_SETUP = `ip link set lo up && ip link add cr0 address 02:00:00:00:00:01 type veth peer name cr1 address 02:00:00:00:00:02 && ip addr add ${ADDRESS}/24 dev cr0 && ip link set cr0 up && ip link set cr1 up`;

/** inNetns runs `argv` in a new network namespace set up with NS_SETUP (unshare execs sh, sh execs argv). */
function inNetns(argv: string[], env: NodeJS.ProcessEnv) {
  return spawn('unshare', ['-n', 'sh', '-c', `${NS_SETUP} && exec "$@"`, 'sh', ...argv], { stdio: ['ignore', 'pipe', 'pipe'], env });
}

/** peerCertificate connects to 127.0.0.1:port inside `pid`'s network namespace and returns the PEM it was sent. */
async function peerCertificate(pid: number, port: number, servername: string, caFile: string): Promise<string> {
  const script = `const tls=require('node:tls');const fs=require('node:fs');const s=tls.connect({host:'127.0.0.1',port:${port},servername:${JSON.stringify(servername)},ca:fs.readFileSync(${JSON.stringify(caFile)})},()=>{process.stdout.write(s.getPeerX509Certificate().toString());s.end();});s.on('error',(e)=>{console.error(e.message);process.exit(1);});`;
  const { stdout } = await run('nsenter', ['-t', String(pid), '-n', process.execPath, '-e', script]);
  return stdout;
}

t.test('--listen 0.0.0.0 --tls: the certificate names the host and its addresses; no 0.0.0.0 URL', { skip }, async (t) => {
  const storage = await tempDir(t, 'cr-any-');
  const env = { ...process.env, XDG_RUNTIME_DIR: await tempDir(t, 'cr-any-run-'), CONTAINER_REGISTRY_CERT_SAN: '' };
  const port = await freePort();
  let out = '';
  const child = inNetns([process.execPath, BUNDLE, 'serve', '--storage', storage, '--listen', `0.0.0.0:${port}`, '--tls'], env);
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise((r) => child.once('exit', r));
  t.teardown(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
  });
  const pidFile = join(storage, 'container-registry.pid');
  await waitFor(async () => existsSync(pidFile) && out.includes('serving '), 15_000, `the registry to start: ${out}`);

  // The certificate the server sends (read inside its namespace) and the one on disk, verified as a
  // client on the network would: by the host name (the CA checks the chain).
  const own = hostname().toLowerCase();
  const peer = new X509Certificate(await peerCertificate(child.pid!, port, own, join(storage, 'certs', 'ca.crt')));
  t.ok(peer.checkIP(ADDRESS), `a client verifies ${ADDRESS}`);
  const sans = sansOf(peer.toString());
  t.same(sansOf(readFileSync(join(storage, 'pki', 'server.crt'))), sans, 'the file is the one served');
  t.ok(sans.includes(`dns:${own}`), `names the host name ${hostname()}: ${sans.join(', ')}`);
  t.ok(sans.includes(`ip:${ADDRESS}`), `names the interface address ${ADDRESS}`);
  t.ok(sans.includes('ip:127.0.0.1') && sans.includes('dns:localhost'), 'and still the loopback names');

  // What the server printed and recorded: URLs of the host name and the addresses, never 0.0.0.0.
  const record = JSON.parse(readFileSync(pidFile, 'utf8')) as { url: string; host: string };
  t.notMatch(record.url, '0.0.0.0', `the recorded URL ${record.url}`);
  t.equal(record.url, `https://${own}:${port}`);
  const serving = out.split('\n').filter((l) => /serving|reachable/.test(l));
  t.ok(serving.length > 0, out);
  for (const line of serving) t.notMatch(line, '0.0.0.0', line);
  t.match(out, `https://${own}:${port}`);
  t.match(out, `https://${ADDRESS}:${port}`, `prints ${ADDRESS}`);

  // A second start with the same interfaces keeps the certificate (start runs in a namespace of
  // the same shape; its detached server keeps that namespace alive until stop).
  child.kill('SIGTERM');
  await exited;
  const before = readFileSync(join(storage, 'pki', 'server.crt'), 'utf8');
  const port2 = await freePort();
  const starter = inNetns([process.execPath, BUNDLE, 'start', '--storage', storage, '--listen', `0.0.0.0:${port2}`, '--tls'], env);
  let started = '';
  starter.stdout!.on('data', (c: Buffer) => (started += c.toString()));
  starter.stderr!.on('data', (c: Buffer) => (started += c.toString()));
  const code = await new Promise<number | null>((r) => starter.once('exit', r));
  t.teardown(() => runCli(['stop', '--storage', storage], { env }));
  t.equal(code, 0, started);
  t.notMatch(started, '0.0.0.0', `start prints no 0.0.0.0: ${started}`);
  t.match(started, `https://${own}:${port2}`);
  t.equal(readFileSync(join(storage, 'pki', 'server.crt'), 'utf8'), before, 'no re-issue while the names are there');
  t.equal((await runCli(['stop', '--storage', storage], { env })).code, 0);
});

t.test('listenNames: which names each listen address adds', async (t) => {
  const interfaces = {
    lo: [{ address: '127.0.0.1', family: 'IPv4', internal: true }],
    eth0: [
      { address: '192.0.2.7', family: 'IPv4', internal: false },
      { address: '2001:DB8::7', family: 'IPv6', internal: false },
      { address: 'fe80::1', family: 'IPv6', internal: false },
    ],
  } as unknown as ReturnType<typeof networkInterfaces>;
  const names = (host: string) => listenNames(host, { hostname: 'Build-Host', interfaces });
  const text = (host: string) => {
    const n = names(host);
    return { sans: n.sans.map((s) => `${s.type}:${s.value}`), hosts: n.hosts };
  };
  t.same(text('127.0.0.1'), { sans: [], hosts: [] }, 'loopback adds nothing');
  t.same(text('localhost'), { sans: [], hosts: [] });
  t.same(text('::1'), { sans: [], hosts: [] });
  t.same(text('0.0.0.0'), {
    sans: ['dns:build-host', 'ip:192.0.2.7', 'ip:2001:db8::7', 'ip:fe80::1'],
    hosts: ['build-host', '192.0.2.7'],
  });
  t.same(text('::'), {
    sans: ['dns:build-host', 'ip:192.0.2.7', 'ip:2001:db8::7', 'ip:fe80::1'],
    hosts: ['build-host', '192.0.2.7', '2001:db8::7'],
  });
  t.same(text('192.0.2.7'), { sans: ['ip:192.0.2.7'], hosts: ['192.0.2.7'] });
  t.same(text('registry.lab.example'), { sans: ['dns:registry.lab.example'], hosts: ['registry.lab.example'] });
  const noName = listenNames('0.0.0.0', { hostname: 'not a name', interfaces });
  t.same(noName.hosts, ['192.0.2.7'], 'a host name that is no DNS name is left out');
});
