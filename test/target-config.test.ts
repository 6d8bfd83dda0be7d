import t from 'tap';
import { resolveTargetSettings, targetInputFromEnv, type TargetInput } from '../tools/src/target/settings.js';
import { dockerDaemonJson } from '../tools/src/target/docker.js';
import { containersRegistriesConf } from '../tools/src/target/containers.js';
import { containerdHostsToml, containerdHostsTomlPath } from '../tools/src/target/containerd.js';
import { vdkrRegistryConf } from '../tools/src/target/vdkr.js';
import { certsDCaPath } from '../tools/src/target/certs.js';
import { targetFiles, TARGET_KINDS } from '../tools/src/target/files.js';

const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const insecure = (extra: Partial<TargetInput> = {}) => resolveTargetSettings({ url: 'localhost:5000', namespace: 'yocto', insecure: '1', ...extra });
const secure = (extra: Partial<TargetInput> = {}) => resolveTargetSettings({ url: 'localhost:5000', namespace: 'yocto', secure: '1', ...extra });

t.test('settings: AUTH implies SECURE; SECURE with INSECURE is an error; values are checked', async (t) => {
  t.equal(resolveTargetSettings({ url: 'localhost:5000', auth: '1' }).secure, true);
  t.throws(() => resolveTargetSettings({ url: 'localhost:5000', secure: '1', insecure: '1' }), { code: 'bad-address', message: /both 1/ });
  t.throws(() => resolveTargetSettings({ url: 'localhost:5000', auth: '1', insecure: '1' }), { message: /both 1/ });
  t.throws(() => resolveTargetSettings({ url: 'localhost:5000', secure: 'maybe' }), { message: /CONTAINER_REGISTRY_SECURE must be 1 or 0/ });
  t.throws(() => resolveTargetSettings({ url: 'localhost:5000', namespace: 'Yocto' }), { message: /invalid namespace/ });
  t.same(insecure(), {
    registry: '10.0.2.2:5000',
    namespace: 'yocto',
    secure: false,
    insecure: true,
    extraInsecure: [],
    searchRegistries: ['docker.io', 'quay.io'],
    mirrors: [],
    network: 'slirp',
  });
  t.equal(resolveTargetSettings({ url: 'http://localhost:5000/team' }).namespace, 'team');
  t.same(resolveTargetSettings({ url: 'reg:5000', searchRegistries: 'reg:5000 docker.io' }).searchRegistries, ['docker.io']);
  t.same(targetInputFromEnv({ CONTAINER_REGISTRY_URL: 'r:1', CONTAINER_REGISTRY_TARGET_HOST: 'h', CONTAINER_REGISTRY_INSECURE: '1' }), {
    url: 'r:1',
    namespace: 'yocto',
    secure: undefined,
    auth: undefined,
    insecure: '1',
    dockerInsecure: undefined,
    targetHost: 'h',
    targetNetwork: undefined,
    searchRegistries: undefined,
    mirrors: undefined,
  });
  t.equal(targetInputFromEnv({ CONTAINER_REGISTRY_MIRRORS: 'docker.io quay.io' }).mirrors, 'docker.io quay.io');
});

t.test('DOCKER_REGISTRY_INSECURE entries: loopback ones follow the build host, others are kept', async (t) => {
  t.same(insecure({ dockerInsecure: 'localhost:5000 127.0.0.1:6000 registry.lan:5001 localhost.example:1' }).extraInsecure, [
    '10.0.2.2:5000',
    '10.0.2.2:6000',
    'registry.lan:5001',
    'localhost.example:1',
  ]);
  t.same(insecure({ dockerInsecure: 'localhost:6000', targetHost: 'buildhost.lan:7000' }).extraInsecure, ['buildhost.lan:6000']);
});

t.test('docker daemon.json', async (t) => {
  t.equal(dockerDaemonJson(insecure()), '{\n  "insecure-registries": [\n    "10.0.2.2:5000"\n  ]\n}\n');
  t.equal(
    dockerDaemonJson(insecure({ dockerInsecure: 'localhost:5000 registry.lan:5001', targetNetwork: 'tap' })),
    '{\n  "insecure-registries": [\n    "192.168.7.1:5000",\n    "registry.lan:5001"\n  ]\n}\n',
    'the loopback entry is the same registry once rewritten: listed once',
  );
  t.equal(dockerDaemonJson(secure()), undefined, 'secure: nothing to say, no daemon.json');
  t.equal(dockerDaemonJson(secure({ dockerInsecure: 'other.lan:5000' })), '{\n  "insecure-registries": [\n    "other.lan:5000"\n  ]\n}\n');
});

