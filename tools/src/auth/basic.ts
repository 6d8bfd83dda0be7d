// The Authorization header (RFC 7617 Basic). The parsed password lives only in the caller's stack.

/** Credentials are what a request presents. */
export type Credentials =
  | { kind: 'none' }
  | { kind: 'basic'; user: string; password: string }
  /** a header we cannot use: another scheme, bad base64, no colon */
  | { kind: 'invalid' };

/**
 * parseAuthorization reads a Basic header. `Basic Og==` (empty user and password) counts as none:
 * containers/image sends it once a registry has answered with a Basic challenge and it has no
 * credentials, and such a client must still pull what anonymous users may.
 */
export function parseAuthorization(header: string | undefined): Credentials {
  if (header === undefined || header.trim() === '') return { kind: 'none' };
  const m = /^Basic[ \t]+([A-Za-z0-9+/]+={0,2})[ \t]*$/i.exec(header);
  if (!m) return { kind: 'invalid' };
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) return { kind: 'invalid' };
  const user = decoded.slice(0, i);
  const password = decoded.slice(i + 1);
  if (user === '' && password === '') return { kind: 'none' };
  return { kind: 'basic', user, password };
}

/** basicChallenge is the WWW-Authenticate value of a 401. */
export function basicChallenge(realm: string): string {
  return `Basic realm="${realm.replace(/["\\]/g, '')}", charset="UTF-8"`;
}
