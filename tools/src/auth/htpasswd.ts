// The htpasswd users file, bcrypt only: the format Apache's `htpasswd -B` writes and CNCF
// distribution's htpasswd auth reads (registry/auth/htpasswd). One `user:hash` line per user.
import bcrypt from 'bcryptjs';

/** BCRYPT_COST is the work factor of new hashes (Apache's `htpasswd -B` default is 5; 10 is today's floor). */
export const BCRYPT_COST = 10;

/** HtpasswdEntry is one user and its hash. */
export interface HtpasswdEntry {
  user: string;
  hash: string;
}

/** USERNAME_PATTERN: letters, digits and `._@+-`; never `:` (the field separator) or white space. */
export const USERNAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$/;

/** isBcryptHash tells whether a hash is one this module (and distribution) can verify. */
export function isBcryptHash(hash: string): boolean {
  return /^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/.test(hash);
}

/** parseHtpasswd reads the file; blank lines and `#` comments are skipped, a later line for a user wins. */
export function parseHtpasswd(text: string): HtpasswdEntry[] {
  const byUser = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '').trim();
    if (!line || line.startsWith('#')) continue;
    const i = line.indexOf(':');
    if (i <= 0) continue;
    byUser.set(line.slice(0, i), line.slice(i + 1));
  }
  return [...byUser].map(([user, hash]) => ({ user, hash }));
}

/** formatHtpasswd writes entries one per line, in the order given. */
export function formatHtpasswd(entries: readonly HtpasswdEntry[]): string {
  return entries.map((e) => `${e.user}:${e.hash}\n`).join('');
}

/** hashPassword makes a `$2y$` bcrypt hash, as `htpasswd -B` does (bcryptjs writes `$2b$`, the same algorithm). */
export async function hashPassword(password: string, cost = BCRYPT_COST): Promise<string> {
  const hash = await bcrypt.hash(password, cost);
  return `$2y$${hash.slice(4)}`;
}

/** DUMMY_HASH is compared against when the user is unknown, so a wrong name costs as long as a wrong password. */
export const DUMMY_HASH = '$2y$10$OTwhR35elfF43rhNK6JF6.cQV8CZILcpgv8hSNmIXLfpB2eQHlsUC';

/** verifyHash checks a password against a bcrypt hash (bcrypt's own comparison is constant-time). */
export async function verifyHash(password: string, hash: string | undefined): Promise<boolean> {
  if (hash === undefined || !isBcryptHash(hash)) {
    await bcrypt.compare(password, DUMMY_HASH);
    return false;
  }
  return bcrypt.compare(password, hash);
}
