// Whether an image of the registry's own storage is signed, for the server side (the web UI):
// the same question as attachments.ts isSigned, asked of the image store instead of over HTTP.
import type { ImageStore } from '../storage/store.js';
import { formatDigest } from '../oci/digest.js';
import { SIGNATURE_ANNOTATION, SIMPLE_SIGNING_MEDIA_TYPE, signatureTag } from './payload.js';

/**
 * isSignedInStore tells whether manifest `digest` of `repository` has a `sha256-<hex>.sig` manifest
 * with at least one sigstore signature layer. It does not check the signature (no key is needed):
 * `container-registry verify` does. Any storage error reads as not signed.
 */
export async function isSignedInStore(store: ImageStore, repository: string, digest: string): Promise<boolean> {
  try {
    const d = await store.manifests.resolve(repository, signatureTag(digest));
    if (!d) return false;
    const m = await store.manifests.get(repository, formatDigest(d));
    return m.parsed.blobs.some((b) => b.mediaType === SIMPLE_SIGNING_MEDIA_TYPE && typeof b.annotations?.[SIGNATURE_ANNOTATION] === 'string');
  } catch {
    return false;
  }
}
