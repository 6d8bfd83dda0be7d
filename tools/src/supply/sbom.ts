// The SBOM push attaches: the image's SPDX document, found beside its OCI layout in deploy/ or
// named on the command line. oe-core writes, in IMGDEPLOYDIR (DEPLOY_DIR_IMAGE):
//   - SPDX 3.0 (create-spdx-3.0, styhead and later): `${IMAGE_NAME}.spdx.json`, one JSON-LD
//     document with every package, and the `${IMAGE_LINK_NAME}.spdx.json` link to it;
//   - SPDX 2.2 (create-spdx-2.2, scarthgap): `${IMAGE_NAME}.spdx.tar.zst` (and the link
//     `${IMAGE_LINK_NAME}.spdx.tar.zst`), a tar of the image document `${IMAGE_NAME}.spdx.json`,
//     every package and runtime document it refers to, and `index.json` listing them.
// The artifact's first layer is the image document (application/spdx+json, byte for byte); for
// SPDX 2.2 the whole archive follows as a second layer, since the image document alone names its
// packages only by reference. The summary (package count, licences) goes into annotations.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { lstat, mkdtemp, open, readFile, readlink, realpath, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { HelperError } from '../errors/helper-error.js';
import { indexTar } from '../layout/tar.js';
import type { ArtifactLayer } from './artifact.js';
import { type SourceRef, type SpdxSummary, sourcesOfSpdx, spdxVersionOf, summarizeSpdx, summaryAnnotations } from './spdx-summary.js';

/** SPDX_ARTIFACT_TYPE is the artifactType of an SBOM artifact, SPDX 2 and 3 alike (SPDX's registered media type). */
export const SPDX_ARTIFACT_TYPE = 'application/spdx+json';

/** SPDX_ARCHIVE_MEDIA_TYPE is the layer type of create-spdx-2.2's `.spdx.tar.zst` (all the image's SPDX documents). */
export const SPDX_ARCHIVE_MEDIA_TYPE = 'application/vnd.yoctoproject.spdx.tar+zstd';

/** MAX_SPDX_BYTES bounds a document (and an archive, unpacked) read into memory. */
export const MAX_SPDX_BYTES = 512 * 1024 * 1024;

/** SbomMode is `--sbom`: look beside the image, skip, or a file. */
export type SbomMode = { kind: 'auto' } | { kind: 'none' } | { kind: 'file'; path: string };

/** parseSbomMode reads `--sbom` / CONTAINER_REGISTRY_SBOM: auto (also 1/on/yes), none (also 0/off/no), else a file. */
export function parseSbomMode(value: string | undefined): SbomMode {
  const v = (value ?? '').trim();
  if (!v || /^(auto|1|on|yes|true)$/i.test(v)) return { kind: 'auto' };
  if (/^(none|0|off|no|false)$/i.test(v)) return { kind: 'none' };
  return { kind: 'file', path: v };
}

/** SbomDocument is an SBOM ready to attach. */
export interface SbomDocument {
  /** where it came from (the file read; for SPDX 2.2 the archive) */
  path: string;
  version: string;
  summary: SpdxSummary;
  layers: ArtifactLayer[];
  annotations: Record<string, string>;
  /** the recipe sources its documents name (provenance's resolved dependencies) */
  sources: SourceRef[];
}

/** SbomError is an SBOM (or provenance) file named on the command line that cannot be used: bad input, exit 2. */
export class SbomError extends HelperError {
  constructor(message: string) {
    super('usage', message);
    this.name = 'SbomError';
  }
}

const JSON_SUFFIX = '.spdx.json';
const ARCHIVE_SUFFIX = '.spdx.tar.zst';

/** imageStems are the names an image's deploy files share, most specific first: IMAGE_NAME, then IMAGE_LINK_NAME forms. */
export function imageStems(entry: string, realEntry: string, name: string, machine: string): string[] {
  const strip = (e: string) => e.replace(/(?:-oci|\.oci)(?:\.tar)?$/, '');
  const stems: string[] = [];
  const add = (s: string) => {
    if (s && !stems.includes(s)) stems.push(s);
  };
  for (const e of [realEntry, entry]) {
    const s = strip(e);
    add(s);
    // IMAGE_NAME = IMAGE_LINK_NAME + -DATETIME; a -latest link names the link name.
    add(s.replace(/[-_.]\d{8}-?\d{4,6}$/, ''));
    add(s.replace(/-latest$/, ''));
  }
  add(`${name}-${machine}.rootfs`);
  add(`${name}-${machine}`);
  return stems;
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}

/** findSpdx finds the image's SPDX file in `folder` (its machine folder): a .spdx.json, else a .spdx.tar.zst. */
export async function findSpdx(folder: string, stems: string[]): Promise<string | undefined> {
  for (const stem of stems) {
    for (const suffix of [JSON_SUFFIX, ARCHIVE_SUFFIX]) {
      const path = join(folder, `${stem}${suffix}`);
      if (await isFile(path)) return path;
    }
  }
  return undefined;
}

