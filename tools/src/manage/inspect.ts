// inspect <image>[:tag]: media type, digest, platforms, layers and sizes, config labels.
import { getBlob } from '../client/blobs.js';
import { getManifest } from '../client/manifests.js';
import type { RegistrySession } from '../client/session.js';
import { readBody } from '../client/transport.js';
import { parseManifest } from '../oci/manifest.js';
import { isIndexMediaType } from '../oci/mediatypes.js';
import { platformKey } from '../oci/platform.js';
import { HelperError } from '../errors/helper-error.js';
import { referrersOfSubjects, type ReferrerEntry } from './referrers.js';

/** InspectedImage is one platform's manifest. */
export interface InspectedImage {
  digest: string;
  mediaType: string;
  platform: string | undefined;
  config: { digest: string; size: number; mediaType: string };
  labels: Record<string, string>;
  created: string | undefined;
  layers: Array<{ digest: string; size: number; mediaType: string }>;
  size: number;
}

/** Inspection is what a reference resolves to. */
export interface Inspection {
  repository: string;
  reference: string;
  digest: string;
  mediaType: string;
  /** the index's entries (empty for a plain manifest) */
  manifests: Array<{ digest: string; platform: string | undefined; mediaType: string; size: number }>;
  images: InspectedImage[];
  /** what refers to the manifest and to each platform's (SBOMs, provenance, signatures): the referrers API, else the fallback tag schema */
  referrers: ReferrerEntry[];
}

/** InspectError is a reference the registry does not have. */
export class InspectError extends HelperError {
  constructor(message: string) {
    super('not-found', message);
    this.name = 'InspectError';
  }
}

async function image(
  s: RegistrySession,
  repository: string,
  digest: string,
  body: Buffer,
  mediaType: string,
  platform: string | undefined,
): Promise<InspectedImage> {
  const parsed = parseManifest(body, mediaType);
  const config = parsed.config!;
  let labels: Record<string, string> = {};
  let created: string | undefined;
  let configPlatform: string | undefined;
  if (config.size < 4 * 1024 * 1024) {
    try {
      const doc = JSON.parse((await readBody(await getBlob(s, repository, config.digest))).toString('utf8')) as {
        config?: { Labels?: Record<string, string> | null };
        created?: string;
        os?: string;
        architecture?: string;
        variant?: string;
      };
      labels = doc.config?.Labels ?? {};
      created = doc.created;
      if (doc.architecture) configPlatform = platformKey(doc);
    } catch {
      // not an image config (an artifact): no labels to show
    }
  }
  const layers = parsed.blobs.slice(1).map((l) => ({ digest: l.digest, size: l.size, mediaType: l.mediaType }));
  return {
    digest,
    mediaType: parsed.mediaType,
    platform: platform ?? configPlatform,
    config: { digest: config.digest, size: config.size, mediaType: config.mediaType },
    labels,
    created,
    layers,
    size: layers.reduce((n, l) => n + l.size, config.size),
  };
}

/** inspectImage reads `repository:reference` and, for an index, every platform it lists. */
export async function inspectImage(s: RegistrySession, repository: string, reference: string): Promise<Inspection> {
  const top = await getManifest(s, repository, reference);
  if (!top) throw new InspectError(`${repository}:${reference} does not exist`);
  if (!isIndexMediaType(top.mediaType)) {
    return {
      repository,
      reference,
      digest: top.digest,
      mediaType: top.mediaType,
      manifests: [],
      images: [await image(s, repository, top.digest, top.body, top.mediaType, undefined)],
      referrers: await referrersOfSubjects(s, repository, [{ digest: top.digest, platform: undefined }]),
    };
  }
  const index = parseManifest(top.body, top.mediaType);
  const images: InspectedImage[] = [];
  for (const m of index.manifests) {
    if (m.platform?.architecture === 'unknown') continue;
    const child = await getManifest(s, repository, m.digest);
    if (child && !isIndexMediaType(child.mediaType))
      images.push(await image(s, repository, m.digest, child.body, child.mediaType, m.platform ? platformKey(m.platform) : undefined));
  }
  return {
    repository,
    reference,
    digest: top.digest,
    mediaType: top.mediaType,
    manifests: index.manifests.map((m) => ({
      digest: m.digest,
      platform: m.platform ? platformKey(m.platform) : undefined,
      mediaType: m.mediaType,
      size: m.size,
    })),
    images,
    referrers: await referrersOfSubjects(s, repository, [
      { digest: top.digest, platform: undefined },
      ...images.map((i) => ({ digest: i.digest, platform: i.platform })),
    ]),
  };
}
