// The layer's Python (lib/containerregistry) under plain python3 with a stand-in for BitBake's `bb`
// and datastore: the rules (settings.py: AUTH implies SECURE, SECURE with INSECURE is fatal, the
// engine picks the package), running the helper (helper.py: node is found and its version checked),
// the OCI labels.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { ROOT } from './helpers/registry.js';
import { tempDir } from './helpers/tmp.js';
import { which } from './helpers/peers.js';

const LIB = join(ROOT, 'meta-container-registry', 'lib');

const STUB_BB = `
class Fatal(Exception):
    pass
def fatal(msg):
    raise Fatal(msg)
def plain(msg): pass
def warn(msg): pass
def note(msg): pass
`;
const STUB_UTILS = `
import os
def which(path, item):
    for p in (path or '').split(':'):
        c = os.path.join(p, item)
        if os.path.exists(c):
            return c
    return ''
def mkdirhier(p):
    os.makedirs(p, exist_ok=True)
`;
const STUB_PARSE = `
class SkipRecipe(Exception):
    pass
def mark_dependency(d, f):
    d.deps.append(f)
`;
const PRELUDE = `
import json, sys
import bb, bb.utils, bb.parse
sys.modules['bb'].utils = bb.utils
sys.modules['bb'].parse = bb.parse
from containerregistry import settings, helper, labels
class D:
    def __init__(self, values):
        self.values = dict(values)
        self.deps = []
    def getVar(self, name):
        return self.values.get(name)
    def setVar(self, name, value):
        self.values[name] = value
    def appendVar(self, name, value):
        self.values[name] = (self.values.get(name) or '') + value
def attempt(fn, *args):
    try:
        return fn(*args)
    except bb.Fatal as e:
        return 'FATAL: ' + str(e)
    except bb.parse.SkipRecipe as e:
        return 'SKIP: ' + str(e)
`;

async function python(t: { teardown(fn: () => unknown): void }, body: string): Promise<unknown> {
  const dir = await tempDir(t, 'cr-py-');
  await mkdir(join(dir, 'bb'));
  await writeFile(join(dir, 'bb', '__init__.py'), STUB_BB);
  await writeFile(join(dir, 'bb', 'utils.py'), STUB_UTILS);
  await writeFile(join(dir, 'bb', 'parse.py'), STUB_PARSE);
  const r = spawnSync('python3', ['-c', `${PRELUDE}\n${body}`], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, PYTHONPATH: `${dir}:${LIB}`, PYTHONDONTWRITEBYTECODE: '1' },
  });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

