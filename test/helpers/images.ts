// A checked-in generator of test images: real tar layers (gzip), configs and manifests, written as
// OCI layouts or pushed over HTTP. No opaque binary fixtures.
import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** TarEntry is one regular file of a layer. */
export interface TarEntry {
  name: string;
  content: Buffer | string;
  mode?: number;
}

function header(name: string, size: number, mode: number): Buffer {
  const h = Buffer.alloc(512, 0);
  h.write(name, 0, 100, 'utf8');
  h.write(`${mode.toString(8).padStart(7, '0')}\0`, 100, 8, 'ascii');
  h.write('0000000\0', 108, 8, 'ascii');
  h.write('0000000\0', 116, 8, 'ascii');
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 12, 'ascii');
  h.write(`${(0).toString(8).padStart(11, '0')}\0`, 136, 12, 'ascii'); // mtime 0: reproducible
  h.write('        ', 148, 8, 'ascii');
  h.write('0', 156, 1, 'ascii');
  h.write('ustar\0', 257, 6, 'ascii');
  h.write('00', 263, 2, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return h;
}

/** tarOf builds an uncompressed ustar archive. */
export function tarOf(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = Buffer.isBuffer(e.content) ? e.content : Buffer.from(e.content);
    parts.push(header(e.name, data.length, e.mode ?? 0o644), data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** sha256 gives `sha256:<hex>`. */
export function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** Blob is content with its digest. */
export interface Blob {
  digest: string;
  data: Buffer;
  mediaType: string;
}

/** TestImage is a single-platform OCI image. */
export interface TestImage {
  config: Blob;
  layers: Blob[];
  manifest: Blob;
  platform: { os: string; architecture: string; variant?: string };
}

/** makeImage builds an image of gzip layers, each a tar holding the given files. */
export function makeImage(
  opts: { layers?: TarEntry[][]; architecture?: string; variant?: string; os?: string; labels?: Record<string, string>; mediaTypes?: 'oci' | 'docker' } = {},
): TestImage {
  const docker = opts.mediaTypes === 'docker';
  const layerFiles = opts.layers ?? [[{ name: 'hello.txt', content: `hello ${randomBytes(8).toString('hex')}\n` }]];
  const tars = layerFiles.map((files) => tarOf(files));
  const layers: Blob[] = tars.map((tar) => {
    const data = gzipSync(tar, { level: 1 });
    return {
      digest: sha256(data),
      data,
      mediaType: docker ? 'application/vnd.docker.image.rootfs.diff.tar.gzip' : 'application/vnd.oci.image.layer.v1.tar+gzip',
    };
  });
  const platform = { os: opts.os ?? 'linux', architecture: opts.architecture ?? 'amd64', ...(opts.variant ? { variant: opts.variant } : {}) };
  const configDoc = {
    ...platform,
    created: '2026-01-01T00:00:00Z',
    config: { Cmd: ['/bin/sh'], Labels: opts.labels ?? {} },
    rootfs: { type: 'layers', diff_ids: tars.map((t) => sha256(t)) },
    history: tars.map(() => ({ created: '2026-01-01T00:00:00Z', created_by: 'test' })),
  };
  const configData = Buffer.from(JSON.stringify(configDoc));
  const config: Blob = {
    digest: sha256(configData),
    data: configData,
    mediaType: docker ? 'application/vnd.docker.container.image.v1+json' : 'application/vnd.oci.image.config.v1+json',
  };
  const manifestDoc = {
    schemaVersion: 2,
    mediaType: docker ? 'application/vnd.docker.distribution.manifest.v2+json' : 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: config.mediaType, digest: config.digest, size: config.data.length },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.data.length })),
  };
  const manifestData = Buffer.from(JSON.stringify(manifestDoc));
  return { config, layers, manifest: { digest: sha256(manifestData), data: manifestData, mediaType: manifestDoc.mediaType }, platform };
}

/** makeIndex builds an OCI index (or Docker list) over images. */
export function makeIndex(images: TestImage[], docker = false): Blob {
  const mediaType = docker ? 'application/vnd.docker.distribution.manifest.list.v2+json' : 'application/vnd.oci.image.index.v1+json';
  const doc = {
    schemaVersion: 2,
    mediaType,
    manifests: images.map((i) => ({ mediaType: i.manifest.mediaType, digest: i.manifest.digest, size: i.manifest.data.length, platform: i.platform })),
  };
  const data = Buffer.from(JSON.stringify(doc));
  return { digest: sha256(data), data, mediaType };
}

/** writeLayout writes an OCI image layout holding `image` under `ref` (index.json annotation). */
export async function writeLayout(dir: string, entries: Array<{ ref: string; image: TestImage }>): Promise<void> {
  const blobs = join(dir, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  for (const { image } of entries) {
    for (const b of [image.config, ...image.layers, image.manifest]) await writeFile(join(blobs, b.digest.slice(7)), b.data);
  }
  const index = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: entries.map(({ ref, image }) => ({
      mediaType: image.manifest.mediaType,
      digest: image.manifest.digest,
      size: image.manifest.data.length,
      annotations: { 'org.opencontainers.image.ref.name': ref },
    })),
  };
  await writeFile(join(dir, 'index.json'), JSON.stringify(index));
}

/** uploadBlob pushes one blob with a single POST ?digest= (monolithic). */
export async function uploadBlob(base: string, repo: string, blob: { digest: string; data: Buffer }, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${base}/v2/${repo}/blobs/uploads/?digest=${blob.digest}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/octet-stream', ...headers },
    body: new Uint8Array(blob.data),
  });
}

/** pushImage pushes an image's blobs then its manifest under `reference`; throws on any failure. */
export async function pushImage(base: string, repo: string, reference: string, image: TestImage, headers: Record<string, string> = {}): Promise<void> {
  for (const b of [image.config, ...image.layers]) {
    const res = await uploadBlob(base, repo, b, headers);
    if (res.status !== 201) throw new Error(`blob upload ${b.digest}: ${res.status} ${await res.text()}`);
  }
  const res = await putManifest(base, repo, reference, image.manifest, headers);
  if (res.status !== 201) throw new Error(`manifest put: ${res.status} ${await res.text()}`);
}

/** putManifest PUTs a manifest blob with its media type. */
export async function putManifest(base: string, repo: string, reference: string, manifest: Blob, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${base}/v2/${repo}/manifests/${reference}`, {
    method: 'PUT',
    headers: { 'Content-Type': manifest.mediaType, ...headers },
    body: new Uint8Array(manifest.data),
  });
}
