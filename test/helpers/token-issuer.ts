// A small token server for distribution's `auth: token` (the Bearer flow GHCR and Docker Hub use):
// checks Basic credentials, signs RS256 JWTs whose x5c is a self-signed test certificate that the
// registry trusts through `rootcertbundle`. Test-only; the key lives in a temp dir.
import { createServer, type IncomingMessage } from 'node:http';
import { createPrivateKey, createSign, randomBytes, X509Certificate } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** TokenIssuer is a running token server. */
export interface TokenIssuer {
  realm: string;
  service: string;
  issuer: string;
  certPath: string;
  /** scopes asked for, one entry per token request */
  requests: Array<{ user: string | undefined; scopes: string[] }>;
  /** the next `n` tokens are issued already expired (the registry will answer 401) */
  expireNext(n: number): void;
  close(): Promise<void>;
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/** startTokenIssuer makes a key and certificate with openssl and serves /token on a free port. */
export async function startTokenIssuer(
  t: { teardown(fn: () => unknown): void },
  dir: string,
  users: Record<string, string>,
  opts: { tokens?: string[] } = {},
): Promise<TokenIssuer> {
  const keyPath = join(dir, 'token.key');
  const certPath = join(dir, 'token.crt');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '2', '-subj', '/CN=test-token-issuer'],
    { stdio: 'pipe' },
  );
  const key = createPrivateKey(readFileSync(keyPath));
  const der = new X509Certificate(readFileSync(certPath)).raw;
  const service = 'test-registry';
  const issuer = 'test-issuer';
  const requests: TokenIssuer['requests'] = [];
  let expired = 0;
  const check = (req: IncomingMessage): { ok: boolean; user: string | undefined } => {
    const h = req.headers.authorization;
    if (!h?.startsWith('Basic ')) return { ok: false, user: undefined };
    const text = Buffer.from(h.slice(6), 'base64').toString();
    const i = text.indexOf(':');
    const user = text.slice(0, i);
    const pass = text.slice(i + 1);
    if (users[user] !== undefined && users[user] === pass) return { ok: true, user };
    if (opts.tokens?.includes(pass)) return { ok: true, user: `token-user-${user}` };
    return { ok: false, user };
  };
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const scopes = url.searchParams.getAll('scope');
    const who = check(req);
    requests.push({ user: who.user, scopes });
    if (!who.ok) {
      res.writeHead(401, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] }));
      return;
    }
    const now = Math.floor(Date.now() / 1000);
    const shift = expired > 0 ? -600 : 0;
    if (expired > 0) expired--;
    const access = scopes
      .flatMap((s) => s.split(' '))
      .filter(Boolean)
      .map((s) => {
        const parts = s.split(':');
        return { type: parts[0], name: parts.slice(1, -1).join(':'), actions: parts[parts.length - 1]!.split(',') };
      });
    const header = { alg: 'RS256', typ: 'JWT', x5c: [der.toString('base64')] };
    const claims = {
      iss: issuer,
      sub: who.user,
      aud: service,
      exp: now + 300 + shift,
      nbf: now - 10 + shift,
      iat: now + shift,
      jti: randomBytes(8).toString('hex'),
      access,
    };
    const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const sig = createSign('RSA-SHA256').update(signingInput).sign(key);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ token: `${signingInput}.${b64url(sig)}`, expires_in: 300, issued_at: new Date().toISOString() }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const close = () => new Promise<void>((r) => server.close(() => r()));
  t.teardown(close);
  return { realm: `http://127.0.0.1:${port}/token`, service, issuer, certPath, requests, expireNext: (n) => (expired = n), close };
}
