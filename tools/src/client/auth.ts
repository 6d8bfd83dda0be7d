// Auth as layers, the handshake in one place (after go-containerregistry transport.go/bearer.go):
//   1. ping GET /v2/: 200 → no auth; 401 → read WWW-Authenticate
//   2. Basic challenge → every request carries Basic user:password
//   3. Bearer challenge → GET realm?service=..&scope=.. (Basic credentials if we have any)
//      gives a token per scope set; it is cached until it expires
//   4. a later 401 (token expired, scope too narrow) → drop the cached token, exchange again with
//      the scopes the challenge names added, and retry the request once
// https://distribution.github.io/distribution/spec/auth/token/
import type { Credential } from './credentials.js';
import { type HttpTransport, readBody, type HttpResponse } from './transport.js';
import { RegistryHttpError, parseDiagnostics } from './errors.js';

/** Challenge is one parsed WWW-Authenticate challenge. */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** parseChallenges reads a WWW-Authenticate header (several challenges, quoted params with commas). */
export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  const text = Array.isArray(header) ? header.join(', ') : header;
  const out: Challenge[] = [];
  let i = 0;
  const skip = (chars: string) => {
    while (i < text.length && chars.includes(text[i]!)) i++;
  };
  while (i < text.length) {
    skip(' \t,');
    const m = /^[A-Za-z0-9_.!#$%&'*+^`|~-]+/.exec(text.slice(i));
    if (!m) {
      i++;
      continue;
    }
    const word = m[0];
    i += word.length;
    skip(' \t');
    if (text[i] !== '=') {
      out.push({ scheme: word.toLowerCase(), params: {} });
      continue;
    }
    i++;
    skip(' \t');
    let value = '';
    if (text[i] === '"') {
      i++;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === '\\') i++;
        value += text[i] ?? '';
        i++;
      }
      i++;
    } else {
      value = /^[^,\s]*/.exec(text.slice(i))![0];
      i += value.length;
    }
    if (out.length) out[out.length - 1]!.params[word.toLowerCase()] = value;
  }
  return out;
}

/** repositoryScope is the token scope for `actions` on a repository. */
export function repositoryScope(repository: string, actions: string): string {
  return `repository:${repository}:${actions}`;
}

/** CATALOG_SCOPE is the scope distribution asks for /v2/_catalog. */
export const CATALOG_SCOPE = 'registry:catalog:*';

interface CachedToken {
  token: string;
  expires: number;
}

interface TokenEntry {
  promise: Promise<CachedToken>;
  /** known once the exchange answered */
  expires: number | undefined;
}

/** Authorizer holds one registry's challenge, credential and token cache. */
export class Authorizer {
  private challenge: Challenge | undefined;
  private readonly tokens = new Map<string, TokenEntry>();
  private credential: Promise<Credential | undefined> | undefined;

  constructor(
    private readonly transport: HttpTransport,
    private readonly host: string,
    private readonly lookup: (host: string) => Promise<Credential | undefined>,
  ) {}

  /** scheme is the registry's auth scheme once pinged: 'basic', 'bearer' or undefined (none). */
  get scheme(): string | undefined {
    return this.challenge?.scheme;
  }

  private cred(): Promise<Credential | undefined> {
    return (this.credential ??= this.lookup(this.host));
  }

  /** learn records the challenge of a 401 (step 1, and again on every later 401). */
  learn(res: HttpResponse): Challenge | undefined {
    const challenges = parseChallenges(res.headers['www-authenticate']);
    const chosen = challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
    if (chosen) this.challenge = chosen;
    return chosen;
  }

  /** header gives the Authorization value for a request needing `scopes` (steps 2 and 3). */
  async header(scopes: string[]): Promise<string | undefined> {
    const c = this.challenge;
    if (!c) return undefined;
    const cred = await this.cred();
    if (c.scheme === 'basic') {
      if (!cred) return undefined;
      return `Basic ${basic(cred)}`;
    }
    if (c.scheme === 'bearer') {
      const token = await this.token(scopes);
      return `Bearer ${token}`;
    }
    return undefined;
  }

