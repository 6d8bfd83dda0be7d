// The PKI on real files, judged by openssl: init, idempotence, renewal, SAN changes, modes.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { readFile, readdir, stat, writeFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ensurePki, renewPki, type PkiOptions } from '../tools/src/pki/pki.js';
import { parseSanList, wantedSans, normalizeIp, DEFAULT_SANS } from '../tools/src/pki/sans.js';
import { pkiSettingsFromEnv } from '../tools/src/pki/settings.js';
import { showPki } from '../tools/src/pki/show.js';
import { runCli, ROOT } from './helpers/registry.js';
import { missingPeer } from './helpers/peers.js';
import { tempDir } from './helpers/tmp.js';

const noOpenssl = missingPeer('openssl');

function openssl(args: string[]): string {
  return execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function verify(dir: string): string {
  return openssl(['verify', '-CAfile', join(dir, 'pki', 'ca.crt'), '-purpose', 'sslserver', join(dir, 'pki', 'server.crt')]).trim();
}

function opts(dir: string, extra: Partial<PkiOptions> = {}): PkiOptions {
  return { storageDir: dir, caDays: 3650, certDays: 365, sans: wantedSans({ hostname: 'buildhost', registryUrl: 'registry.lab:5000/yocto' }), ...extra };
}

async function mode(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777;
}

t.test('SANs: defaults, host name, the URL host, CONTAINER_REGISTRY_CERT_SAN', async (t) => {
  const sans = wantedSans({ hostname: 'buildhost', registryUrl: '192.168.1.5:5000/yocto', extra: 'DNS:reg.example.com, IP:fd00::0:1' }).map(
    (s) => `${s.type}:${s.value}`,
  );
  t.same(sans, [
    'dns:localhost',
    'ip:127.0.0.1',
    'ip:::1',
    'ip:10.0.2.2',
    'ip:192.168.7.1',
    'dns:buildhost',
    'ip:192.168.1.5',
    'dns:reg.example.com',
    'ip:fd00::1',
  ]);
  t.equal(DEFAULT_SANS.length, 5);
  const urlSans = (registryUrl: string) =>
    wantedSans({ hostname: 'localhost', registryUrl })
      .slice(DEFAULT_SANS.length)
      .map((s) => `${s.type}:${s.value}`);
  t.same(urlSans('https://[fd00::5]:5000'), ['ip:fd00::5'], "the URL's host, scheme and brackets dropped");
  t.same(urlSans('Reg.Lab:5000/ns'), ['dns:reg.lab'], 'the port and namespace path dropped');
  t.throws(() => wantedSans({ registryUrl: 'ho st:5000' }), { code: 'usage', message: /^CONTAINER_REGISTRY_URL: invalid host/ });
  t.equal(normalizeIp('0:0:0:0:0:0:0:1'), '::1');
  t.same(wantedSans({ hostname: 'localhost' }).length, 5, 'no duplicates');
  t.throws(() => parseSanList('reg.example.com'), { code: 'usage' });
  t.throws(() => parseSanList('IP:reg.example.com'), { code: 'usage' });
  t.throws(() => parseSanList('DNS:bad_name!'), { code: 'usage' });
  t.throws(() => pkiSettingsFromEnv({ CONTAINER_REGISTRY_CERT_DAYS: 'soon' }), { code: 'usage' });
  t.same(pkiSettingsFromEnv({}, 'h').caDays, 3650);
  t.same(pkiSettingsFromEnv({ CONTAINER_REGISTRY_CERT_DAYS: '30' }, 'h').certDays, 30);
});

t.test('init: the files, their modes, and a chain openssl accepts', { skip: noOpenssl }, async (t) => {
  const dir = await tempDir(t);
  // With umask 0 a key written then chmod-ed would be world-readable for a moment (and 0666 if the
  // chmod were forgotten); created with mode 0600 it never is.
  const oldMask = process.umask(0);
  let r;
  try {
    r = await ensurePki(opts(dir));
  } finally {
    process.umask(oldMask);
  }
  t.ok(r.caCreated);
  t.equal(r.serverIssued, 'new CA');
  for (const f of ['ca.key', 'server.key']) t.equal(await mode(join(dir, 'pki', f)), 0o600, `pki/${f} is 0600`);
  for (const f of ['ca.crt', 'server.crt']) t.equal(await mode(join(dir, 'pki', f)), 0o644, `pki/${f} is 0644`);
  t.equal(await mode(join(dir, 'pki')), 0o700, 'pki/ is 0700');
  t.same((await readdir(join(dir, 'pki'))).sort(), ['ca.crt', 'ca.key', 'server.crt', 'server.key'], 'no temp or lock files left');
  t.same(await readdir(join(dir, 'certs')), ['ca.crt'], 'the client cert dir holds the CA alone, no key');
  t.equal(await readFile(join(dir, 'certs', 'ca.crt'), 'utf8'), await readFile(join(dir, 'pki', 'ca.crt'), 'utf8'));
  t.equal(verify(dir), `${join(dir, 'pki', 'server.crt')}: OK`);
  const text = openssl(['x509', '-in', join(dir, 'pki', 'server.crt'), '-noout', '-text']);
  t.match(text, /Basic Constraints: critical\s+CA:FALSE/);
  t.match(text, /Key Usage: critical\s+Digital Signature/);
  t.match(text, /Extended Key Usage:\s+TLS Web Server Authentication/);
  t.match(
    text,
    'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, IP Address:10.0.2.2, IP Address:192.168.7.1, DNS:buildhost, DNS:registry.lab',
  );
  t.match(text, /Public Key Algorithm: id-ecPublicKey[\s\S]*NIST CURVE: P-256/);
  const ca = openssl(['x509', '-in', join(dir, 'pki', 'ca.crt'), '-noout', '-text']);
  t.match(ca, /Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
  t.match(ca, /Key Usage: critical\s+Certificate Sign, CRL Sign/);
  // openssl reads our PKCS#8 keys, and each belongs to its certificate.
  for (const [key, crt] of [
    ['ca.key', 'ca.crt'],
    ['server.key', 'server.crt'],
  ]) {
    const fromKey = openssl(['pkey', '-in', join(dir, 'pki', key!), '-pubout']);
    const fromCert = openssl(['x509', '-in', join(dir, 'pki', crt!), '-noout', '-pubkey']);
    t.equal(fromKey, fromCert, `${key} matches ${crt}`);
  }
  // Validity from the settings: 365 days for the server (checked with openssl's -checkend).
  t.doesNotThrow(() => openssl(['x509', '-in', join(dir, 'pki', 'server.crt'), '-noout', '-checkend', String(363 * 86400)]));
  t.throws(() => openssl(['x509', '-in', join(dir, 'pki', 'server.crt'), '-noout', '-checkend', String(366 * 86400)]));
});

t.test('the key-writing code never chmods (keys are 0600 from their first byte)', async (t) => {
  for (const f of [
    'tools/src/pki/pki.ts',
    'tools/src/auth/users.ts',
    'tools/src/state/state-dir.ts',
    'tools/src/common/atomic-write.ts',
    'tools/src/storage/driver.ts',
  ]) {
    t.notMatch(await readFile(join(ROOT, f), 'utf8'), /\bchmod\b/, f);
  }
});

t.test('init is idempotent; a new SAN re-issues the server certificate with the same CA', { skip: noOpenssl }, async (t) => {
  const dir = await tempDir(t);
  await ensurePki(opts(dir));
  const read = async () =>
    Object.fromEntries(await Promise.all(['ca.key', 'ca.crt', 'server.key', 'server.crt'].map(async (f) => [f, await readFile(join(dir, 'pki', f), 'utf8')])));
  const first = await read();
  const again = await ensurePki(opts(dir));
  t.equal(again.caCreated, false);
  t.equal(again.serverIssued, undefined, 'nothing to do');
  t.same(await read(), first, 'no file changed');

  const more = wantedSans({ hostname: 'buildhost', registryUrl: 'registry.lab:5000', extra: 'DNS:extra.example,IP:10.1.2.3' });
  const changed = await ensurePki(opts(dir, { sans: more }));
  t.match(changed.serverIssued, /names missing from the certificate: DNS:extra\.example, IP:10\.1\.2\.3/);
  const after = await read();
  t.equal(after['ca.crt'], first['ca.crt'], 'CA certificate kept');
  t.equal(after['ca.key'], first['ca.key'], 'CA key kept');
  t.not(after['server.crt'], first['server.crt'], 'server certificate re-issued');
  t.match(openssl(['x509', '-in', join(dir, 'pki', 'server.crt'), '-noout', '-ext', 'subjectAltName']), 'DNS:extra.example');
  t.equal(verify(dir), `${join(dir, 'pki', 'server.crt')}: OK`);

  // A certificate that already covers every wanted name is kept (no flapping between environments).
  const fewer = await ensurePki(opts(dir));
  t.equal(fewer.serverIssued, undefined);
});

t.test('a server certificate with fewer than 30 days left is re-issued; so is one the CA did not sign', { skip: noOpenssl }, async (t) => {
  const dir = await tempDir(t);
  await ensurePki(opts(dir, { certDays: 40 }));
  t.equal((await ensurePki(opts(dir, { certDays: 40 }))).serverIssued, undefined, '40 days left: kept');
  const later = new Date(Date.now() + 20 * 86_400_000);
  const r = await ensurePki(opts(dir, { certDays: 40, now: later }));
  t.match(r.serverIssued, /expires in \d+ days/);
  const [ca, srv] = await showPki(dir, later);
  t.equal(ca!.role, 'ca');
  t.ok(srv!.daysLeft >= 39, 'the new certificate runs 40 days from then');

  // Replace the server pair by one from another CA: ensure notices and re-issues.
  const other = await tempDir(t);
  await ensurePki(opts(other));
  for (const f of ['server.crt', 'server.key']) await writeFile(join(dir, 'pki', f), await readFile(join(other, 'pki', f)));
  t.throws(() => verify(dir));
  t.equal((await ensurePki(opts(dir))).serverIssued, 'the server certificate was not signed by the current CA');
  t.equal(verify(dir), `${join(dir, 'pki', 'server.crt')}: OK`);
});

t.test('renew keeps the CA and changes the server certificate and key; renew --ca replaces the CA', { skip: noOpenssl }, async (t) => {
  const dir = await tempDir(t);
  await ensurePki(opts(dir));
  const before = await showPki(dir);
  const serverKey = await readFile(join(dir, 'pki', 'server.key'), 'utf8');
  const r = await renewPki({ ...opts(dir), ca: false });
  t.equal(r.caCreated, false);
  const after = await showPki(dir);
  t.equal(after[0]!.sha256, before[0]!.sha256, 'same CA');
  t.not(after[1]!.sha256, before[1]!.sha256, 'new server certificate');
  t.not(await readFile(join(dir, 'pki', 'server.key'), 'utf8'), serverKey, 'new server key');
  t.equal(await mode(join(dir, 'pki', 'server.key')), 0o600);
  t.equal(verify(dir), `${join(dir, 'pki', 'server.crt')}: OK`);

  const oldCa = await readFile(join(dir, 'pki', 'ca.crt'), 'utf8');
  const withCa = await renewPki({ ...opts(dir), ca: true });
  t.ok(withCa.caCreated);
  t.match(withCa.warnings.join('\n'), /targets must trust the new/);
  const third = await showPki(dir);
  t.not(third[0]!.sha256, after[0]!.sha256, 'new CA');
  t.equal(await readFile(join(dir, 'certs', 'ca.crt'), 'utf8'), await readFile(join(dir, 'pki', 'ca.crt'), 'utf8'), 'certs/ca.crt follows');
  t.equal(verify(dir), `${join(dir, 'pki', 'server.crt')}: OK`);
  await writeFile(join(dir, 'old-ca.crt'), oldCa);
  t.throws(() => openssl(['verify', '-CAfile', join(dir, 'old-ca.crt'), join(dir, 'pki', 'server.crt')]), 'the old CA no longer verifies it');
});

t.test('RSA on request', { skip: noOpenssl }, async (t) => {
  const dir = await tempDir(t);
  await ensurePki(opts(dir, { algorithm: 'rsa-2048' }));
  t.equal(verify(dir), `${join(dir, 'pki', 'server.crt')}: OK`);
  const text = openssl(['x509', '-in', join(dir, 'pki', 'server.crt'), '-noout', '-text']);
  t.match(text, /Public-Key: \(2048 bit\)/);
  t.match(text, /Signature Algorithm: sha256WithRSAEncryption/);
  t.match(text, /Key Usage: critical\s+Digital Signature, Key Encipherment/);
  const [ca] = await showPki(dir);
  t.equal(ca!.key, 'RSA 2048');
});

t.test('a CA certificate without its key is an error, never silently replaced', async (t) => {
  const dir = await tempDir(t);
  await ensurePki(opts(dir));
  await unlink(join(dir, 'pki', 'ca.key'));
  await t.rejects(ensurePki(opts(dir)), { code: 'pki-ca', message: /renew --ca/ });
});

t.test('CLI: pki init, show (fingerprints as openssl prints them), renew; SAN from the environment', { skip: noOpenssl }, async (t) => {
  const dir = await tempDir(t);
  const env = { CONTAINER_REGISTRY_URL: 'registry.lab:5000', CONTAINER_REGISTRY_CERT_SAN: 'DNS:ci.example' };
  const init = await runCli(['pki', 'init', '--storage', dir], { env });
  t.equal(init.code, 0, init.stderr);
  t.match(init.stdout, 'Created CA');
  const again = await runCli(['pki', 'init', '--storage', dir], { env });
  t.match(again.stdout, 'is up to date');
  const show = await runCli(['pki', 'show', '--storage', dir]);
  t.equal(show.code, 0, show.stderr);
  const fp = openssl(['x509', '-in', join(dir, 'pki', 'server.crt'), '-noout', '-fingerprint', '-sha256'])
    .trim()
    .split('=')[1]!;
  t.match(show.stdout, fp, 'server fingerprint as openssl prints it');
  t.match(show.stdout, /names: +DNS:localhost, IP:127\.0\.0\.1, IP:::1, IP:10\.0\.2\.2, IP:192\.168\.7\.1, .*DNS:registry\.lab, DNS:ci\.example/);
  t.match(show.stdout, /valid: .* \(36\d days left\)/);
  const json = JSON.parse((await runCli(['pki', 'show', '--json', '--storage', dir])).stdout);
  t.equal(json.length, 2);
  const renew = await runCli(['pki', 'renew', '--storage', dir], { env });
  t.equal(renew.code, 0, renew.stderr);
  t.match(renew.stdout, 'Kept CA');
  const bad = await runCli(['pki', 'init', '--storage', dir], { env: { CONTAINER_REGISTRY_CERT_SAN: 'nonsense' } });
  t.equal(bad.code, 2);
  t.match(bad.stderr, /^container-registry: error \[usage\]: invalid CONTAINER_REGISTRY_CERT_SAN entry "nonsense"/);
  // A storage without a PKI is "not there yet" (exit 3); a storage that does not exist is a typo (exit 2).
  const empty = await runCli(['pki', 'show', '--storage', await tempDir(t)]);
  t.equal(empty.code, 3);
  t.match(empty.stderr, 'pki init');
  const none = await runCli(['pki', 'show', '--storage', join(dir, 'none')]);
  t.equal(none.code, 2);
  t.match(none.stderr, 'error [no-storage]');
});

t.test('concurrent inits make one CA (a lock file serializes them)', { skip: noOpenssl }, async (t) => {
  const dir = await tempDir(t);
  const results = await Promise.all([ensurePki(opts(dir)), ensurePki(opts(dir)), ensurePki(opts(dir))]);
  t.equal(results.filter((r) => r.caCreated).length, 1);
  t.equal(verify(dir), `${join(dir, 'pki', 'server.crt')}: OK`);
  t.same((await readdir(join(dir, 'pki'))).sort(), ['ca.crt', 'ca.key', 'server.crt', 'server.key']);
});