t.test('containers registries.conf.d drop-in keeps docker.io and quay.io in the search list', async (t) => {
  t.equal(
    containersRegistriesConf(insecure()),
    `# Written by meta-container-registry (container-oci-registry-config): our registry is searched
# first for unqualified names, then docker.io, quay.io.
unqualified-search-registries = [ "10.0.2.2:5000", "docker.io", "quay.io" ]

[[registry]]
location = "10.0.2.2:5000"
insecure = true

`,
  );
  t.equal(
    containersRegistriesConf(secure({ url: 'registry.lan:443', searchRegistries: 'docker.io' })),
    `# Written by meta-container-registry (container-oci-registry-config): our registry is searched
# first for unqualified names, then docker.io.
unqualified-search-registries = [ "registry.lan:443", "docker.io" ]

[[registry]]
location = "registry.lan:443"
insecure = false

`,
  );
});

t.test('containerd hosts.toml', async (t) => {
  t.equal(containerdHostsTomlPath(insecure()), '/etc/containerd/certs.d/10.0.2.2:5000/hosts.toml');
  t.equal(
    containerdHostsToml(insecure()),
    `# Written by meta-container-registry (containerd-registry-config).
server = "http://10.0.2.2:5000"

[host."http://10.0.2.2:5000"]
capabilities = [ "pull", "resolve" ]

`,
  );
  t.equal(
    containerdHostsToml(secure({ targetNetwork: 'tap' })),
    `# Written by meta-container-registry (containerd-registry-config).
server = "https://192.168.7.1:5000"

[host."https://192.168.7.1:5000"]
capabilities = [ "pull", "resolve" ]
ca = "/etc/containerd/certs.d/192.168.7.1:5000/ca.crt"

`,
  );
});

t.test('vdkr registry.conf', async (t) => {
  t.equal(
    vdkrRegistryConf(insecure()),
    `# vdkr registry defaults, written by meta-container-registry (vdkr-registry-config).
# Kernel parameters (docker_registry=..., docker_insecure_registry=...) and \`vdkr vconfig\` override them.
VDKR_DEFAULT_REGISTRY="10.0.2.2:5000/yocto"
VDKR_INSECURE_REGISTRIES="10.0.2.2:5000"
`,
  );
  t.equal(
    vdkrRegistryConf(secure({ namespace: '', url: 'localhost:5000' })),
    `# vdkr registry defaults, written by meta-container-registry (vdkr-registry-config).
# Kernel parameters (docker_registry=..., docker_insecure_registry=...) and \`vdkr vconfig\` override them.
VDKR_DEFAULT_REGISTRY="10.0.2.2:5000"
# Secure mode: TLS with the build CA (container-registry-ca installs it for docker).
DOCKER_REGISTRY_SECURE="1"
`,
  );
});

t.test('secure mode drops this registry from DOCKER_REGISTRY_INSECURE (TLS is verified), keeps others', async (t) => {
  const s = secure({ dockerInsecure: 'localhost:5000 127.0.0.1:5000 10.0.2.2:5000 other.lan:5000 localhost:6000' });
  t.same(s.extraInsecure, ['other.lan:5000', '10.0.2.2:6000']);
  t.equal(dockerDaemonJson(s), `{\n  "insecure-registries": [\n    "other.lan:5000",\n    "10.0.2.2:6000"\n  ]\n}\n`);
  t.equal(dockerDaemonJson(secure({ dockerInsecure: 'localhost:5000' })), undefined, 'nothing left: no daemon.json');
  t.same(insecure({ dockerInsecure: 'localhost:5000' }).extraInsecure, ['10.0.2.2:5000'], 'insecure mode keeps it');
});

