// The image page's details for real images: buildah's empty annotations make no empty box, a
// Docker image is no artifact (its config type is no "Artifact type"), and an index shows the size
// of each platform's image (its config and layers) and the total of them, not manifest sizes.
// Images are built and pushed by buildah; the UI API and the page in Chromium are checked.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestRegistry } from './helpers/registry.js';
import { isRoot, missingPeer } from './helpers/peers.js';
import { tempDir } from './helpers/tmp.js';
import { mustExec } from './helpers/exec.js';
import { putManifest, sha256, uploadBlob } from './helpers/images.js';
import { CHROMIUM, CHROMIUM_ARGS, CHROMIUM_SKIP } from './helpers/browser.js';

const skip = missingPeer('buildah') || (isRoot() ? false : 'buildah here needs root (vfs storage)') || CHROMIUM_SKIP;

interface Desc {
  mediaType: string;
  digest: string;
  size: number;
}
interface ManifestDoc {
  mediaType?: string;
  config: Desc;
  layers: Desc[];
  manifests: Array<Desc & { platform?: { architecture: string } }>;
  annotations?: Record<string, string>;
}

/** bytes formats as the page does (app.js). */
function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? String(n) : n.toFixed(1)} ${units[i]}`;
}

t.test('image details for buildah images, a Docker image, artifacts and an index', { skip, timeout: 300_000 }, async (t) => {
  const reg = await startTestRegistry(t);
  const dir = await tempDir(t, 'cr-details-');
  const B = ['--root', join(dir, 'root'), '--runroot', join(dir, 'run'), '--storage-driver', 'vfs'];
  const buildah = (...args: string[]) => mustExec('buildah', [...B, ...args]);

  // Two single-platform images, built from scratch with a file of their own each.
  for (const [arch, variant, size] of [
    ['amd64', '', 30_000],
    ['arm64', 'v8', 50_000],
  ] as const) {
    const file = join(dir, `payload-${arch}`);
    // Random bytes: the layer stays about this size compressed.
    await writeFile(file, randomBytes(size));
    const c = (await buildah('from', '--arch', arch, 'scratch')).stdout.trim();
    await buildah('copy', c, file, `/opt/payload-${arch}`);
    await buildah('config', '--arch', arch, ...(variant ? ['--variant', variant] : []), '--label', `org.opencontainers.image.version=1.0-${arch}`, c);
    await buildah('commit', c, `localhost/app-${arch}`);
  }
  const dest = (ref: string) => `docker://${reg.host}/${ref}`;
  await buildah('push', '--tls-verify=false', 'localhost/app-amd64', dest('yocto/buildah:v1'));
  await buildah('push', '--tls-verify=false', '--format', 'v2s2', 'localhost/app-amd64', dest('yocto/docker:v1'));
  await buildah('manifest', 'create', 'localhost/app-list');
  await buildah('manifest', 'add', 'localhost/app-list', 'containers-storage:localhost/app-amd64');
  await buildah('manifest', 'add', 'localhost/app-list', 'containers-storage:localhost/app-arm64');
  await buildah('manifest', 'push', '--all', '--tls-verify=false', 'localhost/app-list', dest('yocto/multi:v1'));

  const manifest = async (repo: string, ref: string): Promise<{ doc: ManifestDoc; length: number }> => {
    const res = await fetch(`${reg.url}/v2/${repo}/manifests/${ref}`, {
      headers: {
        Accept:
          'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json',
      },
    });
    const body = Buffer.from(await res.arrayBuffer());
    return { doc: JSON.parse(body.toString()) as ManifestDoc, length: body.length };
  };
  const api = async (repo: string, ref: string) =>
    (await (await fetch(`${reg.url}/ui/api/image?${new URLSearchParams({ repository: repo, reference: ref })}`)).json()) as {
      artifactType: string | null;
      totalSize: number;
      totalComplete: boolean;
      annotations: Record<string, string>;
      platforms: Array<{ digest: string; size: number; imageSize: number | null }>;
    };

  // What buildah wrote: annotations with empty values; a Docker config type for v2s2.
  const oci = await manifest('yocto/buildah', 'v1');
  t.ok(
    Object.values(oci.doc.annotations ?? {}).length > 0 && Object.values(oci.doc.annotations ?? {}).every((v) => v === ''),
    'buildah wrote empty annotations',
  );
  const docker = await manifest('yocto/docker', 'v1');
  t.equal(docker.doc.config.mediaType, 'application/vnd.docker.container.image.v1+json');

  // Artifact types: none for images; the field, or a config type that is no image config.
  t.equal((await api('yocto/buildah', 'v1')).artifactType, null, 'an OCI image has no artifact type');
  t.equal((await api('yocto/docker', 'v1')).artifactType, null, 'a Docker image has no artifact type');
  const empty = Buffer.from('{}');
  const chart = Buffer.from('{"name":"chart"}');
  const payload = Buffer.from('payload');
  for (const b of [empty, chart, payload]) t.equal((await uploadBlob(reg.url, 'yocto/artifacts', { digest: sha256(b), data: b })).status, 201);
  const put = async (tag: string, doc: object) => {
    const data = Buffer.from(JSON.stringify(doc));
    const mediaType = 'application/vnd.oci.image.manifest.v1+json';
    t.equal((await putManifest(reg.url, 'yocto/artifacts', tag, { digest: sha256(data), data, mediaType })).status, 201, tag);
  };
  const layer = { mediaType: 'application/octet-stream', digest: sha256(payload), size: payload.length };
  await put('explicit', {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    artifactType: 'application/vnd.example.sbom',
    config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(empty), size: empty.length },
    layers: [layer],
  });
  await put('chart', {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.cncf.helm.config.v1+json', digest: sha256(chart), size: chart.length },
    layers: [layer],
  });
  t.equal((await api('yocto/artifacts', 'explicit')).artifactType, 'application/vnd.example.sbom', 'the artifactType field');
  t.equal((await api('yocto/artifacts', 'chart')).artifactType, 'application/vnd.cncf.helm.config.v1+json', 'a config type that is no image config');

  // The index: each platform's image size from its child manifest; the total over them.
  const index = await manifest('yocto/multi', 'v1');
  t.equal(index.doc.manifests.length, 2, 'buildah pushed an index of two');
  const multi = await api('yocto/multi', 'v1');
  const blobs = new Map<string, number>();
  let total = index.length;
  const expected: number[] = [];
  for (const child of index.doc.manifests) {
    const m = await manifest('yocto/multi', child.digest);
    total += m.length;
    const parts = [m.doc.config, ...m.doc.layers];
    for (const p of parts) blobs.set(p.digest, p.size);
    expected.push(parts.reduce((sum, p) => sum + p.size, 0));
  }
  for (const size of blobs.values()) total += size;
  t.same(
    multi.platforms.map((p) => p.imageSize),
    expected,
    'each platform: its config and layers',
  );
  t.ok(
    expected.every((size, i) => size > 30_000 && size !== multi.platforms[i]!.size),
    'image sizes, not the manifests',
  );
  t.equal(multi.totalSize, total, 'the total: the index, its manifests and their blobs');
  t.equal(multi.totalComplete, true);

  // The page in Chromium.
  const { chromium } = await import('playwright-core');
  const context = await chromium.launchPersistentContext(await tempDir(t, 'cr-chromium-'), { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  t.teardown(() => context.close());
  const page = context.pages()[0] ?? (await context.newPage());
  const open = async (repo: string, ref: string) => {
    await page.goto('about:blank');
    await page.goto(`${reg.url}/ui/#${new URLSearchParams({ repo, ref })}`);
    await page.getByRole('heading', { name: 'Manifest', exact: true }).waitFor();
  };
  const terms = async () => page.locator('dl.kv dt').allTextContents();
  const headings = async () => page.locator('main h2').allTextContents();

  await open('yocto/buildah', 'v1');
  t.notOk((await headings()).includes('Annotations'), 'no Annotations box when every value is empty');
  t.notOk((await terms()).includes('Artifact type'), 'an OCI image shows no artifact type');
  t.match(await page.locator('section.labels').innerText(), '1.0-amd64', 'the label is up front');

  await open('yocto/docker', 'v1');
  t.notOk((await terms()).includes('Artifact type'), 'a Docker image shows no artifact type');

  await open('yocto/artifacts', 'chart');
  t.ok((await terms()).includes('Artifact type'), 'an artifact shows its type');
  t.match(await page.locator('dl.kv').first().innerText(), 'application/vnd.cncf.helm.config.v1+json');

  await open('yocto/multi', 'v1');
  await page.locator('#platforms').waitFor();
  t.same(await page.locator('#platforms tbody tr td:nth-child(3)').allTextContents(), expected.map(bytes), 'the Size column: each platform image');
  const kv = await page.locator('dl.kv').first().innerText();
  t.match(kv, `${bytes(total)} (every platform`, 'Total size: every platform');
});
