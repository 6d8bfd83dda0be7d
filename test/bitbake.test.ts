// Real BitBake with openembedded-core: parse the layer, generate container-registry.sh, run it
// (start, push of a test layout placed in deploy/ with the `sha` strategy from a build folder that
// is no git checkout, list, delete + gc freeing the bytes, stop; a credsfile naming a second,
// authenticated registry), push with `-c push_images`, and build the target config packages
// (do_install + package_write_deb, checked with dpkg-deb -x) in insecure and secure mode (the
// reference tool's local.conf: SECURE without AUTH refuses anonymous pushes), and with image
// signatures on (the key made, pushes signed and verified, the policy in the containers package).
//
// Needs checkouts of openembedded/bitbake and openembedded/openembedded-core (a scarthgap tag
// such as yocto-5.0.19) named by BITBAKE_DIR and OECORE_DIR, root, dpkg-deb, openssl and the
// en_US.UTF-8 locale; it skips with the reason otherwise. oe-core's recipes are masked for a fast
// parse and test/oe-harness (a tiny layer kept here; OE_HARNESS_DIR names another copy) runs
// packaging without pseudo.
import t from 'tap';

type Tap = Pick<typeof t, 'equal'> & { same: typeof t.same };
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { BUNDLE, ROOT } from './helpers/registry.js';
import { freePort } from './helpers/ports.js';
import { tempDir } from './helpers/tmp.js';
import { isRoot, which } from './helpers/peers.js';
import { makeImage, writeLayout } from './helpers/images.js';
import { writeSpdx22Archive, writeTestdata } from './helpers/supply.js';
import { resolveTargetSettings } from '../tools/src/target/settings.js';
import { targetFiles, type TargetKind } from '../tools/src/target/files.js';

const BITBAKE_DIR = process.env.BITBAKE_DIR;
const OECORE_DIR = process.env.OECORE_DIR;
const HARNESS = resolve(process.env.OE_HARNESS_DIR || join(ROOT, 'test', 'oe-harness'));
const LAYER = join(ROOT, 'meta-container-registry');
const PASSWORD = "pa$$ word'1";

