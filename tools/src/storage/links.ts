// Link files: a small file holding one digest, as distribution writes them (no newline).
import type { StorageDriver } from './driver.js';
import { PathNotFound } from './driver.js';
import { parseDigest, type Digest } from '../oci/digest.js';

/** readLink returns the digest a link file holds, or undefined when the link is missing or unreadable. */
export async function readLink(driver: StorageDriver, path: string): Promise<Digest | undefined> {
  try {
    const text = (await driver.readFile(path)).toString('utf8').trim();
    return parseDigest(text);
  } catch (err) {
    if (err instanceof PathNotFound) return undefined;
    // A link with garbage in it is treated as absent rather than failing the request.
    if ((err as { code?: string }).code === 'DIGEST_INVALID') return undefined;
    throw err;
  }
}

/** writeLink writes a link file atomically. */
export async function writeLink(driver: StorageDriver, path: string, d: Digest): Promise<void> {
  await driver.writeFileAtomic(path, `${d.algorithm}:${d.hex}`);
}
