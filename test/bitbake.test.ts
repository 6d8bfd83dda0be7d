// Real BitBake with openembedded-core: parse the layer, generate container-registry.sh, run it
// (start, push of a test layout placed in deploy/, list, stop), and build the target config
// packages (do_install + package_write_deb, checked with dpkg-deb -x) in insecure and secure mode.
//
// Needs checkouts of openembedded/bitbake and openembedded/openembedded-core (a scarthgap tag
// such as yocto-5.0.19) named by BITBAKE_DIR and OECORE_DIR, root, dpkg-deb, openssl and the
// en_US.UTF-8 locale; it skips with the reason otherwise. oe-core's recipes are masked for a fast
// parse and test/oe-harness (a tiny layer kept here; OE_HARNESS_DIR names another copy) runs
// packaging without pseudo.
import t from 'tap';

type Tap = Pick<typeof t, 'equal'> & { same: typeof t.same };
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { BUNDLE, ROOT } from './helpers/registry.js';
import { freePort } from './helpers/ports.js';
import { tempDir } from './helpers/tmp.js';
import { isRoot, which } from './helpers/peers.js';
import { makeImage, writeLayout } from './helpers/images.js';
import { resolveTargetSettings } from '../tools/src/target/settings.js';
import { targetFiles, type TargetKind } from '../tools/src/target/files.js';

const BITBAKE_DIR = process.env.BITBAKE_DIR;
const OECORE_DIR = process.env.OECORE_DIR;
const HARNESS = resolve(process.env.OE_HARNESS_DIR || join(ROOT, 'test', 'oe-harness'));
const LAYER = join(ROOT, 'meta-container-registry');
const PASSWORD = "pa$$ word'1";

function skipReason(): string | undefined {
  if (!BITBAKE_DIR || !OECORE_DIR)
    return 'set BITBAKE_DIR and OECORE_DIR to checkouts of openembedded/bitbake and openembedded/openembedded-core (e.g. tag yocto-5.0.19)';
  if (!existsSync(join(BITBAKE_DIR, 'bin', 'bitbake'))) return `BITBAKE_DIR=${BITBAKE_DIR} holds no bin/bitbake`;
  if (!existsSync(join(OECORE_DIR, 'oe-init-build-env'))) return `OECORE_DIR=${OECORE_DIR} holds no oe-init-build-env`;
  if (!existsSync(join(HARNESS, 'conf', 'layer.conf'))) return `oe-harness not found at ${HARNESS} (set OE_HARNESS_DIR)`;
  if (!isRoot()) return 'runs as root (oe-harness runs packaging without pseudo)';
  for (const bin of ['dpkg-deb', 'openssl', 'python3']) if (!which(bin)) return `needs ${bin}`;
  const locales = spawnSync('locale', ['-a'], { encoding: 'utf8' }).stdout ?? '';
  if (!/^en_US\.utf8$/im.test(locales)) return 'needs the en_US.UTF-8 locale (.ci/install-peers generates it)';
  if (!existsSync(BUNDLE)) return `${BUNDLE} is missing: run npm run build`;
  return undefined;
}

const reason = skipReason();
if (reason) {
  t.comment(`bitbake integration skipped: ${reason}`);
  t.pass(`skipped: ${reason}`, { skip: reason });
} else {
  await main();
}