t.test('certs.d paths', async (t) => {
  t.equal(certsDCaPath('docker', '10.0.2.2:5000'), '/etc/docker/certs.d/10.0.2.2:5000/ca.crt');
  t.equal(certsDCaPath('containers', '10.0.2.2:5000'), '/etc/containers/certs.d/10.0.2.2:5000/ca.crt');
  t.equal(certsDCaPath('containerd', '10.0.2.2:5000'), '/etc/containerd/certs.d/10.0.2.2:5000/ca.crt');
  t.throws(() => certsDCaPath('docker', '../x'), { message: /invalid registry/ });
});

t.test('package file lists: every certs.d path has one owner', async (t) => {
  const paths = (kind: (typeof TARGET_KINDS)[number], s = insecure(), ca?: string) => targetFiles(kind, s, ca).map((f) => f.path);
  t.same(paths('docker'), ['/etc/docker/daemon.json']);
  t.same(paths('containers'), ['/etc/containers/registries.conf.d/50-custom-registry.conf']);
  t.same(paths('containerd'), ['/etc/containerd/certs.d/10.0.2.2:5000/hosts.toml']);
  t.same(paths('vdkr'), ['/etc/vdkr/registry.conf']);
  // Secure mode: the CA package owns the trust store entry and docker's and podman's certs.d copies
  // (as the reference's CA package did); the engines' packages depend on it. containerd's copy sits
  // beside its hosts.toml.
  t.same(paths('docker', secure(), CA), []);
  t.same(paths('containers', secure(), CA), ['/etc/containers/registries.conf.d/50-custom-registry.conf']);
  t.same(paths('containerd', secure(), CA), ['/etc/containerd/certs.d/10.0.2.2:5000/hosts.toml', '/etc/containerd/certs.d/10.0.2.2:5000/ca.crt']);
  t.same(paths('ca', secure(), CA), [
    '/usr/local/share/ca-certificates/container-registry-ca.crt',
    '/etc/docker/certs.d/10.0.2.2:5000/ca.crt',
    '/etc/containers/certs.d/10.0.2.2:5000/ca.crt',
  ]);
  t.same(paths('ca', secure({ targetNetwork: 'tap' }), CA)[1], '/etc/docker/certs.d/192.168.7.1:5000/ca.crt', 'addressed as the target sees it');
  const all = TARGET_KINDS.flatMap((k) => paths(k, secure(), CA));
  t.equal(new Set(all).size, all.length, 'no path in two packages');
  t.ok(targetFiles('ca', secure(), CA).every((f) => f.content === CA));
  t.same(targetFiles('docker', secure()), [], 'docker needs no CA of its own');
  t.throws(() => targetFiles('containerd', secure()), { code: 'missing-ca' });
  t.throws(() => targetFiles('ca', insecure()), { code: 'missing-ca' });
  t.ok(targetFiles('docker', insecure()).every((f) => f.mode === 0o644));
});

t.test('signatures required (REQUIRE_SIGNATURES): policy.json, registries.d and the public key for podman/skopeo/CRI-O', async (t) => {
  const PUB = '-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n';
  const sig = { publicKey: PUB, signedRegistry: 'localhost:5000' };
  const files = targetFiles('containers', insecure(), undefined, sig);
  t.same(
    files.map((f) => [f.path, f.mode]),
    [
      ['/etc/containers/registries.conf.d/50-custom-registry.conf', 0o644],
      ['/etc/containers/policy.json', 0o644],
      ['/etc/containers/registries.d/container-registry.yaml', 0o644],
      ['/etc/containers/keys/container-registry.pub', 0o644],
    ],
  );
  const policy = JSON.parse(files[1]!.content) as unknown;
  t.same(
    policy,
    {
      default: [{ type: 'insecureAcceptAnything' }],
      transports: {
        docker: {
          '10.0.2.2:5000': [
            {
              type: 'sigstoreSigned',
              keyPath: '/etc/containers/keys/container-registry.pub',
              signedIdentity: { type: 'remapIdentity', prefix: '10.0.2.2:5000', signedPrefix: 'localhost:5000' },
            },
          ],
        },
        'docker-daemon': { '': [{ type: 'insecureAcceptAnything' }] },
      },
    },
    'the QEMU address is mapped back to the name the build signed',
  );
  t.equal(files[2]!.content.split('\n').slice(2).join('\n'), 'docker:\n  "10.0.2.2:5000":\n    use-sigstore-attachments: true\n');
  t.equal(files[3]!.content, PUB);
  const lan = JSON.parse(
    targetFiles('containers', insecure({ targetHost: 'registry.lan:5000' }), undefined, { ...sig, signedRegistry: 'registry.lan:5000' })[1]!.content,
  ) as {
    transports: { docker: Record<string, Array<{ signedIdentity: unknown }>> };
  };
  t.same(lan.transports.docker['registry.lan:5000']![0]!.signedIdentity, { type: 'matchRepoDigestOrExact' }, 'the same name on both sides: no remap');
  t.same(
    targetFiles('containers', secure({ targetNetwork: 'tap' }), CA, sig).map((f) => f.path)[1],
    '/etc/containers/policy.json',
    'secure mode too; the CA stays the CA package’s',
  );
  t.equal(targetFiles('containers', insecure()).length, 1, 'off: the drop-in alone');
  t.equal(targetFiles('docker', insecure(), undefined, sig).length, 1, 'docker reads no policy.json: nothing added');
  t.throws(() => targetFiles('containers', insecure(), undefined, { ...sig, publicKey: 'not a key' }), { message: /not a PEM public key/ });
});

