// OCI image layouts (a folder with index.json, or an OCI archive of one): resolving what
// index.json names into single-platform images, through nested indexes (multi-arch), for OCI and
// Docker schema 2 content alike. Blobs stay on disk; only manifests and configs are read.
// https://github.com/opencontainers/image-spec/blob/v1.1.0/image-layout.md
import { Readable } from 'node:stream';
import { digestOf, tryParseDigest } from '../oci/digest.js';
import { parseManifest, type Descriptor, type Platform } from '../oci/manifest.js';
import { isIndexMediaType } from '../oci/mediatypes.js';
import { normalizePlatform } from '../oci/platform.js';
import type { BlobSource } from '../client/blobs.js';
import { openLayoutFiles, type LayoutFiles } from './source.js';
import { HelperError } from '../errors/helper-error.js';

/** REF_NAME is the annotation index.json uses to name an image. */
export const REF_NAME = 'org.opencontainers.image.ref.name';

/** ImageContent is one single-platform image, ready to push: manifest and config in memory, layers on disk. */
export interface ImageContent {
  manifest: Buffer;
  manifestDigest: string;
  mediaType: string;
  config: Descriptor;
  configBody: Buffer;
  layers: Descriptor[];
  platform: Platform;
  /** opens a blob of this image (config or layer) */
  blob(d: Descriptor): BlobSource;
}

/** LayoutError is a layout that cannot be read as an image (missing file, bad JSON, no image). */
export class LayoutError extends HelperError {
  constructor(message: string) {
    super('layout', message);
    this.name = 'LayoutError';
  }
}

function blobPath(digest: string): string {
  const d = tryParseDigest(digest);
  if (!d) throw new LayoutError(`invalid digest ${JSON.stringify(digest.slice(0, 80))}`);
  return `blobs/${d.algorithm}/${d.hex}`;
}

/** OciLayout is an opened layout. */
export class OciLayout {
  private constructor(
    readonly files: LayoutFiles,
    readonly index: { manifests: Descriptor[] },
  ) {}

  /** open reads index.json of a layout folder or OCI archive. */
  static async open(path: string): Promise<OciLayout> {
    let files: LayoutFiles;
    try {
      files = await openLayoutFiles(path);
    } catch (err) {
      throw new LayoutError(`cannot open ${path}: ${(err as Error).message}`);
    }
    let doc: { manifests?: unknown };
    try {
      doc = JSON.parse((await files.readSmall('index.json')).toString('utf8')) as typeof doc;
    } catch (err) {
      throw new LayoutError(`${path} is not an OCI image layout: ${(err as Error).message}`);
    }
    if (!Array.isArray(doc.manifests)) throw new LayoutError(`${path}: index.json has no manifests array`);
    return new OciLayout(files, { manifests: doc.manifests as Descriptor[] });
  }

  /** refNames lists the names index.json gives its entries. */
  refNames(): string[] {
    return this.index.manifests.map((m) => m.annotations?.[REF_NAME]).filter((n): n is string => !!n);
  }

  /** blobSource gives a reopenable source for a blob of the layout. */
  blobSource(d: Descriptor): BlobSource {
    const rel = blobPath(d.digest);
    const file = this.files.locate(rel);
    return { digest: d.digest, size: d.size, open: () => this.files.open(rel), ...(file ? { file } : {}) };
  }

  /**
   * checkBlob makes sure a blob the manifest names is in the layout with the size it says, so a
   * broken layout stops the push before anything is sent (a missing layer would otherwise show only
   * mid-upload, as a failed request, after the registry opened an upload session for it).
   */
  async checkBlob(d: Descriptor, what: string): Promise<void> {
    const size = await this.files.size(blobPath(d.digest));
    if (size === undefined) throw new LayoutError(`${this.files.location}: blob ${d.digest} (${what}) is missing from the layout`);
    if (size !== d.size) throw new LayoutError(`${this.files.location}: blob ${d.digest} (${what}) has ${size} bytes, not the ${d.size} its descriptor says`);
  }