  /** retryAfter401 takes a 401 and tells whether retrying with fresh credentials may help (step 4). */
  async retryAfter401(res: HttpResponse, scopes: string[]): Promise<string[] | undefined> {
    const before = this.challenge;
    const c = this.learn(res);
    if (!c) return undefined;
    if (c.scheme === 'basic') {
      // A Basic registry that refused our Basic header will refuse it again.
      if (before?.scheme === 'basic' || !(await this.cred())) return undefined;
      return scopes;
    }
    const wanted = new Set(scopes);
    if (c.params.scope) for (const s of c.params.scope.split(' ')) if (s) wanted.add(s);
    this.tokens.delete(key(c, scopes));
    this.tokens.delete(key(c, [...wanted]));
    return [...wanted];
  }

  private token(scopes: string[]): Promise<string> {
    const c = this.challenge!;
    const k = key(c, scopes);
    // Decided synchronously, so parallel requests share one exchange instead of racing to start several.
    const entry = this.tokens.get(k);
    if (entry && (entry.expires === undefined || entry.expires > Date.now() + 5_000)) return entry.promise.then((t) => t.token);
    const fresh: TokenEntry = { promise: this.exchange(c, scopes), expires: undefined };
    this.tokens.set(k, fresh);
    fresh.promise.then(
      (t) => (fresh.expires = t.expires),
      () => {
        if (this.tokens.get(k) === fresh) this.tokens.delete(k);
      },
    );
    return fresh.promise.then((t) => t.token);
  }

  /** exchange asks the token server for a token (anonymous, or with our credential). */
  private async exchange(c: Challenge, scopes: string[]): Promise<CachedToken> {
    const realm = c.params.realm;
    if (!realm) throw new Error(`${this.host}: Bearer challenge without a realm`);
    const url = new URL(realm);
    if (c.params.service) url.searchParams.set('service', c.params.service);
    for (const s of [...new Set(scopes)].sort()) url.searchParams.append('scope', s);
    const cred = await this.cred();
    const tryWith = async (authorization: string | undefined): Promise<HttpResponse> =>
      this.transport.send({ method: 'GET', url, headers: authorization ? { Authorization: authorization } : {} });
    const res = await tryWith(cred ? `Basic ${basic(cred)}` : undefined);
    if ((res.status === 401 || res.status === 403) && cred?.kind === 'token') {
      // A registry token (skopeo --registry-token) is itself the Bearer token.
      await readBody(res).catch(() => undefined);
      return { token: cred.token, expires: Date.now() + 3600_000 };
    }
    const body = await readBody(res).catch(() => Buffer.alloc(0));
    if (res.status !== 200) {
      const why = res.status === 401 || res.status === 403 ? (cred ? 'credentials rejected' : 'credentials required') : 'token request failed';
      throw new RegistryHttpError({
        status: res.status,
        method: 'GET',
        url,
        diagnostics: parseDiagnostics(body.toString('utf8')),
        message: why,
        retryable: res.status >= 500 || res.status === 429,
      });
    }
    let doc: { token?: string; access_token?: string; expires_in?: number };
    try {
      doc = JSON.parse(body.toString('utf8')) as typeof doc;
    } catch {
      throw new Error(`token server ${url.origin} answered something that is not JSON`);
    }
    const token = doc.token ?? doc.access_token;
    if (!token) throw new Error(`token server ${url.origin} answered no token`);
    // The spec's default lifetime is 60 s when expires_in is absent.
    const seconds = typeof doc.expires_in === 'number' && doc.expires_in > 0 ? doc.expires_in : 60;
    return { token, expires: Date.now() + seconds * 1000 };
  }
}

function key(c: Challenge, scopes: string[]): string {
  return `${c.params.realm}|${c.params.service}|${[...new Set(scopes)].sort().join(' ')}`;
}

function basic(cred: Credential): string {
  const user = cred.kind === 'basic' ? cred.username : (cred.username ?? 'token');
  const pass = cred.kind === 'basic' ? cred.password : cred.token;
  return Buffer.from(`${user}:${pass}`).toString('base64');
}
