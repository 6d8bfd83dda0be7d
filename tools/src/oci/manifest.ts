// Parsing and checking manifests: OCI image manifest and index, Docker schema 2 manifest and list,
// and artifacts (artifactType, subject). The registry stores the bytes as sent; this reads them.
// https://github.com/opencontainers/image-spec/blob/v1.1.0/manifest.md
import { RegistryError } from './errors.js';
import { parseDigest } from './digest.js';
import { MEDIA_TYPES, isIndexMediaType, isManifestMediaType } from './mediatypes.js';

/** Descriptor is an OCI content descriptor. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  artifactType?: string;
  platform?: Platform;
  urls?: string[];
  data?: string;
}

/** Platform is a descriptor's platform (index entries). */
export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}

/** ParsedManifest is what the registry needs to know of a manifest. */
export interface ParsedManifest {
  /** the media type it is served with */
  mediaType: string;
  isIndex: boolean;
  /** config and layers (image manifests) */
  blobs: Descriptor[];
  /** child manifests (indexes) */
  manifests: Descriptor[];
  subject: Descriptor | undefined;
  /** artifactType, else the config's media type (for the referrers API) */
  artifactType: string | undefined;
  annotations: Record<string, string> | undefined;
  config: Descriptor | undefined;
}

/** MAX_MANIFEST_BYTES is the largest manifest accepted (the spec asks registries to take 4 MiB). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

function invalid(message: string): RegistryError {
  return new RegistryError('MANIFEST_INVALID', message);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** parseDescriptor checks one descriptor's shape and digest. */
export function parseDescriptor(v: unknown, where: string): Descriptor {
  if (!isObject(v)) throw invalid(`${where}: descriptor must be an object`);
  if (typeof v.mediaType !== 'string' || v.mediaType.length === 0) throw invalid(`${where}: mediaType missing`);
  if (typeof v.digest !== 'string') throw invalid(`${where}: digest missing`);
  if (typeof v.size !== 'number' || !Number.isSafeInteger(v.size) || v.size < 0) throw invalid(`${where}: size must be a non-negative integer`);
  try {
    parseDigest(v.digest);
  } catch {
    throw invalid(`${where}: invalid digest ${JSON.stringify(v.digest).slice(0, 90)}`);
  }
  if (v.annotations !== undefined && !isStringMap(v.annotations)) throw invalid(`${where}: annotations must map strings to strings`);
  if (v.data !== undefined) {
    if (typeof v.data !== 'string') throw invalid(`${where}: data must be base64 text`);
    if (Buffer.from(v.data, 'base64').length !== v.size) throw invalid(`${where}: data does not match size`);
  }
  if (v.platform !== undefined) {
    const p = v.platform;
    if (!isObject(p) || typeof p.architecture !== 'string' || typeof p.os !== 'string') {
      throw invalid(`${where}: platform needs architecture and os`);
    }
  }
  return v as unknown as Descriptor;
}

function isStringMap(v: unknown): v is Record<string, string> {
  return isObject(v) && Object.values(v).every((x) => typeof x === 'string');
}

/** inferMediaType gives a manifest's type from its own field, else from its shape. */
function inferMediaType(doc: Record<string, unknown>, contentType: string | undefined): string {
  if (typeof doc.mediaType === 'string') return doc.mediaType;
  if (contentType && isManifestMediaType(contentType)) return contentType;
  return Array.isArray(doc.manifests) ? MEDIA_TYPES.ociIndex : MEDIA_TYPES.ociManifest;
}

/**
 * parseManifest checks `body` as sent with `contentType` and returns what the registry needs.
 * Invalid JSON or shape is MANIFEST_INVALID (400), never a server error.
 */
export function parseManifest(body: Buffer, contentType?: string): ParsedManifest {
  if (body.length > MAX_MANIFEST_BYTES) {
    throw new RegistryError('SIZE_INVALID', `manifest is larger than ${MAX_MANIFEST_BYTES} bytes`, { status: 413 });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw invalid(`manifest is not valid JSON: ${(err as Error).message.slice(0, 120)}`);
  }
  if (!isObject(doc)) throw invalid('manifest must be a JSON object');
  if (doc.schemaVersion !== 2) throw invalid('schemaVersion must be 2');
  const ct = contentType?.split(';')[0]?.trim();
  if (typeof doc.mediaType === 'string' && ct && isManifestMediaType(ct) && ct !== doc.mediaType) {
    throw invalid(`mediaType ${doc.mediaType} does not match Content-Type ${ct}`);
  }
  const mediaType = inferMediaType(doc, ct);
  if (!isManifestMediaType(mediaType)) throw invalid(`unsupported manifest media type ${JSON.stringify(mediaType).slice(0, 100)}`);
  const isIndex = isIndexMediaType(mediaType);
  const subject = doc.subject === undefined ? undefined : parseDescriptor(doc.subject, 'subject');
  if (doc.annotations !== undefined && !isStringMap(doc.annotations)) throw invalid('annotations must map strings to strings');
  if (doc.artifactType !== undefined && typeof doc.artifactType !== 'string') throw invalid('artifactType must be a string');
  const annotations = doc.annotations as Record<string, string> | undefined;

  if (isIndex) {
    if (!Array.isArray(doc.manifests)) throw invalid('index needs a manifests array');
    const manifests = doc.manifests.map((m, i) => parseDescriptor(m, `manifests[${i}]`));
    return {
      mediaType,
      isIndex,
      blobs: [],
      manifests,
      subject,
      artifactType: doc.artifactType as string | undefined,
      annotations,
      config: undefined,
    };
  }
  if (Array.isArray(doc.manifests)) throw invalid(`${mediaType} must not have a manifests array`);
  const config = parseDescriptor(doc.config, 'config');
  if (!Array.isArray(doc.layers)) throw invalid('manifest needs a layers array');
  const layers = doc.layers.map((l, i) => parseDescriptor(l, `layers[${i}]`));
  return {
    mediaType,
    isIndex,
    blobs: [config, ...layers],
    manifests: [],
    subject,
    artifactType: (doc.artifactType as string | undefined) ?? config.mediaType,
    annotations,
    config,
  };
}