// CONTAINER_REGISTRY_MIRRORS: Docker Hub and an upstream on the build host's loopback (host:port).
const MIRRORS = 'docker.io, localhost:5001=http://127.0.0.1:5001';

t.test('mirrors: each upstream with its prefix, its API rewritten like any build-host address', async (t) => {
  t.same(insecure({ mirrors: MIRRORS }).mirrors, [
    { host: 'docker.io', prefix: 'docker.io', upstream: 'https://registry-1.docker.io' },
    { host: 'localhost:5001', prefix: 'localhost-5001', upstream: 'http://10.0.2.2:5001' },
  ]);
  t.same(
    insecure({ mirrors: MIRRORS, targetNetwork: 'tap' }).mirrors.map((m) => m.upstream),
    ['https://registry-1.docker.io', 'http://192.168.7.1:5001'],
  );
  t.same(
    insecure({ mirrors: MIRRORS, targetHost: 'buildhost.lan:7000' }).mirrors.map((m) => m.upstream),
    ['https://registry-1.docker.io', 'http://buildhost.lan:5001'],
    'TARGET_HOST names the build host; the upstream keeps its own port',
  );
  t.same(insecure({ mirrors: 'quay.io' }).mirrors, [{ host: 'quay.io', prefix: 'quay.io', upstream: 'https://quay.io' }]);
  t.same(insecure({ mirrors: '  ' }).mirrors, [], 'empty: no mirrors');
  t.throws(() => insecure({ mirrors: 'docker.io docker.io' }), { message: /names docker.io twice/ });
  t.throws(() => insecure({ mirrors: 'localhost:5000' }), { message: /this registry itself/ });
  t.throws(() => insecure({ mirrors: 'r.lan=ftp://r.lan' }), { message: /must be http/ });
});

t.test('containerd: a hosts.toml per mirrored upstream, our registry first under its prefix', async (t) => {
  const files = targetFiles('containerd', insecure({ mirrors: MIRRORS }));
  t.same(
    files.map((f) => f.path),
    ['/etc/containerd/certs.d/10.0.2.2:5000/hosts.toml', '/etc/containerd/certs.d/docker.io/hosts.toml', '/etc/containerd/certs.d/localhost:5001/hosts.toml'],
  );
  t.equal(
    files[1]!.content,
    `# Written by meta-container-registry (containerd-registry-config): pulls of docker.io go through the
# build's registry, a pull-through cache of it, before https://registry-1.docker.io itself.
server = "https://registry-1.docker.io"

[host."http://10.0.2.2:5000/v2/docker.io"]
capabilities = [ "pull", "resolve" ]
override_path = true

`,
  );
  t.equal(
    files[2]!.content,
    `# Written by meta-container-registry (containerd-registry-config): pulls of localhost:5001 go through the
# build's registry, a pull-through cache of it, before http://10.0.2.2:5001 itself.
server = "http://10.0.2.2:5001"

[host."http://10.0.2.2:5000/v2/localhost-5001"]
capabilities = [ "pull", "resolve" ]
override_path = true

`,
  );
  const secureFiles = targetFiles('containerd', secure({ mirrors: MIRRORS, targetNetwork: 'tap' }), CA);
  t.same(
    secureFiles.map((f) => f.path),
    [
      '/etc/containerd/certs.d/192.168.7.1:5000/hosts.toml',
      '/etc/containerd/certs.d/docker.io/hosts.toml',
      '/etc/containerd/certs.d/localhost:5001/hosts.toml',
      '/etc/containerd/certs.d/192.168.7.1:5000/ca.crt',
    ],
    'one CA, beside our own hosts.toml',
  );
  t.equal(
    secureFiles[2]!.content,
    `# Written by meta-container-registry (containerd-registry-config): pulls of localhost:5001 go through the
# build's registry, a pull-through cache of it, before http://192.168.7.1:5001 itself.
server = "http://192.168.7.1:5001"

[host."https://192.168.7.1:5000/v2/localhost-5001"]
capabilities = [ "pull", "resolve" ]
override_path = true
ca = "/etc/containerd/certs.d/192.168.7.1:5000/ca.crt"

`,
  );
  t.same(
    targetFiles('containerd', insecure()).map((f) => f.path),
    ['/etc/containerd/certs.d/10.0.2.2:5000/hosts.toml'],
    'no mirrors: our hosts.toml alone',
  );
});

