// The key types the PKI makes, apart from the code that makes them: the CLI names them in its help
// without loading @peculiar/x509 (whose schemas, held for the process's life, make V8 run full
// garbage collections while the registry streams blobs; see daemon/secure-mode.ts).
import { HelperError } from '../errors/helper-error.js';

/** KEY_ALGORITHMS are the key types the PKI makes; ECDSA P-256 is the default. */
export const KEY_ALGORITHMS = ['ecdsa-p256', 'rsa-2048', 'rsa-4096'] as const;

/** KeyAlgorithm names one of KEY_ALGORITHMS. */
export type KeyAlgorithm = (typeof KEY_ALGORITHMS)[number];

/** DEFAULT_KEY_ALGORITHM is ECDSA P-256: small, fast, and accepted by every client we target. */
export const DEFAULT_KEY_ALGORITHM: KeyAlgorithm = 'ecdsa-p256';

/** parseKeyAlgorithm checks a user's choice (`ecdsa-p256`, `rsa-2048`, `rsa-4096`; `ec`/`rsa` as short forms). */
export function parseKeyAlgorithm(text: string): KeyAlgorithm {
  const t = text.trim().toLowerCase();
  if (t === 'ec' || t === 'ecdsa' || t === 'p256' || t === 'p-256') return 'ecdsa-p256';
  if (t === 'rsa') return 'rsa-2048';
  if ((KEY_ALGORITHMS as readonly string[]).includes(t)) return t as KeyAlgorithm;
  throw new HelperError('usage', `unknown key algorithm ${JSON.stringify(text)} (use ${KEY_ALGORITHMS.join(', ')})`);
}
