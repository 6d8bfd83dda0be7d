// The one parser of registry addresses and image references (tools/src/oci/reference.ts), table-driven.
import t from 'tap';
import {
  formatRegistry,
  isLoopbackHost,
  parseImageReference,
  parseRegistryAddress,
  registryHost,
  withDockerHubDefaults,
  type ImageReference,
  type RegistryAddress,
} from '../tools/src/oci/reference.js';

const SHA = `sha256:${'a'.repeat(64)}`;

t.test('registry addresses: [http(s)://]host[:port][/path-prefix]', async (t) => {
  const cases: Array<[string, RegistryAddress]> = [
    ['localhost:5000', { scheme: undefined, host: 'localhost', port: 5000, path: '' }],
    ['localhost', { scheme: undefined, host: 'localhost', port: undefined, path: '' }],
    ['10.0.2.2:5000', { scheme: undefined, host: '10.0.2.2', port: 5000, path: '' }],
    ['[::1]:5000', { scheme: undefined, host: '::1', port: 5000, path: '' }],
    ['::1', { scheme: undefined, host: '::1', port: undefined, path: '' }],
    ['FD00::1', { scheme: undefined, host: 'fd00::1', port: undefined, path: '' }],
    ['http://127.0.0.1:5000', { scheme: 'http', host: '127.0.0.1', port: 5000, path: '' }],
    ['HTTPS://reg.example.com/', { scheme: 'https', host: 'reg.example.com', port: undefined, path: '' }],
    ['localhost:5000/team', { scheme: undefined, host: 'localhost', port: 5000, path: 'team' }],
    ['https://reg.example.com/team/yocto/', { scheme: 'https', host: 'reg.example.com', port: undefined, path: 'team/yocto' }],
    ['http://[::1]:5000/yocto', { scheme: 'http', host: '::1', port: 5000, path: 'yocto' }],
    ['  ghcr.io  ', { scheme: undefined, host: 'ghcr.io', port: undefined, path: '' }],
  ];
  for (const [text, want] of cases) t.same(parseRegistryAddress(text), want, text);
  const bad: Array<[string, RegExp]> = [
    ['', /empty/],
    ['ftp://x', /unsupported scheme "ftp"/],
    ['host:99999', /1-65535/],
    ['host:0', /1-65535/],
    ['ho st:5000', /invalid host/],
    ['my_host:5000', /invalid host/],
    ['-bad.example', /invalid host/],
    ['host:port', /invalid host/],
    ['[::1', /invalid host/],
  ];
  for (const [text, message] of bad) t.throws(() => parseRegistryAddress(text), { code: 'bad-address', message }, JSON.stringify(text));
  t.equal(registryHost(parseRegistryAddress('http://[::1]:5000/ns')), '[::1]:5000');
  t.equal(formatRegistry(parseRegistryAddress('https://reg.example:443/team')), 'https://reg.example:443');
  t.equal(formatRegistry(parseRegistryAddress('localhost:5000/team')), 'localhost:5000');
});

t.test('isLoopbackHost: localhost, 127.0.0.0/8 and ::1, with or without a port', async (t) => {
  for (const h of ['localhost', 'LocalHost:5000', '127.0.0.1', '127.1.2.3', '127.0.0.1:5000', '::1', '[::1]', '[::1]:5000']) t.ok(isLoopbackHost(h), h);
  for (const h of ['localhost.example:5000', '10.0.2.2:5000', '0.0.0.0', '::2', 'ghcr.io', '128.0.0.1', '', 'ho st']) t.notOk(isLoopbackHost(h), h);
});

t.test("image references: docker's rules", async (t) => {
  const ref = (registry: string | undefined, repository: string, tag?: string, digest?: string): ImageReference => ({ registry, repository, tag, digest });
  const cases: Array<[string, ImageReference]> = [
    ['localhost:5000/yocto/x:v1', ref('localhost:5000', 'yocto/x', 'v1')],
    ['localhost/yocto/x', ref('localhost', 'yocto/x')],
    ['10.0.2.2:5000/a', ref('10.0.2.2:5000', 'a')],
    [`[::1]:5000/a@${SHA}`, ref('[::1]:5000', 'a', undefined, SHA)],
    ['alpine', ref(undefined, 'alpine')],
    ['alpine:3.20', ref(undefined, 'alpine', '3.20')],
    ['yocto/app', ref(undefined, 'yocto/app')],
    ['library/alpine:latest', ref(undefined, 'library/alpine', 'latest')],
    [`example.com/a/b:tag@${SHA}`, ref('example.com', 'a/b', 'tag', SHA)],
    ['Registry.Example.com:443/a/b', ref('Registry.Example.com:443', 'a/b')],
    ['docker.io/library/alpine', ref('docker.io', 'library/alpine')],
    [`ghcr.io/o/r@${SHA}`, ref('ghcr.io', 'o/r', undefined, SHA)],
    // no '.' or ':' and not localhost: a path component, not a host
    ['registry/a', ref(undefined, 'registry/a')],
  ];
  for (const [text, want] of cases) t.same(parseImageReference(text), want, text);
  const bad: Array<[string, RegExp]> = [
    ['Yocto/App', /invalid image reference "Yocto\/App": repository name must be lowercase/],
    ['localhost:5000/A', /repository name must be lowercase/],
    ['alpine:', /invalid tag ""/],
    ['alpine:-x', /invalid tag "-x"/],
    ['alpine@sha256:abc', /invalid digest "sha256:abc"/],
    [`alpine@sha256:${'A'.repeat(64)}`, /invalid digest/],
    ['ho st.example/a', /invalid host/],
    ['host.example:99999/a', /1-65535/],
    ['', /repository name is empty/],
    ['a//b', /invalid image reference/],
  ];
  for (const [text, message] of bad) t.throws(() => parseImageReference(text), { code: 'bad-address', message }, JSON.stringify(text));
});

t.test('Docker Hub defaults apply only when the reference names no other registry', async (t) => {
  const hub = (text: string) => {
    const r = withDockerHubDefaults(parseImageReference(text));
    return `${r.registry}/${r.repository}${r.tag ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`;
  };
  t.equal(hub('alpine'), 'docker.io/library/alpine');
  t.equal(hub('alpine:3.20'), 'docker.io/library/alpine:3.20');
  t.equal(hub('bitnami/redis'), 'docker.io/bitnami/redis');
  t.equal(hub('docker.io/alpine'), 'docker.io/library/alpine');
  t.equal(hub('index.docker.io/alpine'), 'docker.io/library/alpine');
  t.equal(hub('localhost:5000/alpine'), 'localhost:5000/alpine', 'a named registry gets no library/');
  t.equal(hub(`quay.io/x@${SHA}`), `quay.io/x@${SHA}`);
});
