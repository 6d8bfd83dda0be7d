// import: copy an image from any registry into ours — every platform by default (the source's
// index and manifests byte for byte, so digests are preserved) or the platforms asked for.
import { PassThrough } from 'node:stream';
import type { BlobSource } from '../client/blobs.js';
import { getBlob } from '../client/blobs.js';
import type { CredentialSource } from '../client/credentials.js';
import { getManifest, putManifest } from '../client/manifests.js';
import { RegistrySession } from '../client/session.js';
import type { ImageContent } from '../layout/layout.js';
import { parseManifest, type Descriptor, type Platform } from '../oci/manifest.js';
import { isIndexMediaType } from '../oci/mediatypes.js';
import { DOCKER_HUB, isLoopbackHost, parseImageReference, withDockerHubDefaults } from '../oci/reference.js';
import { normalizePlatform, platformKey } from '../oci/platform.js';
import { indexBody } from './multiarch.js';
import { configPlatform, pushBlobs, type PushContext, type PushResult } from './push.js';
import { HelperError } from '../errors/helper-error.js';

/** SourceReference is a parsed import source with Docker Hub's defaults applied. */
export interface SourceReference {
  /** host for the API (registry-1.docker.io for Docker Hub) */
  registry: string;
  repository: string;
  /** tag or digest */
  reference: string;
  tag: string | undefined;
}

/** ImportError is a source that cannot be imported as asked. */
export class ImportError extends HelperError {
  constructor(message: string) {
    super('import', message);
    this.name = 'ImportError';
  }
}

/** parseSourceReference reads `[registry/]repo[:tag][@digest]`; no registry means Docker Hub (library/ for one-part names). */
export function parseSourceReference(text: string): SourceReference {
  let ref;
  try {
    ref = withDockerHubDefaults(parseImageReference(text));
  } catch (err) {
    throw new ImportError((err as Error).message);
  }
  // Docker Hub's API lives on registry-1.docker.io, not on the name references use.
  const registry = ref.registry === DOCKER_HUB ? 'registry-1.docker.io' : ref.registry;
  return { registry, repository: ref.repository, reference: ref.digest ?? ref.tag ?? 'latest', tag: ref.tag ?? (ref.digest ? undefined : 'latest') };
}

/** SourceOptions is how to reach an import's source: the --src-* flags. */
export interface SourceOptions {
  /** --src-insecure: plain HTTP allowed, certificates not verified */
  insecure: boolean;
  /** --src-ca-cert, --src-cert-dir */
  ca: Buffer[];
  credentials: CredentialSource;
}

/**
 * openSource builds the session to an import's source. TLS follows the target's rule: plain HTTP
 * with --src-insecure, or without any flag for a registry on this machine (localhost,
 * 127.0.0.0/8, ::1, as docker does), whose certificate is still verified when it speaks HTTPS;
 * the hint for a plain-HTTP registry elsewhere names --src-insecure.
 */
export function openSource(source: SourceReference, opts: SourceOptions): RegistrySession {
  return new RegistrySession({
    registry: source.registry,
    tls: { insecure: opts.insecure, ca: opts.ca, allowHttp: opts.insecure || isLoopbackHost(source.registry) },
    credentials: opts.credentials,
    insecureFlag: '--src-insecure',
  });
}

/** parsePlatform reads `os/arch[/variant]` or `arch`. */
export function parsePlatform(text: string): Platform {
  const parts = text.trim().split('/');
  if (parts.length === 1) return normalizePlatform({ os: 'linux', architecture: parts[0] });
  if (parts.length === 2 || parts.length === 3) return normalizePlatform({ os: parts[0], architecture: parts[1], variant: parts[2] });
  throw new ImportError(`invalid platform ${JSON.stringify(text)} (want os/arch[/variant])`);
}

function remoteSource(src: RegistrySession, repo: string, d: Descriptor): BlobSource {
  return {
    digest: d.digest,
    size: d.size,
    open: () => {
      const out = new PassThrough({ highWaterMark: 1024 * 1024 });
      getBlob(src, repo, d.digest).then(
        (res) => {
          res.body.on('error', (err) => out.destroy(err));
          // An upload that fails mid-way closes `out`: stop reading the source too.
          out.on('close', () => res.body.destroy());
          res.body.pipe(out);
        },
        (err: Error) => out.destroy(err),
      );
      return out;
    },
  };
}