  /** readBlob reads a small blob and checks its digest. */
  async readBlob(d: Descriptor, what = 'a manifest'): Promise<Buffer> {
    if ((await this.files.size(blobPath(d.digest))) === undefined) {
      throw new LayoutError(`${this.files.location}: blob ${d.digest} (${what}) is missing from the layout`);
    }
    const body = await this.files.readSmall(blobPath(d.digest)).catch((err: Error) => {
      throw new LayoutError(err.message);
    });
    if (digestOf(body, d.digest.startsWith('sha512:') ? 'sha512' : 'sha256') !== d.digest) {
      throw new LayoutError(`${this.files.location}: blob ${d.digest} does not match its digest`);
    }
    return body;
  }

  /**
   * images resolves index.json to single-platform images: the entry named `ref` (or the only entry,
   * or every entry when they all carry platforms), nested indexes followed; attestation manifests
   * (platform unknown/unknown) are left out.
   */
  async images(ref?: string): Promise<ImageContent[]> {
    let entries = this.index.manifests;
    if (ref !== undefined) {
      entries = entries.filter((m) => m.annotations?.[REF_NAME] === ref);
      if (!entries.length)
        throw new LayoutError(`${this.files.location} has no image named ${JSON.stringify(ref)} (it has: ${this.refNames().join(', ') || 'no names'})`);
    } else if (entries.length > 1) {
      const latest = entries.filter((m) => m.annotations?.[REF_NAME] === 'latest');
      const withPlatforms = entries.every((m) => m.platform);
      if (latest.length) entries = latest;
      else if (!withPlatforms && new Set(entries.map((m) => m.digest)).size > 1) {
        throw new LayoutError(`${this.files.location} holds ${entries.length} images; name one (${this.refNames().join(', ') || 'they have no names'})`);
      } else entries = entries.filter((m, i) => entries.findIndex((x) => x.digest === m.digest) === i);
    }
    const out: ImageContent[] = [];
    for (const e of entries) await this.collect(e, out, 0);
    if (!out.length) throw new LayoutError(`${this.files.location}: no image manifest found`);
    return out;
  }

  private async collect(d: Descriptor, out: ImageContent[], depth: number): Promise<void> {
    if (depth > 4) throw new LayoutError(`${this.files.location}: indexes nested too deep`);
    const body = await this.readBlob(d);
    const parsed = (() => {
      try {
        return parseManifest(body, d.mediaType);
      } catch (err) {
        throw new LayoutError(`${this.files.location}: manifest ${d.digest}: ${(err as Error).message}`);
      }
    })();
    if (parsed.isIndex || isIndexMediaType(d.mediaType)) {
      for (const child of parsed.manifests) {
        if (child.platform?.architecture === 'unknown' || child.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest') continue;
        await this.collect(child, out, depth + 1);
      }
      return;
    }
    const config = parsed.config!;
    const configBody = await this.readBlob(config, `the config of manifest ${d.digest}`);
    for (const layer of parsed.blobs.slice(1)) await this.checkBlob(layer, `a layer of manifest ${d.digest}`);
    let cfg: { os?: string; architecture?: string; variant?: string } = {};
    try {
      cfg = JSON.parse(configBody.toString('utf8')) as typeof cfg;
    } catch {
      // a non-image artifact's config: the descriptor's platform, if any, decides
    }
    const platform = normalizePlatform(d.platform ?? cfg);
    out.push({
      manifest: body,
      manifestDigest: d.digest,
      mediaType: parsed.mediaType,
      config,
      configBody,
      layers: parsed.blobs.slice(1),
      platform,
      blob: (desc) => (desc.digest === config.digest ? bufferSource(desc.digest, configBody) : this.blobSource(desc)),
    });
  }
}

/** bufferSource is a BlobSource over bytes in memory (configs, rewritten configs). */
export function bufferSource(digest: string, data: Buffer): BlobSource {
  return { digest, size: data.length, open: () => Readable.from([data]) };
}