t.test('python3', { skip: which('python3') ? false : 'needs python3' }, async (t) => {
  t.test('secure: AUTH implies it; with INSECURE it is fatal', async (t) => {
    const out = await python(
      t,
      `print(json.dumps([
      settings.secure(D({})),
      settings.secure(D({'CONTAINER_REGISTRY_AUTH': '1'})),
      settings.secure(D({'CONTAINER_REGISTRY_SECURE': '1', 'CONTAINER_REGISTRY_INSECURE': '0'})),
      attempt(settings.secure, D({'CONTAINER_REGISTRY_AUTH': '1', 'CONTAINER_REGISTRY_INSECURE': '1'})),
      attempt(settings.flag, D({'CONTAINER_REGISTRY_SECURE': 'maybe'}), 'CONTAINER_REGISTRY_SECURE'),
      attempt(settings.check, D({'CONTAINER_REGISTRY_URL': 'localhost:5000', 'CONTAINER_REGISTRY_AUTH_MODE': 'authfile'})),
      attempt(settings.check, D({'CONTAINER_REGISTRY_URL': 'localhost:5000', 'CONTAINER_REGISTRY_TARGET_NETWORK': 'bridge'})),
      attempt(settings.check, D({'CONTAINER_REGISTRY_URL': 'localhost:5000', 'CONTAINER_REGISTRY_AUTH_MODE': 'bogus'})),
      settings.check(D({'CONTAINER_REGISTRY_URL': 'localhost:5000'})),
    ]))`,
    );
    const [none, auth, sec, both, bad, authfile, network, mode, fine] = out as unknown[];
    t.equal(none, false);
    t.equal(auth, true);
    t.equal(sec, true);
    t.match(both, /^FATAL: CONTAINER_REGISTRY_SECURE \(or CONTAINER_REGISTRY_AUTH\) = "1" and CONTAINER_REGISTRY_INSECURE = "1" contradict/);
    t.match(bad, /^FATAL: CONTAINER_REGISTRY_SECURE must be "1" or "0"/);
    t.match(authfile, /needs CONTAINER_REGISTRY_AUTHFILE/);
    t.match(network, /slirp .* or tap/);
    t.match(mode, /use one of none, home, authfile, credsfile, env/);
    t.equal(fine, null);
  });

  t.test('local_dir: the storage folder, or STATE_DIR for an s3:// storage (the script, pki/ and auth/ live there)', async (t) => {
    const out = await python(
      t,
      `print(json.dumps([
      settings.local_dir(D({'CONTAINER_REGISTRY_STORAGE': '/b/container-registry', 'CONTAINER_REGISTRY_STATE_DIR': '/b/state'})),
      settings.local_dir(D({'CONTAINER_REGISTRY_STORAGE': 's3://images/yocto', 'CONTAINER_REGISTRY_STATE_DIR': '/b/state'})),
      settings.local_dir(D({'CONTAINER_REGISTRY_STORAGE': 'S3://images', 'CONTAINER_REGISTRY_STATE_DIR': '/b/state'})),
      helper.script_path(D({'CONTAINER_REGISTRY_STORAGE': 's3://images/yocto', 'CONTAINER_REGISTRY_STATE_DIR': '/b/state'})),
      helper.script_path(D({'CONTAINER_REGISTRY_STORAGE': '/b/container-registry'})),
    ]))`,
    );
    t.same(out, ['/b/container-registry', '/b/state', '/b/state', '/b/state/container-registry.sh', '/b/container-registry/container-registry.sh']);
  });

  t.test('FEATURE_PACKAGES_container-registry follows the engine, adds the CA in secure mode', async (t) => {
    const out = await python(
      t,
      `print(json.dumps([
      settings.feature_packages(D({})),
      settings.feature_packages(D({'VIRTUAL-RUNTIME_container_engine': 'podman'})),
      settings.feature_packages(D({'CONTAINER_PROFILE': 'docker'})),
      settings.feature_packages(D({'CONTAINER_REGISTRY_ENGINE': 'cri-o skopeo', 'VIRTUAL-RUNTIME_container_engine': 'docker'})),
      settings.feature_packages(D({'CONTAINER_REGISTRY_ENGINE': 'containerd k3s'})),
      settings.feature_packages(D({'CONTAINER_REGISTRY_ENGINE': 'vdkr', 'CONTAINER_REGISTRY_SECURE': '1'})),
      settings.feature_packages(D({'VIRTUAL-RUNTIME_container_engine': 'docker-moby', 'CONTAINER_REGISTRY_AUTH': '1'})),
      attempt(settings.feature_packages, D({'CONTAINER_REGISTRY_ENGINE': 'lxc'})),
    ]))`,
    );
    t.same((out as string[]).slice(0, 7), [
      'docker-registry-config',
      'container-oci-registry-config',
      'docker-registry-config',
      'container-oci-registry-config',
      'containerd-registry-config',
      'vdkr-registry-config container-registry-ca',
      'docker-registry-config container-registry-ca',
    ]);
    t.match((out as string[])[7], /unknown container engine "lxc"/);
  });

  t.test('node: CONTAINER_REGISTRY_NODE or PATH, resolved, >= 20, clear failures', async (t) => {
    const dir = await tempDir(t, 'cr-node-');
    const fake = async (name: string, version: string) => {
      const p = join(dir, name);
      await writeFile(p, `#!/bin/sh\necho ${version}\n`);
      await chmod(p, 0o755);
      return p;
    };
    const old = await fake('node18', 'v18.19.0');
    const good = await fake('node22', 'v22.1.0');
    await mkdir(join(dir, 'bin'));
    const out = await python(
      t,
      `print(json.dumps([
      attempt(helper.node, D({'CONTAINER_REGISTRY_NODE': ${JSON.stringify(good)}})),
      attempt(helper.node, D({'CONTAINER_REGISTRY_NODE': ${JSON.stringify(old)}})),
      attempt(helper.node, D({'PATH': ${JSON.stringify(join(dir, 'bin'))}})),
      attempt(helper.node, D({'CONTAINER_REGISTRY_NODE': '/nonexistent/node'})),
    ]))`,
    );
    const [ok, tooOld, missing, missingExplicit] = out as string[];
    t.equal(ok, good);
    t.match(tooOld, /^FATAL: .*node18 is Node.js v18.19.0; meta-container-registry needs >= 20/);
    t.match(missing, /^FATAL: meta-container-registry needs Node.js >= 20 on the build host, and node on PATH \(HOSTTOOLS_NONFATAL\) was not found/);
    t.match(missingExplicit, /CONTAINER_REGISTRY_NODE = "\/nonexistent\/node" was not found/);
  });

  t.test("the helper's environment and arguments: effective SECURE, the CA where a package needs it, never the password", async (t) => {
    const out = await python(
      t,
      `
calls = []
class Out:
    stdout = ''
helper.run_helper = lambda d, args, extra_env=None, check=True: calls.append(args) or Out()
base = {'CONTAINER_REGISTRY_URL': 'localhost:5000', 'CONTAINER_REGISTRY_PASSWORD': 'secret', 'CONTAINER_REGISTRY_CA': '/s/pki/ca.crt',
        'CONTAINER_REGISTRY_STORAGE': '/s', 'DEPLOY_DIR_IMAGE': '/deploy'}
env = helper.helper_env(D(dict(base, CONTAINER_REGISTRY_AUTH='1')))
for kind in ('docker', 'vdkr', 'ca', 'containerd'):
    helper.write_config(D(base), kind, '/D')
    helper.write_config(D(dict(base, CONTAINER_REGISTRY_SECURE='1')), kind, '/D')
print(json.dumps([{k: env.get(k) for k in ('CONTAINER_REGISTRY_SECURE', 'CONTAINER_REGISTRY_URL', 'CONTAINER_REGISTRY_STORAGE', 'DEPLOY_DIR_IMAGE')},
                  'CONTAINER_REGISTRY_PASSWORD' in env, calls]))`,
    );
    const [env, hasPassword, calls] = out as [Record<string, string>, boolean, string[][]];
    t.same(
      env,
      { CONTAINER_REGISTRY_SECURE: '1', CONTAINER_REGISTRY_URL: 'localhost:5000', CONTAINER_REGISTRY_STORAGE: '/s', DEPLOY_DIR_IMAGE: '/deploy' },
      'AUTH implies SECURE',
    );
    t.equal(hasPassword, false, 'the password is not in the environment');
    const ca = ['--ca', '/s/pki/ca.crt'];
    // The CA package carries docker's and podman's copies; containerd's sits beside its hosts.toml.
    t.same(calls, [
      ['config', 'docker', '--output', '/D'],
      ['config', 'docker', '--output', '/D'],
      ['config', 'vdkr', '--output', '/D'],
      ['config', 'vdkr', '--output', '/D'],
      ['config', 'ca', '--output', '/D', ...ca],
      ['config', 'ca', '--output', '/D', ...ca],
      ['config', 'containerd', '--output', '/D'],
      ['config', 'containerd', '--output', '/D', ...ca],
    ]);
  });

  t.test('config recipes: the CA and the helper are inputs by content', async (t) => {
    const dir = await tempDir(t, 'cr-ca-');
    await writeFile(join(dir, 'ca.crt'), 'CA\n');
    await writeFile(join(dir, 'helper.mjs'), 'x');
    const out = await python(
      t,
      `
def setup(values, kind):
    d = D(dict(values, PN=kind + '-pkg'))
    r = attempt(settings.config_recipe_setup, d, kind)
    return [r, d.getVar('CONTAINER_REGISTRY_CA_SHA256'), d.getVar('CONTAINER_REGISTRY_HELPER_SHA256'), d.deps, d.getVar('RDEPENDS:' + kind + '-pkg')]
base = {'CONTAINER_REGISTRY_HELPER': ${JSON.stringify(join(dir, 'helper.mjs'))}, 'CONTAINER_REGISTRY_CA': ${JSON.stringify(join(dir, 'ca.crt'))}}
print(json.dumps([
  setup(dict(base), 'docker'),
  setup(dict(base, CONTAINER_REGISTRY_SECURE='1'), 'docker'),
  setup(dict(base), 'ca'),
  setup(dict(base, CONTAINER_REGISTRY_SECURE='1', CONTAINER_REGISTRY_CA='/nonexistent/ca.crt'), 'containerd'),
  setup(dict(base, CONTAINER_REGISTRY_AUTH='1'), 'vdkr'),
  setup(dict(base, CONTAINER_REGISTRY_SECURE='1'), 'containerd'),
  setup(dict(base, CONTAINER_REGISTRY_SECURE='1', CONTAINER_REGISTRY_CA='/nonexistent/ca.crt'), 'containers'),
]))`,
    );
    type Setup = [string | null, string, string, string[], string | null];
    const [insecure, secureDocker, caInsecure, missing, vdkr, containerd, containers] = out as Setup[] as [Setup, Setup, Setup, Setup, Setup, Setup, Setup];
    const sha = (s: string) => createHash('sha256').update(s).digest('hex');
    t.same(insecure, [null, '', sha('x'), [join(dir, 'helper.mjs')], null]);
    // docker's CA copy is the CA package's: in secure mode docker depends on it and carries none.
    t.same(secureDocker, [null, '', sha('x'), [join(dir, 'helper.mjs')], ' container-registry-ca']);
    t.same(containerd, [null, sha('CA\n'), sha('x'), [join(dir, 'helper.mjs'), join(dir, 'ca.crt')], null], 'containerd carries its own copy');
    t.match(caInsecure[0], /^SKIP: the registry CA is for secure mode/);
    t.match(
      missing[0],
      /^SKIP: secure mode needs the registry CA \/nonexistent\/ca.crt, which does not exist yet: run `bitbake container-registry-index -c generate_registry_script` first/,
    );
    t.same(missing[3], [join(dir, 'helper.mjs'), '/nonexistent/ca.crt'], 're-parsed when the CA appears');
    t.same(
      vdkr.slice(1),
      ['', sha('x'), [join(dir, 'helper.mjs')], ' container-registry-ca'],
      'vdkr: no CA of its own, depends on the CA package (AUTH implies SECURE)',
    );
    t.equal(containers[0], null, 'podman config needs no CA file to build');
    t.equal(containers[4], ' container-registry-ca');
  });

  t.test('signatures: REQUIRE_SIGNATURES makes the public key an input of the containers package and an argument of its config', async (t) => {
    const dir = await tempDir(t, 'cr-sig-');
    await writeFile(join(dir, 'signing.pub'), 'PUB\n');
    await writeFile(join(dir, 'helper.mjs'), 'x');
    const pub = join(dir, 'signing.pub');
    const out = await python(
      t,
      `
calls = []
class Out:
    stdout = ''
helper.run_helper = lambda d, args, extra_env=None, check=True: calls.append(args) or Out()
def setup(values, kind):
    d = D(dict(values, PN=kind + '-pkg'))
    r = attempt(settings.config_recipe_setup, d, kind)
    return [r, d.getVar('CONTAINER_REGISTRY_SIGNING_PUBKEY_SHA256'), d.deps]
base = {'CONTAINER_REGISTRY_HELPER': ${JSON.stringify(join(dir, 'helper.mjs'))}, 'CONTAINER_REGISTRY_SIGNING_PUBKEY': ${JSON.stringify(pub)},
        'CONTAINER_REGISTRY_URL': 'localhost:5000'}
on = dict(base, CONTAINER_REGISTRY_REQUIRE_SIGNATURES='1')
results = [
  setup(dict(base), 'containers'),
  setup(on, 'containers'),
  setup(on, 'docker'),
  setup(dict(on, CONTAINER_REGISTRY_SIGNING_PUBKEY='/nonexistent/signing.pub'), 'containers'),
  attempt(settings.requires_signatures, D(dict(base, CONTAINER_REGISTRY_REQUIRE_SIGNATURES='maybe')), 'containers'),
  [settings.signing_key_wanted(D(base)), settings.signing_key_wanted(D(dict(base, CONTAINER_REGISTRY_SIGN='1'))), settings.signing_key_wanted(D(on))],
]
helper.write_config(D(base), 'containers', '/D')
helper.write_config(D(on), 'containers', '/D')
helper.write_config(D(on), 'docker', '/D')
env = helper.helper_env(D(on))
print(json.dumps([results, calls, env.get('CONTAINER_REGISTRY_REQUIRE_SIGNATURES')]))`,
    );
    type Setup = [string | null, string, string[]];
    const [[off, containers, docker, missing, bad, wanted], calls, envValue] = out as [[Setup, Setup, Setup, Setup, string, boolean[]], string[][], string];
    const sha = createHash('sha256').update('PUB\n').digest('hex');
    t.same(off, [null, '', [join(dir, 'helper.mjs')]], 'off: the key is no input');
    t.same(containers, [null, sha, [join(dir, 'helper.mjs'), pub]], 'on: the key is an input by content, and re-parsed when it changes');
    t.same(docker, [null, '', [join(dir, 'helper.mjs')]], 'docker reads no policy.json: no key');
    t.match(missing[0], /^SKIP: CONTAINER_REGISTRY_REQUIRE_SIGNATURES = "1" needs the signing public key \/nonexistent\/signing.pub, which does not exist yet/);
    t.match(bad, /^FATAL: CONTAINER_REGISTRY_REQUIRE_SIGNATURES must be "1" or "0"/);
    t.same(wanted, [false, true, true], 'SIGN or REQUIRE_SIGNATURES: generate_registry_script makes the key');
    t.same(calls, [
      ['config', 'containers', '--output', '/D'],
      ['config', 'containers', '--output', '/D', '--signing-key', pub],
      ['config', 'docker', '--output', '/D'],
    ]);
    t.equal(envValue, '1', 'the helper sees REQUIRE_SIGNATURES');
  });

  t.test('DOCKER_REGISTRY_INSECURE entries that are this registry (secure mode drops them)', async (t) => {
    const out = await python(
      t,
      `
def entries(url, insecure, target=''):
    return settings.insecure_entries_naming_registry(D({'CONTAINER_REGISTRY_URL': url, 'DOCKER_REGISTRY_INSECURE': insecure, 'CONTAINER_REGISTRY_TARGET_HOST': target}))
print(json.dumps([
  entries('localhost:5000', 'localhost:5000 127.0.0.1:5000 10.0.2.2:5000 [::1]:5000 localhost:6000 other.lan:5000'),
  entries('reg.lan:5000', 'localhost:5000 reg.lan:5000'),
  entries('localhost:5000', 'board-host:5000', 'board-host'),
]))`,
    );
    t.same(out, [['localhost:5000', '127.0.0.1:5000', '10.0.2.2:5000', '[::1]:5000'], ['reg.lan:5000'], ['board-host:5000']]);
  });

  t.test('OCI labels', async (t) => {
    const out = await python(
      t,
      `print(json.dumps([
      labels.oci_labels(D({'OCI_IMAGE_REVISION': 'abc1234', 'OCI_IMAGE_BRANCH': 'feature/x y', 'SOURCE_DATE_EPOCH': '1700000000', 'OCI_IMAGE_BUILD_DATE': 'reproducible', 'OCI_IMAGE_VERSION': '1.2.3', 'TOPDIR': '/nonexistent'})),
      labels.oci_labels(D({'OCI_IMAGE_REVISION': 'none', 'OCI_IMAGE_BRANCH': 'none', 'OCI_IMAGE_BUILD_DATE': '2026-01-12T20:32:24Z', 'OCI_IMAGE_VERSION': 'none', 'TOPDIR': '/nonexistent'})),
      labels.oci_labels(D({'OCI_IMAGE_AUTO_LABELS': '0', 'OCI_IMAGE_REVISION': 'abc'})),
      labels.oci_labels(D({'TOPDIR': '/nonexistent', 'SOURCE_DATE_EPOCH': '0', 'OCI_IMAGE_BUILD_DATE': 'reproducible'})),
      labels.oci_labels(D({'TOPDIR': '/nonexistent', 'SOURCE_DATE_EPOCH': '1302044400', 'DATETIME': '20261129183012',
                           'METADATA_REVISION': '0123456789abcdef', 'METADATA_BRANCH': 'wrynose'})),
      labels.oci_labels(D({'TOPDIR': '/nonexistent', 'METADATA_REVISION': '<unknown>', 'METADATA_BRANCH': 'HEAD'})),
    ]))`,
    );
    t.same(out, [
      'org.opencontainers.image.revision=abc1234 org.opencontainers.image.ref.name=feature/x-y org.opencontainers.image.created=2023-11-14T22:13:20Z org.opencontainers.image.version=1.2.3',
      'org.opencontainers.image.created=2026-01-12T20:32:24Z',
      '',
      'org.opencontainers.image.created=1970-01-01T00:00:00Z',
      // By default: the build's time (DATETIME, UTC), not SOURCE_DATE_EPOCH's 2011; the metadata's revision and branch outside git.
      'org.opencontainers.image.revision=0123456 org.opencontainers.image.ref.name=wrynose org.opencontainers.image.created=2026-11-29T18:30:12Z',
      '',
    ]);
  });
});
