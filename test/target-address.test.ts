import t from 'tap';
import { certSanForTargets, isTargetRewrittenHost, parseTargetNetwork, targetRegistry } from '../tools/src/target/address.js';
import { formatHostPort, parseHostPort, parseRegistryAddress } from '../tools/src/oci/reference.js';

t.test('the QEMU rewrite: loopback hosts become the host as the guest sees it', async (t) => {
  const cases: Array<[string, Parameters<typeof targetRegistry>[1], string]> = [
    ['localhost:5000', {}, '10.0.2.2:5000'],
    ['localhost:5000', { network: 'slirp' }, '10.0.2.2:5000'],
    ['localhost:5000', { network: 'tap' }, '192.168.7.1:5000'],
    ['127.0.0.1:5000', {}, '10.0.2.2:5000'],
    ['127.0.0.1:6000', { network: 'tap' }, '192.168.7.1:6000'],
    ['[::1]:5000', {}, '10.0.2.2:5000'],
    ['::1', {}, '10.0.2.2'],
    ['localhost', {}, '10.0.2.2'],
    ['LocalHost:5000', {}, '10.0.2.2:5000'],
    // exact matches only
    ['localhost.example:5000', {}, 'localhost.example:5000'],
    ['mylocalhost:5000', {}, 'mylocalhost:5000'],
    ['127.0.0.2:5000', {}, '127.0.0.2:5000'],
    ['127.0.0.10:5000', {}, '127.0.0.10:5000'],
    ['registry.example.com:5000', { network: 'tap' }, 'registry.example.com:5000'],
    ['[fd00::1]:5000', {}, '[fd00::1]:5000'],
    // CONTAINER_REGISTRY_TARGET_HOST overrides the host, and the port when it names one
    ['localhost:5000', { targetHost: '192.168.1.10' }, '192.168.1.10:5000'],
    ['localhost:5000', { targetHost: 'buildhost.lan:6000' }, 'buildhost.lan:6000'],
    ['registry.example.com:5000', { targetHost: 'mirror.lan' }, 'mirror.lan:5000'],
    ['localhost:5000', { targetHost: 'fd00::2' }, '[fd00::2]:5000'],
    ['localhost:5000', { targetHost: '[fd00::2]:7000', network: 'tap' }, '[fd00::2]:7000'],
  ];
  for (const [input, view, want] of cases) t.equal(targetRegistry(input, view), want, `${input} ${JSON.stringify(view)}`);
});

t.test('the rewritten hosts are exactly localhost, 127.0.0.1 and ::1', async (t) => {
  for (const h of ['localhost', 'LOCALHOST', '127.0.0.1', '::1', '[::1]']) t.ok(isTargetRewrittenHost(h), h);
  for (const h of ['localhost.example', 'localhost.', '127.0.0.2', '0.0.0.0', '::2', 'example.com', '']) t.notOk(isTargetRewrittenHost(h), h);
});

t.test('registry addresses: scheme, host, port, namespace path', async (t) => {
  t.same(parseRegistryAddress('localhost:5000'), { scheme: undefined, host: 'localhost', port: 5000, path: '' });
  t.same(parseRegistryAddress('https://reg.example.com/team/yocto/'), { scheme: 'https', host: 'reg.example.com', port: undefined, path: 'team/yocto' });
  t.same(parseRegistryAddress('http://[::1]:5000/yocto'), { scheme: 'http', host: '::1', port: 5000, path: 'yocto' });
  t.throws(() => parseRegistryAddress(''), { message: /empty/ });
  t.throws(() => parseRegistryAddress('ftp://x'), { code: 'bad-address', message: /unsupported scheme/ });
  t.throws(() => parseRegistryAddress('host:99999'), { message: /1-65535/ });
  t.throws(() => parseRegistryAddress('ho st:5000'), { message: /invalid host/ });
  t.same(parseHostPort('example.com'), { host: 'example.com', port: undefined });
  t.equal(formatHostPort('fd00::1', 5000), '[fd00::1]:5000');
  t.equal(formatHostPort('a', undefined), 'a');
});

t.test('target network names', async (t) => {
  t.equal(parseTargetNetwork(undefined), 'slirp');
  t.equal(parseTargetNetwork(''), 'slirp');
  t.equal(parseTargetNetwork('tap'), 'tap');
  t.throws(() => parseTargetNetwork('bridge'), { message: /slirp .* or tap/ });
});

t.test("the server certificate's SANs name what targets use", async (t) => {
  t.equal(certSanForTargets('', undefined), 'IP:10.0.2.2,IP:192.168.7.1');
  t.equal(certSanForTargets('DNS:myhost.local,IP:10.0.2.2', 'buildhost.lan:5000'), 'DNS:myhost.local,IP:10.0.2.2,IP:192.168.7.1,DNS:buildhost.lan');
  t.equal(certSanForTargets(undefined, '192.168.1.10'), 'IP:10.0.2.2,IP:192.168.7.1,IP:192.168.1.10');
});
