// A checked-in generator of deploy/ trees: machine folders holding OCI layouts (folders and .tar
// archives, -latest-oci links, multi-arch indexes), built from real tar layers by images.ts.
import { mkdir, symlink, writeFile, readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { makeImage, makeIndex, tarOf, writeLayout, type TestImage, type TarEntry } from './images.js';

/** writeIndexLayout writes a layout whose index.json names one multi-arch index (nested index). */
export async function writeIndexLayout(dir: string, images: TestImage[], ref = 'latest'): Promise<void> {
  const blobs = join(dir, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  for (const image of images) for (const b of [image.config, ...image.layers, image.manifest]) await writeFile(join(blobs, b.digest.slice(7)), b.data);
  const index = makeIndex(images);
  await writeFile(join(blobs, index.digest.slice(7)), index.data);
  await writeFile(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: index.mediaType, digest: index.digest, size: index.data.length, annotations: { 'org.opencontainers.image.ref.name': ref } }],
    }),
  );
}

/** archiveOf packs a layout folder into an OCI archive (.tar), files in sorted order. */
export async function archiveOf(layoutDir: string, tarPath: string): Promise<void> {
  const entries: TarEntry[] = [];
  const walk = async (dir: string) => {
    for (const name of (await readdir(dir)).sort()) {
      const p = join(dir, name);
      if ((await stat(p)).isDirectory()) await walk(p);
      else entries.push({ name: relative(layoutDir, p), content: await readFile(p) });
    }
  };
  await walk(layoutDir);
  await writeFile(tarPath, tarOf(entries));
}

/** DeployBuild is one image build written into a machine folder. */
export interface DeployBuild {
  machine: string;
  /** e.g. container-base */
  image: string;
  /** YYYYMMDDHHMMSS */
  stamp: string;
  architecture?: string;
  variant?: string;
  /** write a `-latest-oci` link to this build */
  latestLink?: boolean;
  /** also (or only) write the .tar archive */
  archive?: 'also' | 'only';
  layers?: TarEntry[][];
  /** Docker schema 2 media types instead of OCI's */
  docker?: boolean;
}

/** writeBuild writes `<image>-<machine>.rootfs-<stamp>-oci` (Yocto's IMAGE_NAME) and returns its image. */
export async function writeBuild(deployImages: string, b: DeployBuild): Promise<{ image: TestImage; path: string }> {
  const folder = join(deployImages, b.machine);
  await mkdir(folder, { recursive: true });
  const image = makeImage({ architecture: b.architecture ?? 'amd64', variant: b.variant, layers: b.layers, mediaTypes: b.docker ? 'docker' : 'oci' });
  const base = `${b.image}-${b.machine}.rootfs-${b.stamp}-oci`;
  const dir = join(folder, base);
  await writeLayout(dir, [{ ref: 'latest', image }]);
  if (b.archive) await archiveOf(dir, `${dir}.tar`);
  if (b.archive === 'only') {
    const { rm } = await import('node:fs/promises');
    await rm(dir, { recursive: true });
  }
  if (b.latestLink)
    await symlink(b.archive === 'only' ? `${base}.tar` : base, join(folder, `${b.image}-${b.machine}-latest-oci${b.archive === 'only' ? '.tar' : ''}`));
  return { image, path: b.archive === 'only' ? `${dir}.tar` : dir };
}