function parseJson(data: Buffer, what: string): unknown {
  try {
    return JSON.parse(data.toString('utf8'));
  } catch (err) {
    throw new SbomError(`${what} is not JSON: ${(err as Error).message.slice(0, 120)}`);
  }
}

/** unzstd decompresses `path` into a temporary file with the host's zstd (Node 20 has no zstd); the caller removes its folder. */
async function unzstd(path: string): Promise<{ file: string; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'cr-spdx-'));
  const file = join(dir, 'spdx.tar');
  try {
    const child = spawn('zstd', ['-d', '-c', '--', path], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err = (err + c.toString()).slice(-2000)));
    const exited = new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code) => resolve(code ?? 1));
    });
    let written = 0;
    child.stdout.on('data', (c: Buffer) => {
      written += c.length;
      if (written > MAX_SPDX_BYTES) child.kill('SIGKILL');
    });
    await pipeline(child.stdout, createWriteStream(file, { mode: 0o600 }));
    const code = await exited;
    if (written > MAX_SPDX_BYTES) throw new SbomError(`${path} unpacks to more than ${MAX_SPDX_BYTES} bytes`);
    if (code !== 0) throw new SbomError(`zstd cannot unpack ${path}: ${err.trim() || `exit ${code}`}`);
    return { file, dir };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new SbomError(`reading ${path} needs zstd on the PATH (Debian package zstd)`);
    throw err;
  }
}

/** readMember reads one member of a tar file by its byte range. */
async function readMember(tar: string, offset: number, size: number): Promise<Buffer> {
  const fh = await open(tar, 'r');
  try {
    const buf = Buffer.alloc(size);
    await fh.read(buf, 0, size, offset);
    return buf;
  } finally {
    await fh.close();
  }
}

/**
 * readSpdxArchive reads create-spdx-2.2's archive: the image document (the member named after
 * the archive's real file, IMAGE_NAME.spdx.json; else the one document no other refers to) and
 * every other document for the summary.
 */
async function readSpdxArchive(path: string): Promise<SbomDocument> {
  const real = await realpath(path);
  const imageName = basename(real).slice(0, -ARCHIVE_SUFFIX.length);
  const archive = await readFile(real);
  const { file, dir } = await unzstd(real);
  try {
    const members = await indexTar(file);
    const docs: Array<{ name: string; bytes: Buffer; doc: unknown }> = [];
    for (const m of members.values()) {
      if (m.type !== '0' || !m.name.endsWith(JSON_SUFFIX)) continue;
      const bytes = await readMember(file, m.offset, m.size);
      docs.push({ name: m.name, bytes, doc: parseJson(bytes, `${path}: ${m.name}`) });
    }
    const image = docs.find((d) => d.name === `${imageName}${JSON_SUFFIX}`) ?? docs.find((d) => basename(d.name) === `${imageName}${JSON_SUFFIX}`);
    if (!image) throw new SbomError(`${path} holds no ${imageName}${JSON_SUFFIX} (the image's SPDX document)`);
    const summary = summarizeSpdx(
      image.doc,
      docs.map((d) => d.doc),
    );
    if (!summary) throw new SbomError(`${path}: ${image.name} is not an SPDX document`);
    return {
      path,
      version: summary.version,
      summary,
      layers: [
        { mediaType: SPDX_ARTIFACT_TYPE, content: image.bytes, annotations: { 'org.opencontainers.image.title': `${imageName}${JSON_SUFFIX}` } },
        { mediaType: SPDX_ARCHIVE_MEDIA_TYPE, content: archive, annotations: { 'org.opencontainers.image.title': basename(real) } },
      ],
      annotations: summaryAnnotations(summary),
      sources: sourcesOfSpdx(docs.map((d) => d.doc)),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** readSbom reads an SPDX JSON document or a create-spdx-2.2 archive; a file that is neither is an SbomError. */
export async function readSbom(path: string): Promise<SbomDocument> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    throw new SbomError(`SBOM ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  if (!info.isFile()) throw new SbomError(`SBOM ${path} is not a file`);
  if (info.size > MAX_SPDX_BYTES) throw new SbomError(`SBOM ${path} is larger than ${MAX_SPDX_BYTES} bytes`);
  if (path.endsWith(ARCHIVE_SUFFIX)) return readSpdxArchive(path);
  const bytes = await readFile(path);
  const doc = parseJson(bytes, `SBOM ${path}`);
  const summary = summarizeSpdx(doc);
  if (!summary || !spdxVersionOf(doc)) throw new SbomError(`SBOM ${path} is JSON but not SPDX (no spdxVersion, no SPDX 3 @context)`);
  const title = (await lstat(path)).isSymbolicLink() ? basename(await readlink(path)) : basename(path);
  return {
    path,
    version: summary.version,
    summary,
    layers: [{ mediaType: SPDX_ARTIFACT_TYPE, content: bytes, annotations: { 'org.opencontainers.image.title': basename(title) } }],
    annotations: summaryAnnotations(summary),
    sources: sourcesOfSpdx([doc]),
  };
}
