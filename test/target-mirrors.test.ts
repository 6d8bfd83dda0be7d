// The mirror configuration the target config packages ship (CONTAINER_REGISTRY_MIRRORS), read by
// the real engines: podman parses the registries.conf drop-in and containerd the hosts.toml files,
// and both pull an image of a mirrored upstream through our registry. The upstream is a loopback
// port nothing listens on, so a pull succeeds only through the mirror entry. The registry here is
// the plain one: the image sits where the pull-through cache keeps an upstream's images
// (`<prefix>/<repository>`), pushed with skopeo.
import t from 'tap';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { startTestRegistry, type TestRegistry } from './helpers/registry.js';
import { isRoot, missingPeer } from './helpers/peers.js';
import { tempDir } from './helpers/tmp.js';
import { freePort } from './helpers/ports.js';
import { makeImage, writeLayout, type TestImage } from './helpers/images.js';
import { exec, mustExec } from './helpers/exec.js';
import { startContainerd } from './helpers/containerd.js';
import { resolveTargetSettings, type TargetInput } from '../tools/src/target/settings.js';
import { targetFiles, type TargetFile } from '../tools/src/target/files.js';

const notRoot = isRoot() ? false : 'podman and containerd here need root (vfs storage, containerd snapshots)';

interface Setup {
  reg: TestRegistry;
  image: TestImage;
  /** the mirrored upstream as image references name it: localhost:<a port nothing listens on> */
  upstream: string;
  input: TargetInput;
}

/** setup starts a registry holding `<prefix>/multi/app:v1` and names an upstream no one serves. */
async function setup(t: { teardown(fn: () => unknown): void }): Promise<Setup> {
  const reg = await startTestRegistry(t);
  const closed = await freePort();
  const upstream = `localhost:${closed}`;
  const image = makeImage({ layers: [[{ name: 'mirrored.txt', content: `through the mirror of ${upstream}\n` }]] });
  const dir = await tempDir(t, 'cr-mirror-seed-');
  await writeLayout(dir, [{ ref: 'v1', image }]);
  await mustExec('skopeo', ['copy', '--dest-tls-verify=false', `oci:${dir}:v1`, `docker://${reg.host}/localhost-${closed}/multi/app:v1`]);
  // The target reaches the build host at 127.0.0.1 here (TARGET_HOST), so the files name our
  // registry as the engines on this machine reach it.
  const input = { url: reg.host, namespace: 'yocto', insecure: '1', targetHost: '127.0.0.1', mirrors: `${upstream}=http://127.0.0.1:${closed}` };
  return { reg, image, upstream, input };
}

/** install writes target files under `root` as a package would install them under /. */
async function install(root: string, files: TargetFile[]): Promise<void> {
  for (const f of files) {
    await mkdir(dirname(join(root, f.path)), { recursive: true });
    await writeFile(join(root, f.path), f.content);
  }
}

t.test('podman reads the registries.conf drop-in and pulls a mirrored upstream through us', { skip: missingPeer('podman', 'skopeo') || notRoot }, async (t) => {
  const { reg, image, upstream, input } = await setup(t);
  const dir = await tempDir(t, 'cr-mirror-podman-');
  const podman = ['--root', join(dir, 'root'), '--runroot', join(dir, 'run'), '--storage-driver', 'vfs'];
  const [dropIn] = targetFiles('containers', resolveTargetSettings(input));
  const conf = join(dir, 'registries.conf');
  await writeFile(conf, dropIn!.content);
  const env = { CONTAINERS_REGISTRIES_CONF: conf };

  const info = JSON.parse((await mustExec('podman', [...podman, 'info', '--format', 'json'], { env })).stdout) as {
    registries: Record<string, { Mirrors?: Array<{ Location: string; Insecure: boolean }> } | string[]>;
  };
  t.same(
    (info.registries[upstream] as { Mirrors?: Array<{ Location: string; Insecure: boolean }> }).Mirrors?.map((m) => [m.Location, m.Insecure]),
    [[`${reg.host}/localhost-${upstream.split(':')[1]}`, true]],
    'podman parsed our registry as the upstream’s mirror',
  );

  const pull = await mustExec('podman', [...podman, 'pull', `${upstream}/multi/app:v1`], { env });
  t.equal(pull.stdout.trim(), image.config.digest.slice(7), 'pulled through the mirror (the upstream port is closed)');

  // The same file broken: podman refuses it, so the checks above did read the file.
  await writeFile(conf, `${dropIn!.content}[[registry.mirror]\n`);
  const bad = await exec('podman', [...podman, 'info'], { env });
  t.not(bad.code, 0, 'a registries.conf podman cannot parse fails');

  // Secure mode's file parses too (TLS with the CA certs.d holds; no insecure mirror).
  await writeFile(
    conf,
    targetFiles('containers', resolveTargetSettings({ ...input, insecure: '0', secure: '1', mirrors: `docker.io ${input.mirrors}` }))[0]!.content,
  );
  const secureInfo = JSON.parse((await mustExec('podman', [...podman, 'info', '--format', 'json'], { env })).stdout) as {
    registries: Record<string, { Mirrors?: Array<{ Location: string; Insecure: boolean }> }>;
  };
  t.same(
    secureInfo.registries['docker.io']?.Mirrors?.map((m) => [m.Location, m.Insecure]),
    [[`${reg.host}/docker.io`, false]],
  );
});

t.test(
  'containerd reads the hosts.toml files and pulls a mirrored upstream through us',
  { skip: missingPeer('ctr', 'containerd', 'skopeo') || notRoot },
  async (t) => {
    const { image, upstream, input } = await setup(t);
    const dir = await tempDir(t, 'cr-mirror-containerd-');
    const root = join(dir, 'target');
    const files = targetFiles('containerd', resolveTargetSettings(input));
    t.equal(files.length, 2, 'our hosts.toml and the upstream’s');
    await install(root, files);
    const sock = await startContainerd(t, dir);
    const ctr = ['--address', sock];
    const pull = await exec('ctr', [...ctr, 'images', 'pull', '--hosts-dir', join(root, 'etc/containerd/certs.d'), `${upstream}/multi/app:v1`]);
    const said = 'ctr pulled through the mirror (the upstream port is closed)';
    t.equal(pull.code, 0, pull.code === 0 ? said : `${said}\n${pull.stdout}${pull.stderr}`);
    const ls = (await mustExec('ctr', [...ctr, 'images', 'ls'])).stdout;
    t.match(
      ls.split('\n').find((l) => l.startsWith(`${upstream}/multi/app:v1`)) ?? '',
      image.manifest.digest,
      'containerd recorded the manifest our registry served',
    );

    // Without our entry, the same pull goes to the closed upstream and fails: the hosts.toml did it.
    const bare = join(dir, 'bare');
    await mkdir(bare, { recursive: true });
    const direct = await exec('ctr', [...ctr, 'images', 'pull', '--plain-http', '--hosts-dir', bare, `${upstream}/multi/app:v2`]);
    t.not(direct.code, 0, 'the upstream itself answers nothing');
  },
);