t.test('containers: each mirrored upstream a [[registry]] with our registry as its mirror, in the same drop-in', async (t) => {
  t.equal(
    containersRegistriesConf(insecure({ mirrors: MIRRORS })),
    `# Written by meta-container-registry (container-oci-registry-config): our registry is searched
# first for unqualified names, then docker.io, quay.io.
# Pulls of docker.io, localhost:5001 go through our registry (a pull-through cache) first.
unqualified-search-registries = [ "10.0.2.2:5000", "docker.io", "quay.io" ]

[[registry]]
location = "10.0.2.2:5000"
insecure = true

[[registry]]
prefix = "docker.io"
location = "docker.io"

[[registry.mirror]]
location = "10.0.2.2:5000/docker.io"
insecure = true

[[registry]]
prefix = "localhost:5001"
location = "localhost:5001"

[[registry.mirror]]
location = "10.0.2.2:5000/localhost-5001"
insecure = true

`,
  );
  t.equal(
    containersRegistriesConf(secure({ mirrors: 'docker.io', targetNetwork: 'tap', searchRegistries: '' })),
    `# Written by meta-container-registry (container-oci-registry-config): our registry is searched
# first for unqualified names, then nothing else.
# Pulls of docker.io go through our registry (a pull-through cache) first.
unqualified-search-registries = [ "192.168.7.1:5000" ]

[[registry]]
location = "192.168.7.1:5000"
insecure = false

[[registry]]
prefix = "docker.io"
location = "docker.io"

[[registry.mirror]]
location = "192.168.7.1:5000/docker.io"
insecure = false

`,
  );
});

t.test('docker: registry-mirrors only when docker.io is mirrored (dockerd mirrors Docker Hub alone)', async (t) => {
  t.equal(
    dockerDaemonJson(insecure({ mirrors: MIRRORS })),
    '{\n  "insecure-registries": [\n    "10.0.2.2:5000"\n  ],\n  "registry-mirrors": [\n    "http://10.0.2.2:5000"\n  ]\n}\n',
  );
  t.equal(
    dockerDaemonJson(secure({ mirrors: 'docker.io', targetNetwork: 'tap' })),
    '{\n  "registry-mirrors": [\n    "https://192.168.7.1:5000"\n  ]\n}\n',
    'secure: the mirror alone (the CA package installs its CA in certs.d)',
  );
  t.equal(dockerDaemonJson(secure({ mirrors: 'localhost:5001=http://127.0.0.1:5001 quay.io' })), undefined, 'no docker.io: nothing for docker');
  t.same(
    targetFiles('docker', secure({ mirrors: 'docker.io' }), CA).map((f) => f.path),
    ['/etc/docker/daemon.json'],
  );
  const all = TARGET_KINDS.flatMap((k) => targetFiles(k, secure({ mirrors: MIRRORS }), CA).map((f) => f.path));
  t.equal(new Set(all).size, all.length, 'with mirrors still no path in two packages');
});
