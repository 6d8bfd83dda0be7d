// The image signing key of a storage directory: ECDSA P-256 (what cosign makes and containers/image
// verifies), created on request by `pki signing-key`, never replaced behind the user's back (targets
// and policies hold its public key). The private key is written 0600 from its first byte and never
// leaves this module but as a KeyObject; the public key is PEM beside it.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { HelperError } from '../errors/helper-error.js';
import { StateDir } from '../state/state-dir.js';

/** SigningKeyFiles names the two files of the signing key. */
export interface SigningKeyFiles {
  privateKey: string;
  publicKey: string;
}

/** SigningKeyResult tells what ensureSigningKey did. */
export interface SigningKeyResult {
  created: boolean;
  files: SigningKeyFiles;
}

function isP256(key: KeyObject): boolean {
  return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
}

/**
 * ensureSigningKey creates `pki/signing.key` (0600) and `pki/signing.pub` (0644) when the key is
 * missing; an existing key is kept, and its public key written again when missing or different.
 */
export async function ensureSigningKey(storageDir: StateDir | string): Promise<SigningKeyResult> {
  const state = StateDir.of(storageDir);
  await state.makeDir(state.pkiDir(), 0o700);
  return state.locked(state.pkiDir(), async () => {
    const files = { privateKey: state.signingKey(), publicKey: state.signingPublicKey() };
    const existing = await state.readText(files.privateKey, 'pki-read');
    let privatePem = existing;
    if (privatePem === undefined) {
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
      await state.writeFile(files.privateKey, privatePem, 0o600);
    }
    const publicPem = publicKeyPem(parsePrivateKey(privatePem, files.privateKey));
    if ((await state.readText(files.publicKey, 'pki-read')) !== publicPem) await state.writeFile(files.publicKey, publicPem, 0o644);
    return { created: existing === undefined, files };
  });
}

function parsePrivateKey(pem: string, path: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    // The message names the file, never its content.
    throw new HelperError('pki-read', `${path} is not a PEM private key`);
  }
  if (!isP256(key)) throw new HelperError('pki-key', `${path} is not an ECDSA P-256 key (signatures podman and skopeo check are ECDSA P-256 here)`);
  return key;
}

/** publicKeyPem is a key's public half as SPKI PEM (`-----BEGIN PUBLIC KEY-----`), what cosign and containers/image read. */
export function publicKeyPem(key: KeyObject): string {
  return createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString();
}

async function readKeyFile(path: string, missing: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new HelperError('signing-key-missing', missing);
    throw new HelperError('pki-read', `cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { cause: err });
  }
}

/** loadSigningKey reads a private signing key (PEM); missing, the error names the command that makes it. */
export async function loadSigningKey(path: string, command = 'container-registry pki signing-key'): Promise<KeyObject> {
  const pem = await readKeyFile(path, `no signing key ${path}: create it with \`${command}\`, or give --key FILE`);
  return parsePrivateKey(pem, path);
}

/** loadPublicKey reads a public key (SPKI PEM, or a private key's public half). */
export async function loadPublicKey(path: string, command = 'container-registry pki signing-key'): Promise<KeyObject> {
  const pem = await readKeyFile(path, `no public key ${path}: create the signing key with \`${command}\`, or give --key FILE`);
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    throw new HelperError('pki-read', `${path} is not a PEM public key`);
  }
  if (!isP256(key)) throw new HelperError('pki-key', `${path} is not an ECDSA P-256 public key`);
  return key;
}

/**
 * dsseSigner signs a DSSE envelope's pre-authentication encoding (supply/provenance.ts) with the
 * signing key: ECDSA over SHA-256, the signature DER (DSSE's ECDSA form); keyid is the SHA-256 of the
 * public key (SPKI DER), so a verifier holding several keys knows which one.
 */
export function dsseSigner(key: KeyObject): (pae: Buffer) => Promise<{ keyid: string; sig: string }> {
  const keyid = createHash('sha256')
    .update(createPublicKey(key).export({ type: 'spki', format: 'der' }))
    .digest('hex');
  return async (pae) => ({ keyid, sig: sign('sha256', pae, key).toString('base64') });
}