async function main(): Promise<void> {
  const started = Date.now();
  const root = await tempDir(t, 'cr-bitbake-');
  const build = join(root, 'build');
  const port = await freePort();
  const url = `localhost:${port}`;
  const helperHelp = spawnSync(process.execPath, [BUNDLE, '--help'], { encoding: 'utf8' }).stdout;
  const has = (cmd: string) => new RegExp(`^\\s*container-registry ${cmd}\\b`, 'm').test(helperHelp);

  const bitbake = (args: string[], timeoutMs = 180_000): SpawnSyncReturns<string> => {
    const cmd = `. "${OECORE_DIR}/oe-init-build-env" "${build}" >/dev/null && bitbake ${args.map((a) => `'${a}'`).join(' ')}`;
    const r = spawnSync('bash', ['-c', cmd], {
      encoding: 'utf8',
      timeout: timeoutMs,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? '/root',
        LANG: 'en_US.UTF-8',
        LC_ALL: 'en_US.UTF-8',
        BITBAKEDIR: BITBAKE_DIR!,
      },
    });
    return r;
  };
  const ok = (t: Tap, r: SpawnSyncReturns<string>, what: string) => {
    const tail = `${r.stdout ?? ''}${r.stderr ?? ''}`
      .split('\n')
      .filter((l) => !/^NOTE: (Running|recipe)/.test(l))
      .slice(-40)
      .join('\n');
    t.equal(r.status, 0, what, r.status === 0 ? {} : { diagnostic: true, output: tail });
    return r.status === 0;
  };

  // The build directory: local.conf as DESIGN.md and oe-harness's README say.
  await mkdir(join(build, 'conf'), { recursive: true });
  await writeFile(
    join(build, 'conf', 'bblayers.conf'),
    `BBPATH = "\${TOPDIR}"\nBBFILES ?= ""\nBBLAYERS ?= "${OECORE_DIR}/meta ${LAYER} ${HARNESS} ${join(root, 'meta-test')}"\n`,
  );
  const baseConf = `MACHINE = "qemux86-64"
BB_NO_NETWORK = "1"
INHERIT:remove = "sanity"
BBMASK += "^${resolve(OECORE_DIR!)}/meta/recipes-"
ASSUME_PROVIDED += "virtual/\${TARGET_PREFIX}gcc virtual/\${TARGET_PREFIX}compilerlibs virtual/libc virtual/\${TARGET_PREFIX}binutils \\
    gcc-cross-\${TARGET_ARCH} quilt-native patch-native pseudo-native dpkg-native opkg-utils-native rpm-native \\
    virtual/fakeroot-native gnu-config-native autoconf-native automake-native libtool-native pkgconfig-native dwarfsrcfiles-native"
PACKAGE_CLASSES = "package_deb"
HOSTTOOLS += "dpkg-deb"
SKIP_FILEDEPS = "1"
INHIBIT_PACKAGE_STRIP = "1"
INHIBIT_PACKAGE_DEBUG_SPLIT = "1"
WARN_QA:remove = "host-user-contaminated"
ERROR_QA:remove = "host-user-contaminated"
INHERIT += "nopseudo"
OE_HARNESS_STUB_RPROVIDES += "ca-certificates"
require conf/distro/include/container-registry.conf
CONTAINER_REGISTRY_URL = "${url}"
`;
  const localConf = join(build, 'conf', 'local.conf');
  // Insecure mode by the distro fragment alone: it sets CONTAINER_REGISTRY_INSECURE = "1" when not secure.
  await writeFile(localConf, baseConf);
  // A recipe that takes the OCI labels, to read them back.
  await mkdir(join(root, 'meta-test', 'conf'), { recursive: true });
  await mkdir(join(root, 'meta-test', 'recipes-test', 'labels-test'), { recursive: true });
  await writeFile(
    join(root, 'meta-test', 'conf', 'layer.conf'),
    `BBPATH .= ":\${LAYERDIR}"\nBBFILES += "\${LAYERDIR}/recipes-*/*/*.bb"\nBBFILE_COLLECTIONS += "cr-test"\nBBFILE_PATTERN_cr-test = "^\${LAYERDIR}/"\nLAYERSERIES_COMPAT_cr-test = "scarthgap styhead walnascar whinlatter wrynose"\n`,
  );
  await writeFile(
    join(root, 'meta-test', 'recipes-test', 'labels-test', 'labels-test_1.2.3.bb'),
    // It inherits nothing of ours but the labels class: FEATURE_PACKAGES_container-registry comes from layer.conf.
    `SUMMARY = "test"\nLICENSE = "CLOSED"\ninherit oci-image-labels\nOCI_IMAGE_REVISION = "abc1234"\nOCI_IMAGE_BRANCH = "none"\nSOURCE_DATE_EPOCH = "1700000000"\n` +
      `VIRTUAL-RUNTIME_container_engine = "podman"\nCR_TEST_FEATURE = "\${FEATURE_PACKAGES_container-registry}"\n`,
  );

  const storage = join(build, 'container-registry');
  const script = join(storage, 'container-registry.sh');
  const debDir = join(build, 'tmp-glibc', 'deploy', 'deb', 'all');
  const debFiles = async (pkg: string): Promise<Map<string, string>> => {
    const deb = (await readdir(debDir)).find((f) => f.startsWith(`${pkg}_`) && f.endsWith('.deb'));
    if (!deb) throw new Error(`no ${pkg} .deb in ${debDir}`);
    const out = join(root, 'x', pkg, String(Date.now()));
    await mkdir(out, { recursive: true });
    spawnSync('dpkg-deb', ['-x', join(debDir, deb), out]);
    const files = new Map<string, string>();
    const walk = async (dir: string, rel: string): Promise<void> => {
      for (const e of await readdir(dir, { withFileTypes: true })) {
        if (e.isDirectory()) await walk(join(dir, e.name), `${rel}/${e.name}`);
        else files.set(`${rel}/${e.name}`, await readFile(join(dir, e.name), 'utf8'));
      }
    };
    await walk(out, '');
    return files;
  };
  const expectPackage = async (t: Tap, pkg: string, kind: TargetKind, settings: Parameters<typeof resolveTargetSettings>[0], ca?: string) => {
    const want = new Map(targetFiles(kind, resolveTargetSettings(settings), ca).map((f) => [f.path, f.content]));
    t.same(Object.fromEntries(await debFiles(pkg)), Object.fromEntries(want), `${pkg}: the emitter's files, exactly`);
  };

  await t.test('insecure: parse, generate_registry_script, the script runs', async (t) => {
    const r = bitbake(['container-registry-index', '-c', 'generate_registry_script']);
    if (!ok(t, r, 'bitbake container-registry-index -c generate_registry_script')) return;
    t.match(r.stdout, /Parsing of \d+ \.bb files complete/);
    t.match(r.stdout, new RegExp(`Wrote ${script}`));
    t.equal(spawnSync('bash', ['-n', script]).status, 0, 'bash -n');
    const conf = await readFile(join(storage, 'container-registry.conf'), 'utf8');
    t.match(conf, `cr_set CONTAINER_REGISTRY_URL '${url}'`);
    t.match(conf, "cr_set CONTAINER_REGISTRY_INSECURE '1'", 'the distro fragment made it insecure');
    t.match(conf, `cr_set CONTAINER_REGISTRY_STORAGE '${storage}'`);
    const help = spawnSync(script, ['help'], { encoding: 'utf8' });
    t.equal(help.status, 0, 'help');
    t.match(help.stdout, /container-registry.sh <command>/);
    t.notMatch(await readFile(script, 'utf8'), /tmp-glibc/, 'nothing in tmp/ is needed');
  });

  await t.test('insecure: start, push a layout from deploy/, list, stop', async (t) => {
    const missing = ['start', 'stop', 'push', 'list'].filter((c) => !has(c));
    if (missing.length) {
      t.pass('helper commands missing', { skip: `the helper has no ${missing.join(', ')} command yet` });
      return;
    }
    const conf = await readFile(join(storage, 'container-registry.conf'), 'utf8');
    const deploy = /cr_set DEPLOY_DIR_IMAGE '([^']+)'/.exec(conf)?.[1];
    if (!t.ok(deploy, 'DEPLOY_DIR_IMAGE baked in')) return;
    await writeLayout(join(deploy!, 'cr-test-image-oci'), [
      { ref: 'latest', image: makeImage({ labels: { 'org.opencontainers.image.title': 'cr-test-image' } }) },
    ]);
    const run = (args: string[]) => spawnSync(script, args, { encoding: 'utf8', timeout: 60_000, env: { PATH: process.env.PATH, HOME: process.env.HOME } });
    const start = run(['start']);
    t.equal(start.status, 0, `start: ${start.stdout}${start.stderr}`);
    t.teardown(() => void run(['stop']));
    const push = run(['push']);
    t.equal(push.status, 0, `push: ${push.stdout}${push.stderr}`);
    const list = run(['list']);
    t.equal(list.status, 0, `list: ${list.stderr}`);
    t.match(list.stdout, /cr-test-image/, 'list shows the pushed image');
    // The plain `bitbake container-registry-index` pushes too (network flag, nostamp).
    ok(t, bitbake(['container-registry-index']), 'bitbake container-registry-index (push task)');
    const stop = run(['stop']);
    t.equal(stop.status, 0, `stop: ${stop.stdout}${stop.stderr}`);
  });

  await t.test("insecure: the config packages install exactly the emitters' files", async (t) => {
    const r = bitbake([
      'docker-registry-config',
      'container-oci-registry-config',
      'containerd-registry-config',
      'vdkr-registry-config',
      '-c',
      'package_write_deb',
    ]);
    if (!ok(t, r, 'bitbake ... -c package_write_deb')) return;
    const s = { url, namespace: 'yocto', insecure: '1' };
    await expectPackage(t, 'docker-registry-config', 'docker', s);
    await expectPackage(t, 'container-oci-registry-config', 'containers', s);
    await expectPackage(t, 'containerd-registry-config', 'containerd', s);
    await expectPackage(t, 'vdkr-registry-config', 'vdkr', s);
    const docker = await debFiles('docker-registry-config');
    t.equal(docker.get('/etc/docker/daemon.json'), `{\n  "insecure-registries": [\n    "10.0.2.2:${port}"\n  ]\n}\n`);
  });

  const getvar = (t: Tap, name: string): string | undefined => {
    const r = spawnSync('bash', ['-c', `. "${OECORE_DIR}/oe-init-build-env" "${build}" >/dev/null && bitbake-getvar -r labels-test --value ${name}`], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'en_US.UTF-8', LC_ALL: 'en_US.UTF-8' },
    });
    if (!ok(t, r, `bitbake-getvar ${name}`)) return undefined;
    return r.stdout.trim().split('\n').pop()!.trim();
  };

  await t.test('OCI labels: overrides, none, SOURCE_DATE_EPOCH, PV', async (t) => {
    t.equal(
      getvar(t, 'OCI_IMAGE_LABELS'),
      'org.opencontainers.image.revision=abc1234 org.opencontainers.image.created=2023-11-14T22:13:20Z org.opencontainers.image.version=1.2.3',
    );
  });

  await t.test('IMAGE_FEATURES container-registry: the package for the engine (podman), in a recipe outside the layer', async (t) => {
    t.equal(getvar(t, 'CR_TEST_FEATURE'), 'container-oci-registry-config');
  });

  await t.test('SECURE with INSECURE is a parse-time error', async (t) => {
    await writeFile(localConf, `${baseConf}CONTAINER_REGISTRY_SECURE = "1"\nCONTAINER_REGISTRY_INSECURE = "1"\n`);
    const r = bitbake(['-p']);
    t.not(r.status, 0, 'parse fails');
    t.match(r.stdout + r.stderr, /CONTAINER_REGISTRY_SECURE \(or CONTAINER_REGISTRY_AUTH\) = "1" and CONTAINER_REGISTRY_INSECURE = "1" contradict/);
  });

  await t.test('secure (AUTH implies it): password file, CA package, certs.d, rebuild when the CA changes', async (t) => {
    await writeFile(localConf, `${baseConf}CONTAINER_REGISTRY_AUTH = "1"\nCONTAINER_REGISTRY_PASSWORD = "${PASSWORD}"\n`);
    const caPath = join(storage, 'pki', 'ca.crt');
    const makeCa = (cn: string) => {
      // Without the helper's pki command the test provides the CA the way a user could.
      const r = spawnSync('openssl', [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        join(storage, 'pki', 'ca.key'),
        '-out',
        caPath,
        '-days',
        '30',
        '-subj',
        `/CN=${cn}`,
      ]);
      t.equal(r.status, 0, `openssl CA ${cn}`);
    };
    if (!has('pki')) {
      await mkdir(join(storage, 'pki'), { recursive: true });
      makeCa('test-ca-1');
    }
    const r = bitbake(['container-registry-index', '-c', 'generate_registry_script']);
    if (!ok(t, r, 'generate_registry_script in secure mode')) return;
    const pw = join(storage, 'auth', 'password');
    t.equal(await readFile(pw, 'utf8'), `${PASSWORD}\n`, 'CONTAINER_REGISTRY_PASSWORD reached auth/password');
    t.equal((await stat(pw)).mode & 0o777, 0o600);
    const conf = await readFile(join(storage, 'container-registry.conf'), 'utf8');
    t.match(conf, "cr_set CONTAINER_REGISTRY_SECURE '1'", 'AUTH implies SECURE');
    t.match(conf, "cr_set CONTAINER_REGISTRY_INSECURE '0'", 'the same distro fragment follows secure mode (no fatal conflict)');
    for (const f of [script, join(storage, 'container-registry.conf')]) t.notMatch(await readFile(f, 'utf8'), 'pa$$', `no password in ${f}`);
    // BitBake's own event log (tmp/log/eventlog/*.json) dumps every variable of the configuration:
    // a password set in local.conf is there by BitBake's design (README says so). Nothing else has it.
    const logs = spawnSync('grep', ['-rlF', '--exclude=local.conf', '--exclude=password', '--exclude-dir=eventlog', PASSWORD, build], { encoding: 'utf8' });
    t.equal(logs.stdout, '', 'the password is in no task log, run file, sigdata or cache');

    // The generated script runs the secure registry, and the password from local.conf is its password.
    if (has('start') && has('stop')) {
      const run = (args: string[]) => spawnSync(script, args, { encoding: 'utf8', timeout: 60_000, env: { PATH: process.env.PATH, HOME: process.env.HOME } });
      const start = run(['start']);
      t.equal(start.status, 0, `secure start: ${start.stdout}${start.stderr}`);
      try {
        const ca = await readFile(join(storage, 'pki', 'ca.crt'));
        const status = (auth: string) =>
          new Promise<number>((res, rej) => {
            const req = httpsRequest(
              { host: 'localhost', port, path: '/v2/', ca, headers: { Authorization: `Basic ${Buffer.from(auth).toString('base64')}` } },
              (r) => {
                r.resume();
                res(r.statusCode ?? 0);
              },
            );
            req.on('error', rej);
            req.end();
          });
        t.equal(await status(`yocto:${PASSWORD}`), 200, 'https with the build CA and the local.conf password: 200');
        t.equal(await status('yocto:wrong'), 401, 'a wrong password: 401');
        if (has('push') && has('list')) {
          // The layout placed in deploy/ by the insecure test, now over HTTPS with the CA and the password.
          const push = run(['push']);
          t.equal(push.status, 0, `secure push: ${push.stdout}${push.stderr}`);
          const list = run(['list']);
          t.match(list.stdout, /cr-test-image/, `secure list: ${list.stderr}`);
        }
      } finally {
        const stop = run(['stop']);
        t.equal(stop.status, 0, `secure stop: ${stop.stdout}${stop.stderr}`);
      }
    }

    const b = bitbake([
      'container-registry-ca',
      'docker-registry-config',
      'container-oci-registry-config',
      'containerd-registry-config',
      'vdkr-registry-config',
      '-c',
      'package_write_deb',
    ]);
    if (!ok(t, b, 'secure package_write_deb')) return;
    const ca1 = await readFile(caPath, 'utf8');
    t.equal(getvar(t, 'CR_TEST_FEATURE'), 'container-oci-registry-config container-registry-ca', 'secure mode adds the CA package');
    const s = { url, namespace: 'yocto', auth: '1' };
    await expectPackage(t, 'container-registry-ca', 'ca', s, ca1);
    await expectPackage(t, 'docker-registry-config', 'docker', s, ca1);
    await expectPackage(t, 'container-oci-registry-config', 'containers', s, ca1);
    await expectPackage(t, 'containerd-registry-config', 'containerd', s, ca1);
    await expectPackage(t, 'vdkr-registry-config', 'vdkr', s);
    const control = join(root, 'control');
    const deb = (await readdir(debDir)).find((f) => f.startsWith('container-registry-ca_'))!;
    spawnSync('dpkg-deb', ['-e', join(debDir, deb), control]);
    const postinst = await readFile(join(control, 'postinst'), 'utf8');
    t.match(postinst, /if \[ -n "\$D" \]; then[\s\S]*exit 0\s*fi\s*update-ca-certificates/, 'update-ca-certificates on the target only');

    // A new CA is a new input: the packages rebuild with it.
    if (has('pki')) {
      const renew = spawnSync(script, ['pki', 'renew', '--ca'], { encoding: 'utf8' });
      t.equal(renew.status, 0, `pki renew --ca: ${renew.stdout}${renew.stderr}`);
    } else {
      makeCa('test-ca-2');
    }
    const again = bitbake(['container-registry-ca', 'docker-registry-config', '-c', 'package_write_deb']);
    if (!ok(t, again, 'package_write_deb after the CA changed')) return;
    const ca2 = await readFile(caPath, 'utf8');
    t.not(ca2, ca1);
    await expectPackage(t, 'container-registry-ca', 'ca', s, ca2);
    await expectPackage(t, 'docker-registry-config', 'docker', s, ca2);
  });

  t.comment(`bitbake integration took ${Math.round((Date.now() - started) / 1000)} s`);
}