/** blobBytes is the size of every blob file under a storage directory (distribution's layout). */
async function blobBytes(storage: string): Promise<number> {
  let total = 0;
  const walk = async (dir: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.isDirectory()) await walk(join(dir, e.name));
      else if (e.name === 'data') total += (await stat(join(dir, e.name))).size;
    }
  };
  await walk(join(storage, 'docker', 'registry', 'v2', 'blobs'));
  return total;
}

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

  // BITBAKEDIR: oe-init-build-env would otherwise take the bitbake beside OECORE_DIR, another release's.
  const bbEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/root',
    LANG: 'en_US.UTF-8',
    LC_ALL: 'en_US.UTF-8',
    BITBAKEDIR: BITBAKE_DIR!,
  };
  const bitbake = (args: string[], timeoutMs = 180_000): SpawnSyncReturns<string> => {
    const cmd = `. "${OECORE_DIR}/oe-init-build-env" "${build}" >/dev/null && bitbake ${args.map((a) => `'${a}'`).join(' ')}`;
    return spawnSync('bash', ['-c', cmd], { encoding: 'utf8', timeout: timeoutMs, env: bbEnv });
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
INHERIT += "buildstats"
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
    `BBPATH .= ":\${LAYERDIR}"\nBBFILES += "\${LAYERDIR}/recipes-*/*/*.bb"\nBBFILE_COLLECTIONS += "cr-test"\nBBFILE_PATTERN_cr-test = "^\${LAYERDIR}/"\nLAYERSERIES_COMPAT_cr-test = "scarthgap styhead walnascar whinlatter wrynose blacksail"\n`,
  );
  await writeFile(
    join(root, 'meta-test', 'recipes-test', 'labels-test', 'labels-test_1.2.3.bb'),
    // It inherits nothing of ours but the labels class: FEATURE_PACKAGES_container-registry comes from layer.conf.
    `SUMMARY = "test"\nLICENSE = "CLOSED"\ninherit oci-image-labels\nOCI_IMAGE_REVISION = "abc1234"\nOCI_IMAGE_BRANCH = "none"\nSOURCE_DATE_EPOCH = "1700000000"\nOCI_IMAGE_BUILD_DATE = "reproducible"\n` +
      `VIRTUAL-RUNTIME_container_engine = "podman"\nCR_TEST_FEATURE = "\${FEATURE_PACKAGES_container-registry}"\n`,
  );
  // The defaults: no override at all, in a build folder that is no git checkout.
  await mkdir(join(root, 'meta-test', 'recipes-test', 'labels-default'), { recursive: true });
  await writeFile(
    join(root, 'meta-test', 'recipes-test', 'labels-default', 'labels-default_2.0.bb'),
    `SUMMARY = "test"\nLICENSE = "CLOSED"\ninherit oci-image-labels\n`,
  );

  const storage = join(build, 'container-registry');
  const script = join(storage, 'container-registry.sh');
  // TMPDIR is tmp-glibc up to scarthgap (TCLIBCAPPEND), tmp from wrynose on.
  const tmpDir = () => join(build, existsSync(join(build, 'tmp-glibc')) ? 'tmp-glibc' : 'tmp');
  const debDir = () => join(tmpDir(), 'deploy', 'deb', 'all');
  const debFiles = async (pkg: string): Promise<Map<string, string>> => {
    const deb = (await readdir(debDir())).find((f) => f.startsWith(`${pkg}_`) && f.endsWith('.deb'));
    if (!deb) throw new Error(`no ${pkg} .deb in ${debDir()}`);
    const out = join(root, 'x', pkg, String(Date.now()));
    await mkdir(out, { recursive: true });
    spawnSync('dpkg-deb', ['-x', join(debDir(), deb), out]);
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
    t.notOk((await readFile(script, 'utf8')).includes(`${tmpDir()}/`), 'nothing in tmp/ is needed');
  });

  // The generated script as a user runs it: from any folder, with only PATH and HOME.
  const runScript = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(script, args, { encoding: 'utf8', timeout: 90_000, cwd: root, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env } });
  const out = (r: SpawnSyncReturns<string>) => `${r.stdout ?? ''}${r.stderr ?? ''}`;

  await t.test('insecure: start, push (sha outside git), list, delete + gc frees the bytes, -c push_images, stop', async (t) => {
    const missing = ['start', 'stop', 'push', 'list', 'tags', 'delete', 'gc', 'catalog'].filter((c) => !has(c));
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
    const start = runScript(['start']);
    t.equal(start.status, 0, `start: ${out(start)}`);
    t.teardown(() => void runScript(['stop']));

    // A plain oe-core build folder is no git checkout: `sha` takes the metadata's revision (oe-core's
    // checkout, as METADATA_REVISION does), and the push does not fail.
    t.not(spawnSync('git', ['-C', build, 'rev-parse', 'HEAD']).status, 0, 'the build folder is no git checkout');
    const rev = spawnSync('git', ['-C', OECORE_DIR!, 'rev-parse', '--short=7', 'HEAD'], { encoding: 'utf8' }).stdout.trim();
    const push = runScript(['push'], { CONTAINER_REGISTRY_TAG_STRATEGY: 'sha latest' });
    t.equal(push.status, 0, `push with sha latest: ${out(push)}`);
    const tags = runScript(['tags', 'cr-test-image']);
    t.equal(tags.status, 0, `tags: ${out(tags)}`);
    if (rev) t.match(tags.stdout, new RegExp(`^${rev}$`, 'm'), `the sha tag is oe-core's revision ${rev}`);
    else t.comment(`${OECORE_DIR} is no git checkout: the sha tag is skipped`);
    t.match(tags.stdout, /^latest$/m);
    // No revision anywhere: the sha tag is skipped with a warning, the push goes on with latest.
    const noRev = runScript(['push'], { CONTAINER_REGISTRY_TAG_STRATEGY: 'sha latest', OCI_IMAGE_REVISION: 'none' });
    t.equal(noRev.status, 0, `push with no revision known: ${out(noRev)}`);
    t.match(noRev.stderr, /sha/, 'a warning names the skipped strategy');
    const list = runScript(['list']);
    t.equal(list.status, 0, `list: ${list.stderr}`);
    t.match(list.stdout, /cr-test-image/, 'list shows the pushed image');

    // delete, then the script's gc frees the bytes (the reference's "garbage collect unreferenced blobs").
    const gcLayout = join(deploy!, 'cr-gc-image-oci');
    await writeLayout(gcLayout, [{ ref: 'latest', image: makeImage({ layers: [[{ name: 'big.bin', content: randomBytes(3 << 20) }]] }) }]);
    const pushGc = runScript(['push', 'cr-gc-image', '--tag', 'only']);
    t.equal(pushGc.status, 0, `push cr-gc-image: ${out(pushGc)}`);
    await rm(gcLayout, { recursive: true });
    const before = await blobBytes(storage);
    const del = runScript(['delete', 'cr-gc-image:only']);
    t.equal(del.status, 0, `delete: ${out(del)}`);
    const gc = runScript(['gc']);
    t.equal(gc.status, 0, `gc: ${out(gc)}`);
    const freed = before - (await blobBytes(storage));
    t.ok(freed >= 3 << 20, `gc freed the deleted image's blobs (${freed} bytes)`);
    t.match(gc.stdout, /freed|MiB/i, `gc says what it freed: ${gc.stdout}`);
    t.notMatch(runScript(['list']).stdout, /cr-gc-image/, 'list no longer shows the emptied repository');
    t.notMatch(runScript(['catalog']).stdout, /cr-gc-image/, 'nor does catalog');
    t.match(runScript(['list']).stdout, /cr-test-image/, 'the other image stays');

    // An explicit --credsfile wins over the conf's AUTH_MODE 'none': pushing to a second,
    // authenticated registry (secure mode, its own storage) works with it and fails with a wrong one.
    const other = join(root, 'other-registry');
    await mkdir(other, { recursive: true });
    const otherPort = await freePort();
    const helperEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', CONTAINER_REGISTRY_SECURE: '1' };
    const otherStart = spawnSync(process.execPath, [BUNDLE, 'start', '--storage', other, '--listen', `127.0.0.1:${otherPort}`], {
      encoding: 'utf8',
      timeout: 60_000,
      env: helperEnv,
    });
    t.equal(otherStart.status, 0, `second registry: ${out(otherStart)}`);
    t.teardown(() => void spawnSync(process.execPath, [BUNDLE, 'stop', '--storage', other], { env: helperEnv }));
    const password = (await readFile(join(other, 'auth', 'password'), 'utf8')).trim();
    const creds = join(root, 'other.creds');
    await writeFile(creds, `CONTAINER_REGISTRY_USER=yocto\nCONTAINER_REGISTRY_PASSWORD=${password}\n`, { mode: 0o600 });
    const wrong = join(root, 'wrong.creds');
    await writeFile(wrong, 'CONTAINER_REGISTRY_USER=yocto\nCONTAINER_REGISTRY_PASSWORD=not-the-password\n', { mode: 0o600 });
    const toOther = (file: string) =>
      runScript([
        'push',
        'cr-test-image',
        '--registry',
        `localhost:${otherPort}`,
        '--ca-cert',
        join(other, 'pki', 'ca.crt'),
        '--credsfile',
        file,
        '--tag',
        'creds',
      ]);
    const good = toOther(creds);
    t.equal(good.status, 0, `push --credsfile to the second registry: ${out(good)}`);
    const bad = toOther(wrong);
    t.not(bad.status, 0, 'a wrong password in --credsfile fails');
    t.match(out(bad), /401|credential|password|unauthori[sz]ed/i, `and says why: ${out(bad)}`);
    t.notMatch(out(good) + out(bad), password, 'the password is never printed');

    // SBOM and provenance (issue 15): create-spdx 2.2's archive and the image's testdata.json beside
    // a layout, as an image build leaves them; the script's push attaches both, with the layers of
    // this build's BBLAYERS and the times of its real buildstats.
    t.match(conf, /cr_set BBLAYERS '[^']*meta-container-registry[^']*'/, 'BitBake handed BBLAYERS to the script');
    t.match(conf, "cr_set CONTAINER_REGISTRY_SBOM 'auto'", "create-spdx is in oe-core's INHERIT_DISTRO: SBOM auto");
    t.match(conf, /cr_set BUILDSTATS_BASE '[^']+buildstats\/?'/);
    if (has('referrers') && which('zstd')) {
      const imageName = 'cr-sbom-image-qemux86-64.rootfs-20260101120000';
      await writeLayout(join(deploy!, `${imageName}-oci`), [{ ref: 'latest', image: makeImage() }]);
      await writeSpdx22Archive(deploy!, imageName, 'cr-sbom-image-qemux86-64.rootfs');
      // PN: a recipe whose tasks this build really ran, so the times come from real buildstats.
      await writeTestdata(deploy!, imageName, {
        MACHINE: 'qemux86-64',
        DISTRO: 'nodistro',
        PN: 'container-registry-index',
        IMAGE_FEATURES: 'container-registry',
        IMAGE_NAME: imageName,
      });
      const before = Date.now();
      const pushSbom = runScript(['push', 'cr-sbom-image', '--tag', 'sbom', '--json']);
      t.equal(pushSbom.status, 0, `push with SBOM and provenance: ${out(pushSbom)}`);
      const attached = (JSON.parse(pushSbom.stdout) as { attached: Array<{ kind: string }> }).attached.map((a) => a.kind);
      t.same(attached, ['sbom', 'provenance'], 'both attached');
      const inspect = runScript(['inspect', 'cr-sbom-image:sbom']);
      t.match(inspect.stdout, /application\/spdx\+json/, 'inspect shows the SBOM');
      t.match(inspect.stdout, /application\/vnd\.in-toto\+json/, 'and the provenance');
      const prov = runScript(['referrers', 'cr-sbom-image:sbom', '--type', 'provenance']);
      t.equal(prov.status, 0, `referrers --type provenance: ${out(prov)}`);
      const statement = JSON.parse(Buffer.from((JSON.parse(prov.stdout) as { payload: string }).payload, 'base64').toString()) as {
        predicate: {
          buildDefinition: {
            externalParameters: Record<string, unknown>;
            resolvedDependencies: Array<{ name: string; uri?: string; digest?: { gitCommit: string }; annotations?: { layer?: string } }>;
          };
          runDetails: { metadata: { startedOn?: string; finishedOn?: string } };
        };
      };
      const deps = statement.predicate.buildDefinition.resolvedDependencies;
      t.same(
        deps.filter((d) => d.annotations?.layer).map((d) => d.name),
        ['core', 'container-registry', 'oe-harness', 'cr-test'],
        'every layer of BBLAYERS, in order, by its collection name',
      );
      t.ok(
        deps.some((d) => d.uri === 'https://busybox.net/downloads/busybox-1.36.1.tar.bz2'),
        "then the recipe sources of the SBOM's recipe documents",
      );
      const oeRev = spawnSync('git', ['-C', OECORE_DIR!, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).stdout.trim();
      if (oeRev) t.equal(deps.find((d) => d.name === 'core')?.digest?.gitCommit, oeRev, "oe-core's revision");
      t.same(statement.predicate.buildDefinition.externalParameters.MACHINE, 'qemux86-64');
      const { startedOn, finishedOn } = statement.predicate.runDetails.metadata;
      t.ok(startedOn && finishedOn, `times from buildstats: ${startedOn} .. ${finishedOn}`);
      t.ok(
        Date.parse(startedOn!) >= started - 1000 && Date.parse(startedOn!) <= Date.parse(finishedOn!) && Date.parse(finishedOn!) <= before,
        'within this test run',
      );
    } else t.comment('SBOM/provenance through the script skipped: the helper has no referrers command or zstd is missing');

    // Pushing is its own task: `bitbake container-registry-index -c push_images`. The plain build
    // pushes nothing (yocto-check-layer refuses a network task reachable from do_build) and says so.
    ok(t, bitbake(['container-registry-index', '-c', 'push_images']), 'bitbake container-registry-index -c push_images');
    const plain = bitbake(['container-registry-index']);
    if (ok(t, plain, 'bitbake container-registry-index')) t.match(plain.stdout, /-c push_images/, 'the plain build says how to push');
    const stop = runScript(['stop']);
    t.equal(stop.status, 0, `stop: ${out(stop)}`);
  });

  await t.test('the index recipe runs no create-spdx task (no natives to fetch offline)', async (t) => {
    const r = bitbake(['container-registry-index', '-c', 'listtasks']);
    if (!ok(t, r, 'listtasks')) return;
    t.match(r.stdout, /do_push_images/);
    t.match(r.stdout, /do_generate_registry_script/);
    // Deleted tasks keep their setscene entry in the list; they never run.
    const spdx = r.stdout.split('\n').filter((l) => /^do_\S*spdx/.test(l));
    t.same(
      spdx.filter((l) => !/_setscene\s/.test(l)),
      [],
      'no create-spdx task',
    );
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

  // buildstats (INHERIT above): the newest build is the packaging just done; `trace` reads it whole.
  await t.test("trace: the build's own buildstats as trace-event JSON, a process per recipe folder", async (t) => {
    if (!has('trace')) {
      t.pass('no trace command', { skip: 'the helper has no trace command yet' });
      return;
    }
    const buildstats = join(tmpDir(), 'buildstats');
    const file = join(root, 'build-trace.json');
    const r = spawnSync(process.execPath, [BUNDLE, 'trace', buildstats, '--output', file], { encoding: 'utf8', timeout: 60_000 });
    t.equal(r.status, 0, `trace: ${out(r)}`);
    const doc = JSON.parse(await readFile(file, 'utf8')) as {
      traceEvents: Array<{ name: string; ph: string; ts: number; dur?: number; pid: number; tid: number; cat?: string; args?: Record<string, unknown> }>;
      displayTimeUnit: string;
      otherData: { build: string; tasks: number; skippedFiles: number };
    };
    t.equal(doc.displayTimeUnit, 'ms');
    const events = doc.traceEvents;
    t.same(
      events.filter(
        (e) => typeof e.name !== 'string' || typeof e.ph !== 'string' || typeof e.ts !== 'number' || !Number.isInteger(e.pid) || !Number.isInteger(e.tid),
      ),
      [],
      'every event has name, ph, ts, pid, tid',
    );
    t.same(
      events.filter((e) => e.ph === 'X' && !(typeof e.dur === 'number' && e.dur >= 0)),
      [],
      'durations non-negative',
    );
    const dir = join(buildstats, doc.otherData.build);
    const folders = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory() && e.name !== 'reduced_proc_pressure').map((e) => e.name);
    const names = events
      .filter((e) => e.ph === 'M' && e.name === 'process_name' && !String(e.args?.name).startsWith('build '))
      .map((e) => String(e.args?.name));
    t.same(names.sort(), folders.sort(), 'one process per recipe folder of the newest build');
    t.ok(
      folders.some((f) => f.startsWith('docker-registry-config-')),
      `the packaging just done is the newest build (${folders.join(' ')})`,
    );
    let files = 0;
    for (const f of folders) files += (await readdir(join(dir, f))).length;
    t.equal(events.filter((e) => e.ph === 'X' && e.cat === 'task').length, files, 'an event per task file');
    t.equal(doc.otherData.skippedFiles, 0, 'every file was usable');
    for (const e of events.filter((e) => e.cat === 'task'))
      t.type((e.args?.io as Record<string, unknown> | undefined)?.rchar, 'number', `${e.args?.recipe}:${e.name} has its I/O figures`);
  });

  await t.test('signatures: SIGN and REQUIRE_SIGNATURES make the key, sign pushes, and ship the policy in the containers package', async (t) => {
    if (!has('sign') || !has('verify')) {
      t.pass('helper commands missing', { skip: 'the helper has no sign/verify command yet' });
      return;
    }
    await writeFile(localConf, `${baseConf}CONTAINER_REGISTRY_SIGN = "1"\nCONTAINER_REGISTRY_REQUIRE_SIGNATURES = "1"\n`);
    t.teardown(() => writeFile(localConf, baseConf));
    const r = bitbake(['container-registry-index', '-c', 'generate_registry_script']);
    if (!ok(t, r, 'generate_registry_script with SIGN and REQUIRE_SIGNATURES')) return;
    const key = join(storage, 'pki', 'signing.key');
    t.equal((await stat(key)).mode & 0o777, 0o600, 'the signing key, 0600');
    const privateKey = await readFile(key, 'utf8');
    const keyLine = privateKey.split('\n')[1]!;
    t.notMatch(out(r), keyLine, 'the key is not in the task output');
    const conf = await readFile(join(storage, 'container-registry.conf'), 'utf8');
    t.match(conf, "cr_set CONTAINER_REGISTRY_SIGN '1'", "the script's pushes sign");

    const b = bitbake(['container-oci-registry-config', '-c', 'package_write_deb']);
    if (!ok(t, b, 'container-oci-registry-config with REQUIRE_SIGNATURES')) return;
    const publicKey = await readFile(join(storage, 'pki', 'signing.pub'), 'utf8');
    const want = targetFiles('containers', resolveTargetSettings({ url, namespace: 'yocto', insecure: '1' }), undefined, { publicKey, signedRegistry: url });
    t.same(
      Object.fromEntries(await debFiles('container-oci-registry-config')),
      Object.fromEntries(want.map((f) => [f.path, f.content])),
      "the emitter's files",
    );
    t.ok(
      want.some((f) => f.path === '/etc/containers/policy.json'),
      'policy.json among them',
    );

    const start = runScript(['start']);
    t.equal(start.status, 0, `start: ${out(start)}`);
    try {
      const push = runScript(['push', 'cr-test-image', '--tag', 'signed']);
      t.equal(push.status, 0, `push signs: ${out(push)}`);
      t.match(push.stdout, new RegExp(`Signed localhost:${port}/yocto/cr-test-image:signed`));
      const verify = runScript(['verify', 'cr-test-image:signed']);
      t.equal(verify.status, 0, `verify: ${out(verify)}`);
      t.notMatch(out(push) + out(verify), keyLine, 'the key is in no output');
    } finally {
      runScript(['stop']);
    }
  });

  const getvar = (t: Tap, name: string, recipe = 'labels-test'): string | undefined => {
    const r = spawnSync('bash', ['-c', `. "${OECORE_DIR}/oe-init-build-env" "${build}" >/dev/null && bitbake-getvar -r ${recipe} --value ${name}`], {
      encoding: 'utf8',
      env: bbEnv,
    });
    if (!ok(t, r, `bitbake-getvar ${name}`)) return undefined;
    return r.stdout.trim().split('\n').pop()!.trim();
  };

  await t.test("OCI labels by default: the metadata's revision outside git, the build's time", async (t) => {
    const value = getvar(t, 'OCI_IMAGE_LABELS', 'labels-default');
    if (value === undefined) return;
    const labels = Object.fromEntries(value.split(' ').map((kv) => kv.split('=') as [string, string]));
    const rev = spawnSync('git', ['-C', OECORE_DIR!, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).stdout.trim();
    if (rev) t.equal(labels['org.opencontainers.image.revision'], rev.slice(0, 7), "METADATA_REVISION (oe-core's checkout)");
    const created = labels['org.opencontainers.image.created'] ?? '';
    t.match(created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const age = Date.now() - Date.parse(created);
    t.ok(age >= -5_000 && age < 3_600_000, `created is the build's time, not SOURCE_DATE_EPOCH's 2011 (${created})`);
    t.equal(labels['org.opencontainers.image.version'], '2.0');
  });

  await t.test('OCI labels: overrides, none, reproducible (SOURCE_DATE_EPOCH), PV', async (t) => {
    t.equal(
      getvar(t, 'OCI_IMAGE_LABELS'),
      'org.opencontainers.image.revision=abc1234 org.opencontainers.image.created=2023-11-14T22:13:20Z org.opencontainers.image.version=1.2.3',
    );
  });

  await t.test('IMAGE_FEATURES container-registry: the package for the engine (podman), in a recipe outside the layer', async (t) => {
    t.equal(getvar(t, 'CR_TEST_FEATURE'), 'container-oci-registry-config');
  });

  await t.test('CONTAINER_REGISTRY_MIRRORS: the script carries it to serve, the packages point the engines at us', async (t) => {
    const mirrors = 'docker.io localhost:5001=http://127.0.0.1:5001';
    await writeFile(localConf, `${baseConf}CONTAINER_REGISTRY_MIRRORS = "${mirrors}"\n`);
    const r = bitbake(['container-registry-index', '-c', 'generate_registry_script']);
    if (!ok(t, r, 'generate_registry_script with mirrors')) return;
    t.match(await readFile(join(storage, 'container-registry.conf'), 'utf8'), `cr_set CONTAINER_REGISTRY_MIRRORS '${mirrors}'`);
    const p = bitbake(['docker-registry-config', 'container-oci-registry-config', 'containerd-registry-config', '-c', 'package_write_deb']);
    if (!ok(t, p, 'bitbake ... -c package_write_deb with mirrors')) return;
    const s = { url, namespace: 'yocto', insecure: '1', mirrors };
    await expectPackage(t, 'docker-registry-config', 'docker', s);
    await expectPackage(t, 'container-oci-registry-config', 'containers', s);
    await expectPackage(t, 'containerd-registry-config', 'containerd', s);
    const containerd = await debFiles('containerd-registry-config');
    t.ok(containerd.has('/etc/containerd/certs.d/docker.io/hosts.toml'), "docker.io's hosts.toml is in the package");
    t.match((await debFiles('docker-registry-config')).get('/etc/docker/daemon.json'), `"registry-mirrors": [\n    "http://10.0.2.2:${port}"`);
  });

  await t.test('SECURE with INSECURE is a parse-time error', async (t) => {
    await writeFile(localConf, `${baseConf}CONTAINER_REGISTRY_SECURE = "1"\nCONTAINER_REGISTRY_INSECURE = "1"\n`);
    const r = bitbake(['-p']);
    t.not(r.status, 0, 'parse fails');
    t.match(r.stdout + r.stderr, /CONTAINER_REGISTRY_SECURE \(or CONTAINER_REGISTRY_AUTH\) = "1" and CONTAINER_REGISTRY_INSECURE = "1" contradict/);
  });

  await t.test('AUTH implies SECURE', async (t) => {
    await writeFile(localConf, `${baseConf}CONTAINER_REGISTRY_AUTH = "1"\n`);
    t.equal(getvar(t, 'CR_TEST_FEATURE'), 'container-oci-registry-config container-registry-ca', 'the CA package comes with AUTH alone');
  });

  // The reference tool's local.conf for secure mode: SECURE (no AUTH, a variable it does not have), a
  // password, and DOCKER_REGISTRY_INSECURE naming the registry as its examples do.
  const dockerInsecure = `localhost:${port} other.lan:5000`;
  await t.test('secure (SECURE alone): logins for push, password file, CA package, certs.d, rebuild when the CA changes', async (t) => {
    await writeFile(
      localConf,
      `${baseConf}CONTAINER_REGISTRY_SECURE = "1"\nCONTAINER_REGISTRY_PASSWORD = "${PASSWORD}"\nDOCKER_REGISTRY_INSECURE = "${dockerInsecure}"\n`,
    );
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
    t.match(out(r), new RegExp(`WARNING: .*DOCKER_REGISTRY_INSECURE lists "localhost:${port}", which is this registry`), 'a parse-time warning');
    t.notMatch(out(r), /DOCKER_REGISTRY_INSECURE lists "other\.lan/, 'other registries are not this one');
    const pw = join(storage, 'auth', 'password');
    t.equal(await readFile(pw, 'utf8'), `${PASSWORD}\n`, 'CONTAINER_REGISTRY_PASSWORD reached auth/password');
    t.equal((await stat(pw)).mode & 0o777, 0o600);
    const conf = await readFile(join(storage, 'container-registry.conf'), 'utf8');
    t.match(conf, "cr_set CONTAINER_REGISTRY_SECURE '1'");
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
        const status = (auth: string | undefined, method = 'GET', path = '/v2/') =>
          new Promise<number>((res, rej) => {
            const headers: Record<string, string> = auth === undefined ? {} : { Authorization: `Basic ${Buffer.from(auth).toString('base64')}` };
            const req = httpsRequest({ host: 'localhost', port, path, method, ca, headers }, (r) => {
              r.resume();
              res(r.statusCode ?? 0);
            });
            req.on('error', rej);
            req.end();
          });
        t.equal(await status(`yocto:${PASSWORD}`), 200, 'https with the build CA and the local.conf password: 200');
        t.equal(await status('yocto:wrong'), 401, 'a wrong password: 401');
        t.equal(await status(undefined, 'POST', '/v2/yocto/anonymous/blobs/uploads/'), 401, 'an anonymous push: 401');
        t.equal(await status(undefined), 401, 'anonymous pulls need a login too by default');
        // The reference's documented check: curl -u yocto:$(cat .../auth/password) https://...
        t.equal(await status(`yocto:${(await readFile(pw, 'utf8')).trim()}`, 'POST', '/v2/yocto/anonymous/blobs/uploads/'), 202, 'auth/password may push');
        if (has('push') && has('list')) {
          // The layout placed in deploy/ by the insecure test, now over HTTPS with the CA and the password.
          const push = run(['push']);
          t.equal(push.status, 0, `secure push: ${push.stdout}${push.stderr}`);
          const list = run(['list']);
          t.match(list.stdout, /cr-test-image/, `secure list: ${list.stderr}`);
          // An explicit --credsfile replaces the local password; a wrong one fails, it does not "succeed".
          const wrong = join(root, 'wrong-local.creds');
          await writeFile(wrong, 'CONTAINER_REGISTRY_USER=yocto\nCONTAINER_REGISTRY_PASSWORD=not-the-password\n', { mode: 0o600 });
          const bad = run(['push', 'cr-test-image', '--credsfile', wrong, '--tag', 'wrong-creds']);
          t.not(bad.status, 0, `a wrong --credsfile against the local registry fails: ${out(bad)}`);
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
    const s = { url, namespace: 'yocto', secure: '1', dockerInsecure };
    await expectPackage(t, 'container-registry-ca', 'ca', s, ca1);
    await expectPackage(t, 'docker-registry-config', 'docker', s, ca1);
    await expectPackage(t, 'container-oci-registry-config', 'containers', s, ca1);
    await expectPackage(t, 'containerd-registry-config', 'containerd', s, ca1);
    await expectPackage(t, 'vdkr-registry-config', 'vdkr', s);
    // The CA package's three paths (as the reference's), addressed as the QEMU guest sees the registry.
    t.same([...(await debFiles('container-registry-ca')).keys()].sort(), [
      `/etc/containers/certs.d/10.0.2.2:${port}/ca.crt`,
      `/etc/docker/certs.d/10.0.2.2:${port}/ca.crt`,
      '/usr/local/share/ca-certificates/container-registry-ca.crt',
    ]);
    for (const pkg of ['docker-registry-config', 'container-oci-registry-config', 'vdkr-registry-config']) {
      const deb = (await readdir(debDir())).find((f) => f.startsWith(`${pkg}_`))!;
      const depends = spawnSync('dpkg-deb', ['-f', join(debDir(), deb), 'Depends'], { encoding: 'utf8' }).stdout;
      t.match(depends, /container-registry-ca/, `${pkg} depends on the CA package`);
    }
    const docker = await debFiles('docker-registry-config');
    t.equal(
      docker.get('/etc/docker/daemon.json'),
      '{\n  "insecure-registries": [\n    "other.lan:5000"\n  ]\n}\n',
      'this registry left out of insecure-registries',
    );
    t.match((await debFiles('vdkr-registry-config')).get('/etc/vdkr/registry.conf') ?? '', /^DOCKER_REGISTRY_SECURE="1"$/m, 'vdkr knows TLS is on');
    const control = join(root, 'control');
    const deb = (await readdir(debDir())).find((f) => f.startsWith('container-registry-ca_'))!;
    spawnSync('dpkg-deb', ['-e', join(debDir(), deb), control]);
    const postinst = await readFile(join(control, 'postinst'), 'utf8');
    t.match(postinst, /if \[ -n "\$D" \]; then[\s\S]*exit 0\s*fi\s*update-ca-certificates/, 'update-ca-certificates on the target only');

    // A new CA is a new input: the packages rebuild with it.
    if (has('pki')) {
      const renew = spawnSync(script, ['pki', 'renew', '--ca'], { encoding: 'utf8' });
      t.equal(renew.status, 0, `pki renew --ca: ${renew.stdout}${renew.stderr}`);
    } else {
      makeCa('test-ca-2');
    }
    const again = bitbake(['container-registry-ca', 'containerd-registry-config', '-c', 'package_write_deb']);
    if (!ok(t, again, 'package_write_deb after the CA changed')) return;
    const ca2 = await readFile(caPath, 'utf8');
    t.not(ca2, ca1);
    await expectPackage(t, 'container-registry-ca', 'ca', s, ca2);
    await expectPackage(t, 'containerd-registry-config', 'containerd', s, ca2);
  });

  await t.test('an s3:// storage: the script, pki/ and auth/ in CONTAINER_REGISTRY_STATE_DIR, and the CA default there', async (t) => {
    const state = join(build, 'container-registry-state');
    const bucket = 's3://cr-bitbake/yocto';
    await writeFile(
      localConf,
      `${baseConf}CONTAINER_REGISTRY_STORAGE = "${bucket}"\nCONTAINER_REGISTRY_SECURE = "1"\nCONTAINER_REGISTRY_PASSWORD = "${PASSWORD}"\n`,
    );
    t.teardown(() => writeFile(localConf, baseConf));
    const r = bitbake(['container-registry-index', '-c', 'generate_registry_script']);
    if (!ok(t, r, 'generate_registry_script with an s3:// storage')) return;
    t.match(r.stdout, `Wrote ${join(state, 'container-registry.sh')}`, 'the script goes into the state folder');
    const conf = await readFile(join(state, 'container-registry.conf'), 'utf8');
    t.match(conf, `cr_set CONTAINER_REGISTRY_STORAGE '${bucket}'`, 'the conf passes the URL through');
    t.match(conf, `cr_set CONTAINER_REGISTRY_STATE_DIR '${state}'`);
    t.notMatch(conf, /AWS_/, 'no AWS setting in the conf');
    t.ok(existsSync(join(state, 'pki', 'ca.crt')), 'secure mode: the CA in the state folder');
    t.ok(existsSync(join(state, 'auth', 'password')), 'the password file in the state folder');
    t.notOk(existsSync(join(build, 's3:')), 'no folder named after the URL');
    t.equal(getvar(t, 'CONTAINER_REGISTRY_CA', 'container-registry-index'), join(state, 'pki', 'ca.crt'), 'the CA default points into the state folder');
    t.equal(getvar(t, 'CONTAINER_REGISTRY_SIGNING_PUBKEY', 'container-registry-index'), join(state, 'pki', 'signing.pub'), 'so does the signing key');
  });

  t.comment(`bitbake integration took ${Math.round((Date.now() - started) / 1000)} s`);
}
