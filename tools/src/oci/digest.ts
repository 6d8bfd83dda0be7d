// Content digests: `algorithm:encoded`, as the OCI image spec defines them.
// https://github.com/opencontainers/image-spec/blob/v1.1.0/descriptor.md#digests
import { createHash, type Hash } from 'node:crypto';
import { RegistryError } from './errors.js';

/** DigestAlgorithm is a registered algorithm this registry verifies. */
export type DigestAlgorithm = 'sha256' | 'sha512';

/** Digest is a parsed, validated digest. */
export interface Digest {
  algorithm: DigestAlgorithm;
  hex: string;
}

const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };
// The grammar of the spec, checked before the algorithm is known.
const DIGEST_GRAMMAR = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/** isDigestAlgorithm tells whether `name` is an algorithm we can verify. */
export function isDigestAlgorithm(name: string): name is DigestAlgorithm {
  return name === 'sha256' || name === 'sha512';
}

/** parseDigest validates `text`; a bad or unsupported digest is DIGEST_INVALID. */
export function parseDigest(text: string): Digest {
  if (!DIGEST_GRAMMAR.test(text)) throw new RegistryError('DIGEST_INVALID', `invalid digest: ${clip(text)}`);
  const colon = text.indexOf(':');
  const algorithm = text.slice(0, colon);
  const hex = text.slice(colon + 1);
  if (!isDigestAlgorithm(algorithm)) {
    throw new RegistryError('DIGEST_INVALID', `unsupported digest algorithm: ${clip(algorithm)}`);
  }
  if (hex.length !== HEX_LENGTH[algorithm] || !/^[a-f0-9]+$/.test(hex)) {
    throw new RegistryError('DIGEST_INVALID', `invalid ${algorithm} digest: ${clip(text)}`);
  }
  return { algorithm, hex };
}

/** tryParseDigest is parseDigest that answers undefined instead of throwing. */
export function tryParseDigest(text: string): Digest | undefined {
  try {
    return parseDigest(text);
  } catch {
    return undefined;
  }
}

/** formatDigest gives the `algorithm:hex` text. */
export function formatDigest(d: Digest): string {
  return `${d.algorithm}:${d.hex}`;
}

/** digestOf hashes a buffer with `algorithm` (sha256 by default). */
export function digestOf(data: Buffer | string, algorithm: DigestAlgorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`;
}

/** newHasher starts an incremental hash for `algorithm`. */
export function newHasher(algorithm: DigestAlgorithm): Hash {
  return createHash(algorithm);
}

function clip(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
