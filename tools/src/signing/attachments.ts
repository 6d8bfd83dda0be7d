// Signatures on a registry, as cosign and containers/image keep them: the OCI manifest tagged
// `sha256-<hex>.sig` beside the image, one layer per signature (media type simple signing, the
// payload as blob, the signature in an annotation), its config listing the layers as diff_ids.
// Adding a signature appends a layer and keeps every other one, as containers/image's
// putSignaturesToSigstoreAttachments does (docker/docker_image_dest.go).
import { getBlob, pushBlob } from '../client/blobs.js';
import { getManifest, putManifest } from '../client/manifests.js';
import type { RegistrySession } from '../client/session.js';
import { readBody } from '../client/transport.js';
import { HelperError } from '../errors/helper-error.js';
import { bufferSource } from '../layout/layout.js';
import { digestOf, tryParseDigest } from '../oci/digest.js';
import type { Descriptor } from '../oci/manifest.js';
import { MEDIA_TYPES } from '../oci/mediatypes.js';
import { SIGNATURE_ANNOTATION, SIMPLE_SIGNING_MEDIA_TYPE, signatureTag } from './payload.js';

/** MAX_SIGNATURE_BYTES bounds a payload read back (containers/image's iolimits.MaxSignatureBodySize is 4 MiB). */
const MAX_SIGNATURE_BYTES = 4 * 1024 * 1024;

/** MAX_SIGNATURES bounds the signature layers read for one manifest: a hostile registry could list thousands. */
export const MAX_SIGNATURES = 64;

/** StoredSignature is one signature layer with its payload, untrusted until verified. */
export interface StoredSignature {
  layer: Descriptor;
  payload: Buffer;
  /** the base64 signature of the annotation; undefined when the layer has none */
  signature: string | undefined;
}

interface SignatureManifest {
  schemaVersion: 2;
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

function registryError(message: string): HelperError {
  return new HelperError('registry', message);
}

async function fetchSignatureManifest(s: RegistrySession, repository: string, digest: string): Promise<SignatureManifest | undefined> {
  const tag = signatureTag(digest);
  const got = await getManifest(s, repository, tag);
  if (!got) return undefined;
  if (got.mediaType !== MEDIA_TYPES.ociManifest) throw registryError(`${repository}:${tag} is ${got.mediaType}, not an OCI image manifest`);
  let doc: SignatureManifest;
  try {
    doc = JSON.parse(got.body.toString('utf8')) as SignatureManifest;
  } catch {
    throw registryError(`${repository}:${tag} is not JSON`);
  }
  if (typeof doc !== 'object' || doc === null || !doc.config || !Array.isArray(doc.layers))
    throw registryError(`${repository}:${tag} is not an image manifest`);
  return doc;
}

async function readBlob(s: RegistrySession, repository: string, d: Descriptor, max: number): Promise<Buffer> {
  if (typeof d.digest !== 'string' || !tryParseDigest(d.digest) || !Number.isSafeInteger(d.size) || d.size < 0) {
    throw registryError(`a signature manifest in ${repository} has a malformed descriptor`);
  }
  if (d.size > max) throw registryError(`${repository}@${d.digest} is ${d.size} bytes, more than the ${max} a signature may have`);
  const body = await readBody(await getBlob(s, repository, d.digest), max);
  if (digestOf(body) !== d.digest) throw registryError(`${repository}@${d.digest}: the registry sent content of another digest`);
  return body;
}

/**
 * readSignatures gives the signature layers of a manifest digest, their payloads fetched and
 * checked against their digests; an empty list when there is no `.sig` manifest.
 */
export async function readSignatures(s: RegistrySession, repository: string, digest: string): Promise<StoredSignature[]> {
  const manifest = await fetchSignatureManifest(s, repository, digest);
  if (!manifest) return [];
  const out: StoredSignature[] = [];
  const layers = manifest.layers.filter((l) => l?.mediaType === SIMPLE_SIGNING_MEDIA_TYPE);
  if (layers.length > MAX_SIGNATURES) {
    throw registryError(`${repository}:${signatureTag(digest)} lists ${layers.length} signatures, more than the ${MAX_SIGNATURES} read`);
  }
  for (const layer of layers) {
    const signature = layer.annotations?.[SIGNATURE_ANNOTATION];
    out.push({ layer, payload: await readBlob(s, repository, layer, MAX_SIGNATURE_BYTES), signature: typeof signature === 'string' ? signature : undefined });
  }
  return out;
}

/**
 * isSigned tells whether a manifest digest has at least one sigstore signature layer in its
 * `sha256-<hex>.sig` manifest (without checking it: that is verifyDigest's work). For the web UI.
 */
export async function isSigned(s: RegistrySession, repository: string, digest: string): Promise<boolean> {
  const manifest = await fetchSignatureManifest(s, repository, digest);
  return manifest?.layers.some((l) => l.mediaType === SIMPLE_SIGNING_MEDIA_TYPE && typeof l.annotations?.[SIGNATURE_ANNOTATION] === 'string') ?? false;
}

interface SignatureConfig {
  architecture?: string;
  os?: string;
  config?: Record<string, unknown>;
  rootfs: { type: string; diff_ids: string[] };
  [key: string]: unknown;
}

/**
 * appendSignature adds one signature (payload and its base64 signature) to the `.sig` manifest of
 * `digest`, keeping the signatures already there; the same payload signed the same way is not
 * added twice. Returns whether a layer was added.
 */
export async function appendSignature(s: RegistrySession, repository: string, digest: string, payload: Buffer, signature: string): Promise<boolean> {
  const existing = await fetchSignatureManifest(s, repository, digest);
  const payloadDigest = digestOf(payload);
  const annotations = { [SIGNATURE_ANNOTATION]: signature };
  if (existing?.layers.some((l) => l.digest === payloadDigest && l.annotations?.[SIGNATURE_ANNOTATION] === signature)) return false;
  let config: SignatureConfig = { architecture: '', os: '', config: {}, rootfs: { type: 'layers', diff_ids: [] } };
  if (existing) {
    let parsed: SignatureConfig;
    try {
      parsed = JSON.parse((await readBlob(s, repository, existing.config, MAX_SIGNATURE_BYTES)).toString('utf8')) as SignatureConfig;
    } catch (err) {
      if (err instanceof HelperError) throw err;
      throw registryError(`the config of ${repository}:${signatureTag(digest)} is not JSON`);
    }
    const diffIds = Array.isArray(parsed.rootfs?.diff_ids) ? parsed.rootfs.diff_ids.filter((d) => typeof d === 'string') : [];
    config = { ...parsed, rootfs: { type: 'layers', diff_ids: diffIds } };
  }
  await pushBlob(s, repository, bufferSource(payloadDigest, payload));
  config.rootfs.diff_ids.push(payloadDigest);
  const configBody = Buffer.from(JSON.stringify(config), 'utf8');
  const configDigest = digestOf(configBody);
  await pushBlob(s, repository, bufferSource(configDigest, configBody));
  const manifest: SignatureManifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociManifest,
    config: { mediaType: MEDIA_TYPES.ociConfig, digest: configDigest, size: configBody.length },
    layers: [...(existing?.layers ?? []), { mediaType: SIMPLE_SIGNING_MEDIA_TYPE, digest: payloadDigest, size: payload.length, annotations }],
  };
  if (existing?.annotations) manifest.annotations = existing.annotations;
  await putManifest(s, repository, signatureTag(digest), Buffer.from(JSON.stringify(manifest), 'utf8'), MEDIA_TYPES.ociManifest);
  return true;
}