async function remoteImage(src: RegistrySession, repo: string, d: Descriptor, body: Buffer, mediaType: string): Promise<ImageContent> {
  const parsed = parseManifest(body, mediaType);
  if (!parsed.config) throw new ImportError(`${repo}@${d.digest} is not an image manifest`);
  // A plain manifest (or an index entry without one) has no platform: its config says it.
  const platform = d.platform ?? (await configPlatform(src, repo, parsed.config));
  return {
    manifest: body,
    manifestDigest: d.digest,
    mediaType: parsed.mediaType,
    config: parsed.config,
    configBody: Buffer.alloc(0),
    layers: parsed.blobs.slice(1),
    platform: platform ? normalizePlatform(platform) : { os: 'unknown', architecture: 'unknown' },
    blob: (desc) => remoteSource(src, repo, desc),
  };
}

/** importImage copies `source` to `repository:tag` of the context's registry. */
export async function importImage(
  ctx: PushContext,
  src: RegistrySession,
  source: SourceReference,
  repository: string,
  tag: string,
  platforms: Platform[] = [],
): Promise<PushResult> {
  const top = await getManifest(src, source.repository, source.reference);
  if (!top) throw new ImportError(`${source.registry}/${source.repository}:${source.reference} not found`);
  if (source.reference.includes(':') && top.digest !== source.reference) throw new ImportError(`source answered ${top.digest} for ${source.reference}`);
  const images: ImageContent[] = [];
  let tagBody = top.body;
  let tagType = top.mediaType;
  if (isIndexMediaType(top.mediaType)) {
    const index = parseManifest(top.body, top.mediaType);
    let children = index.manifests;
    if (platforms.length) {
      const wanted = new Set(platforms.map(platformKey));
      children = children.filter((c) => c.platform && wanted.has(platformKey(c.platform)));
      if (!children.length) {
        const have = index.manifests
          .filter((c) => c.platform && c.platform.architecture !== 'unknown')
          .map((c) => platformKey(c.platform))
          .join(', ');
        throw new ImportError(`${source.repository}:${source.reference} has no ${platforms.map(platformKey).join(', ')} (it has ${have})`);
      }
    }
    for (const c of children) {
      const m = await getManifest(src, source.repository, c.digest);
      if (!m) throw new ImportError(`${source.repository}@${c.digest} (listed by the index) not found`);
      if (isIndexMediaType(m.mediaType)) throw new ImportError(`${source.repository}@${c.digest}: nested indexes are not imported`);
      images.push(await remoteImage(src, source.repository, c, m.body, m.mediaType));
    }
    if (platforms.length && children.length === 1) {
      // One platform asked for: the tag points at that platform's manifest itself (its digest kept).
      tagBody = images[0]!.manifest;
      tagType = images[0]!.mediaType;
    } else if (platforms.length) {
      tagBody = indexBody(children);
      tagType = 'application/vnd.oci.image.index.v1+json';
    }
  } else {
    if (platforms.length) ctx.reporter.info(`${source.repository}:${source.reference} is a single-platform image; --platform is not checked`);
    images.push(await remoteImage(src, source.repository, { mediaType: top.mediaType, digest: top.digest, size: top.body.length }, top.body, top.mediaType));
  }
  if (src.host === ctx.session.host) {
    // Same registry: every blob can be mounted from the source repository instead of copied.
    for (const i of images) for (const d of [i.config, ...i.layers]) if (!ctx.knownBlobs.has(d.digest)) ctx.knownBlobs.set(d.digest, source.repository);
  }
  const stats = await pushBlobs(ctx, repository, images);
  for (const i of images) if (tagBody !== i.manifest) await putManifest(ctx.session, repository, i.manifestDigest, i.manifest, i.mediaType);
  const digest = await putManifest(ctx.session, repository, tag, tagBody, tagType);
  ctx.reporter.tagged(repository, tag, digest);
  const platformKeys = images.map((i) => platformKey(i.platform));
  return {
    repository,
    tags: [tag],
    digest,
    mediaType: tagType,
    tagDigests: { [tag]: digest },
    tagged: { [tag]: { digest, mediaType: tagType, platforms: platformKeys } },
    platforms: platformKeys,
    ...stats,
  };
}
