// Key pairs for the CA and the server certificate, on Node's webcrypto. Keys leave this module only
// as PKCS#8 PEM (what node:tls, openssl and distribution read) and come back through importKeyPem.
import { webcrypto, createPrivateKey } from 'node:crypto';
import { x509 } from './x509.js';
import { HelperError } from '../errors/helper-error.js';
import { KEY_ALGORITHMS, type KeyAlgorithm } from './algorithms.js';

export { KEY_ALGORITHMS, DEFAULT_KEY_ALGORITHM, parseKeyAlgorithm, type KeyAlgorithm } from './algorithms.js';

/** signingParams is the webcrypto algorithm for generating, importing and signing with a key type. */
export function signingParams(alg: KeyAlgorithm): RsaHashedKeyGenParams | EcKeyGenParams {
  if (alg === 'ecdsa-p256') return { name: 'ECDSA', namedCurve: 'P-256' };
  return {
    name: 'RSASSA-PKCS1-v1_5',
    modulusLength: alg === 'rsa-4096' ? 4096 : 2048,
    publicExponent: new Uint8Array([1, 0, 1]),
    hash: 'SHA-256',
  };
}

/** certSigningAlgorithm is what a certificate is signed with, for the issuer's key type (always SHA-256). */
export function certSigningAlgorithm(alg: KeyAlgorithm): Algorithm | EcdsaParams {
  return alg === 'ecdsa-p256' ? ({ name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams) : { name: 'RSASSA-PKCS1-v1_5' };
}

/** generateKeyPair makes a new extractable key pair of the given type. */
export async function generateKeyPair(alg: KeyAlgorithm): Promise<CryptoKeyPair> {
  const params = signingParams(alg);
  return (await webcrypto.subtle.generateKey(params, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
}

/** exportKeyPem writes a private key as PKCS#8 PEM. */
export async function exportKeyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key as webcrypto.CryptoKey);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

/** keyAlgorithmOfPem tells the type of a PEM private key (PKCS#8, or the legacy EC/RSA forms openssl writes). */
export function keyAlgorithmOfPem(pem: string): KeyAlgorithm {
  const key = createPrivateKey(pem);
  const d = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'ec' && d.namedCurve === 'prime256v1') return 'ecdsa-p256';
  if (key.asymmetricKeyType === 'rsa' && d.modulusLength === 2048) return 'rsa-2048';
  if (key.asymmetricKeyType === 'rsa' && d.modulusLength === 4096) return 'rsa-4096';
  const what = key.asymmetricKeyType === 'rsa' ? `rsa-${d.modulusLength}` : `${key.asymmetricKeyType} ${d.namedCurve ?? ''}`.trim();
  throw new HelperError('pki-key', `unsupported private key type ${what} (supported: ${KEY_ALGORITHMS.join(', ')})`);
}

/** importKeyPem reads a PEM private key for signing, whatever form openssl or we wrote it in. */
export async function importKeyPem(pem: string): Promise<{ key: CryptoKey; algorithm: KeyAlgorithm }> {
  const algorithm = keyAlgorithmOfPem(pem);
  // Re-export through node:crypto so PKCS#1 and SEC1 keys (openssl's defaults) import as PKCS#8.
  const der = createPrivateKey(pem).export({ type: 'pkcs8', format: 'der' });
  const key = await webcrypto.subtle.importKey('pkcs8', der, signingParams(algorithm), false, ['sign']);
  return { key: key as unknown as CryptoKey, algorithm };
}
