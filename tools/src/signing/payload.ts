// The sigstore "simple signing" payload cosign writes and containers/image (podman, skopeo) checks,
// and where a signature lives: an OCI manifest tagged `sha256-<hex>.sig` in the image's repository,
// one layer per signature, the payload as the layer blob and the base64 signature in an annotation.
// https://github.com/sigstore/cosign/blob/main/specs/SIGNATURE_SPEC.md
// containers/image signature/internal/sigstore_payload.go (the parser this one mirrors) and
// docker/docker_client.go sigstoreAttachmentTag.
import { parseDigest } from '../oci/digest.js';

/** SIMPLE_SIGNING_MEDIA_TYPE is the media type of a signature layer (containers/image SigstoreSignatureMIMEType). */
export const SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';

/** SIGNATURE_ANNOTATION holds a layer's base64 signature of its payload (containers/image SigstoreSignatureAnnotationKey). */
export const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';

/** SIGNATURE_TYPE is the payload's critical.type, the only one verifiers accept. */
export const SIGNATURE_TYPE = 'cosign container image signature';

/** SimpleSigningPayload is what a payload says: the manifest digest and the image name it was signed for. */
export interface SimpleSigningPayload {
  /** critical.image.docker-manifest-digest */
  digest: string;
  /** critical.identity.docker-reference, e.g. `localhost:5000/yocto/app:v1` */
  reference: string;
  /** optional.creator */
  creator?: string;
  /** optional.timestamp, seconds since the epoch */
  timestamp?: number;
}

/** signatureTag is the tag of a manifest's signatures: `sha256:<hex>` becomes `sha256-<hex>.sig`. */
export function signatureTag(digest: string): string {
  const d = parseDigest(digest);
  return `${d.algorithm}-${d.hex}.sig`;
}

/**
 * encodePayload writes a payload as the bytes that are signed. containers/image parses
 * `critical` and its objects with exact fields, so nothing else goes there; `optional` is free.
 */
export function encodePayload(p: SimpleSigningPayload): Buffer {
  const optional: Record<string, string | number> = {};
  if (p.creator !== undefined) optional.creator = p.creator;
  if (p.timestamp !== undefined) optional.timestamp = p.timestamp;
  const doc = {
    critical: {
      identity: { 'docker-reference': p.reference },
      image: { 'docker-manifest-digest': p.digest },
      type: SIGNATURE_TYPE,
    },
    optional,
  };
  return Buffer.from(JSON.stringify(doc), 'utf8');
}

/** PayloadError says why a payload is not one verifiers accept. */
export class PayloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PayloadError';
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function exactFields(v: unknown, where: string, fields: readonly string[]): Record<string, unknown> {
  if (!isObject(v)) throw new PayloadError(`${where} is not a JSON object`);
  const keys = Object.keys(v);
  const extra = keys.filter((k) => !fields.includes(k));
  const missing = fields.filter((k) => !keys.includes(k));
  if (extra.length) throw new PayloadError(`${where} has unknown field ${JSON.stringify(extra[0])}`);
  if (missing.length) throw new PayloadError(`${where} lacks field ${JSON.stringify(missing[0])}`);
  return v;
}

function stringField(o: Record<string, unknown>, key: string, where: string): string {
  const v = o[key];
  if (typeof v !== 'string') throw new PayloadError(`${where}.${key} is not a string`);
  return v;
}

/**
 * parsePayload reads a payload as strictly as containers/image does: `critical` and `optional`
 * only at the top, exactly `type`, `image` and `identity` in `critical`, the one signature type.
 * It says nothing about whether the payload is signed: check the signature first.
 */
export function parsePayload(bytes: Buffer): SimpleSigningPayload {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new PayloadError('the payload is not JSON');
  }
  const top = exactFields(doc, 'the payload', ['critical', 'optional']);
  const critical = exactFields(top.critical, 'critical', ['type', 'image', 'identity']);
  if (critical.type !== SIGNATURE_TYPE) throw new PayloadError(`unknown signature type ${JSON.stringify(critical.type)}`);
  const digest = stringField(exactFields(critical.image, 'critical.image', ['docker-manifest-digest']), 'docker-manifest-digest', 'critical.image');
  const reference = stringField(exactFields(critical.identity, 'critical.identity', ['docker-reference']), 'docker-reference', 'critical.identity');
  const result: SimpleSigningPayload = { digest, reference };
  // cosign writes "optional": null when it has nothing to add.
  if (top.optional !== null) {
    if (!isObject(top.optional)) throw new PayloadError('optional is not a JSON object');
    if (typeof top.optional.creator === 'string') result.creator = top.optional.creator;
    if (typeof top.optional.timestamp === 'number') {
      if (!Number.isInteger(top.optional.timestamp)) throw new PayloadError('optional.timestamp is not an integer');
      result.timestamp = top.optional.timestamp;
    }
  }
  return result;
}
