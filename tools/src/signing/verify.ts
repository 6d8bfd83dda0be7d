// Verifying an image's signatures the way containers/image's sigstoreSigned policy does
// (signature/policy_eval_sigstore.go): a signature is accepted when it is a valid ECDSA-SHA256
// signature of its payload by the key, the payload names the manifest's digest, and its
// docker-reference matches the image as named (matchRepoDigestOrExact: the same tag for a tag, the
// same repository for a digest). One accepted signature is enough; every reason is kept for the
// message otherwise. A multi-arch index and each of its platform manifests are checked.
import { verify as verifyBytes, type KeyObject } from 'node:crypto';
import type { RegistrySession } from '../client/session.js';
import { HelperError } from '../errors/helper-error.js';
import { readSignatures } from './attachments.js';
import { parsePayload, PayloadError, signatureTag } from './payload.js';
import { dockerReference, manifestsOf, type SignTarget } from './image.js';

/** VerifiedManifest is the outcome for one manifest digest. */
export interface VerifiedManifest {
  digest: string;
  platform: string | undefined;
  /** signature layers found */
  signatures: number;
  /** the docker-reference of the accepted signature; undefined when none was accepted */
  acceptedIdentity: string | undefined;
  /** why each signature was refused (empty when one was accepted) */
  reasons: string[];
}

/** VerifyResult is verifyImage's report. */
export interface VerifyResult {
  image: string;
  digest: string;
  manifests: VerifiedManifest[];
}

function nameOf(reference: string): string {
  const at = reference.indexOf('@');
  if (at >= 0) return reference.slice(0, at);
  const colon = reference.lastIndexOf(':');
  return colon > reference.lastIndexOf('/') ? reference.slice(0, colon) : reference;
}

/** identityMatches is containers/image's matchRepoDigestOrExact for `intended` (what the image is called) and a signed reference. */
export function identityMatches(intended: string, signed: string): boolean {
  const signedNameOnly = nameOf(signed) === signed;
  if (signedNameOnly) return false;
  if (intended.includes('@')) return nameOf(intended) === nameOf(signed);
  return intended === signed;
}

/** checkSignature says why one signature is refused for `digest` named `intended`, or undefined when it is accepted. */
export function checkSignature(key: KeyObject, digest: string, intended: string, payload: Buffer, signature: string | undefined): string | undefined {
  if (signature === undefined) return 'the layer has no dev.cosignproject.cosign/signature annotation';
  let ok = false;
  try {
    ok = verifyBytes('sha256', payload, key, Buffer.from(signature, 'base64'));
  } catch {
    ok = false;
  }
  if (!ok) return 'the signature does not match its payload for this key (another key, or the payload was changed)';
  let p;
  try {
    p = parsePayload(payload);
  } catch (err) {
    if (err instanceof PayloadError) return `the payload is not a simple signing payload: ${err.message}`;
    throw err;
  }
  if (p.digest !== digest) return `the signature is for ${p.digest}, not ${digest}`;
  if (!identityMatches(intended, p.reference)) return `the signature is for ${p.reference}, not ${intended}`;
  return undefined;
}

/** verifyDigest checks the signatures of one manifest digest for the image named `intended`. */
export async function verifyDigest(
  s: RegistrySession,
  repository: string,
  digest: string,
  intended: string,
  key: KeyObject,
): Promise<Omit<VerifiedManifest, 'platform'>> {
  const sigs = await readSignatures(s, repository, digest);
  const reasons: string[] = [];
  for (const sig of sigs) {
    const reason = checkSignature(key, digest, intended, sig.payload, sig.signature);
    if (reason === undefined) return { digest, signatures: sigs.length, acceptedIdentity: parsePayload(sig.payload).reference, reasons: [] };
    reasons.push(reason);
  }
  return { digest, signatures: sigs.length, acceptedIdentity: undefined, reasons };
}

/**
 * verifyImage checks the image a reference names (an index and each platform manifest) and
 * throws `unsigned` or `bad-signature` naming every manifest that fails; else it returns the report.
 */
export async function verifyImage(s: RegistrySession, t: SignTarget, key: KeyObject): Promise<VerifyResult> {
  const intended = dockerReference(t);
  const manifests: VerifiedManifest[] = [];
  for (const m of await manifestsOf(s, t)) manifests.push({ ...(await verifyDigest(s, t.repository, m.digest, intended, key)), platform: m.platform });
  const failed = manifests.filter((m) => m.acceptedIdentity === undefined);
  if (failed.length) {
    const what = (m: VerifiedManifest) => `${m.platform ? `${m.platform} ` : ''}${m.digest}`;
    const unsigned = failed.filter((m) => m.signatures === 0);
    const lines = failed.map((m) =>
      m.signatures === 0 ? `${what(m)}: no signature (${t.repository}:${signatureTag(m.digest)} has none)` : `${what(m)}: ${m.reasons.join('; ')}`,
    );
    const code = unsigned.length === failed.length ? 'unsigned' : 'bad-signature';
    const head = code === 'unsigned' ? `${intended} is not signed` : `${intended} has no valid signature for this key`;
    throw new HelperError(code, `${head}: ${lines.join(' | ')}`);
  }
  return { image: intended, digest: manifests[0]!.digest, manifests };
}
