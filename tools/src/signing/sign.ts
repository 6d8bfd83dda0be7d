// Signing an image in a registry: resolve the reference to its manifest digest, and for that digest
// (and, for a multi-arch index, each platform's manifest too: podman and skopeo check the platform
// they pull, newer containers/image the index as well) append a signature whose payload names the
// digest and the image as it was named (`host:port/repository:tag`). A manifest that already has a
// valid signature by this key for this name is left as it is (ECDSA signatures differ each time).
import { createPublicKey, sign as signBytes, type KeyObject } from 'node:crypto';
import type { RegistrySession } from '../client/session.js';
import { appendSignature, readSignatures } from './attachments.js';
import { dockerReference, manifestsOf, type ManifestToCheck, type SignTarget } from './image.js';
import { encodePayload, parsePayload, signatureTag } from './payload.js';
import { checkSignature } from './verify.js';

/** SignedManifest is one manifest signed. */
export interface SignedManifest extends ManifestToCheck {
  /** the tag the signature went under (`sha256-<hex>.sig`) */
  signatureTag: string;
  /** false when a valid signature by this key for this name was there already */
  added: boolean;
}

/** SignResult is what signImage did. */
export interface SignResult {
  /** the docker-reference every payload names */
  identity: string;
  digest: string;
  signed: SignedManifest[];
}

async function alreadySigned(s: RegistrySession, repository: string, digest: string, identity: string, publicKey: KeyObject): Promise<boolean> {
  for (const sig of await readSignatures(s, repository, digest)) {
    if (checkSignature(publicKey, digest, identity, sig.payload, sig.signature) === undefined && parsePayload(sig.payload).reference === identity) return true;
  }
  return false;
}

/** signImage signs the manifest a reference names (and an index's platform manifests) with `key`. */
export async function signImage(s: RegistrySession, t: SignTarget, key: KeyObject, creator: string, now = new Date()): Promise<SignResult> {
  const manifests = await manifestsOf(s, t);
  const identity = dockerReference(t);
  const publicKey = createPublicKey(key);
  const signed: SignedManifest[] = [];
  for (const m of manifests) {
    let added = false;
    if (!(await alreadySigned(s, t.repository, m.digest, identity, publicKey))) {
      const payload = encodePayload({ digest: m.digest, reference: identity, creator, timestamp: Math.floor(now.getTime() / 1000) });
      // ECDSA over SHA-256, DER-encoded: what sigstore's verifier (ecdsa.VerifyASN1) takes.
      const signature = signBytes('sha256', payload, key).toString('base64');
      added = await appendSignature(s, t.repository, m.digest, payload, signature);
    }
    signed.push({ ...m, signatureTag: signatureTag(m.digest), added });
  }
  return { identity, digest: manifests[0]!.digest, signed };
}

/** PushedImage is what signPushed needs of a push's result (push/push.ts PushResult). */
export interface PushedImage {
  repository: string;
  tags: string[];
  /** the digest each tag was given by the push */
  tagDigests: Record<string, string>;
}

/**
 * signPushed signs every tag a push wrote, each under its own name (`host/repository:tag`), so a
 * pull by any of them is accepted; what is signed is the digest the push gave the tag, not what the
 * tag may name by now.
 */
export async function signPushed(s: RegistrySession, registryHost: string, pushed: PushedImage[], key: KeyObject, creator: string): Promise<SignResult[]> {
  const out: SignResult[] = [];
  for (const p of pushed) {
    for (const tag of p.tags) {
      out.push(await signImage(s, { registryHost, repository: p.repository, reference: tag, digest: p.tagDigests[tag] }, key, creator));
    }
  }
  return out;
}
