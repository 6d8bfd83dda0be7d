// The access controller of secure mode: Basic credentials checked against auth/htpasswd, the
// pull/push policy applied, guessing slowed down. Both files are re-read when they change on disk,
// so `auth add` or an edited access.toml takes effect without a restart.
//
// A login is decided in this order (no rule ever stores a password, only an HMAC of user, hash and
// password under a key made at start, so the entries die with the process):
//   1. A credential verified in the last 5 minutes against the same hash is accepted at once. It
//      costs no bcrypt, so it skips the limiter: on a build host where every client is 127.0.0.1,
//      a client with a wrong password cannot lock out one that logged in (a push is hundreds of
//      requests; one comparison covers them all).
//   2. A credential that failed against the same hash in the last hour is refused (401) at once,
//      neither compared nor counted: a misconfigured client retrying one wrong password learns
//      nothing new, and does not lock its user or its address for everyone else.
//   3. Requests with the same credential arriving together share one comparison.
//   4. Anything else reserves an attempt from the limiter (limiter.ts: per address and user, per
//      user, per address; 429 with Retry-After when there is none) and is compared in the worker
//      pool (verify-pool.ts; 429 with Retry-After: 1 when too many comparisons wait).
// Both caches are bounded; an edited password changes the hash, which no old entry matches.
import { createHmac, randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import type { AccessController, AccessDecision, AccessRequest } from '../registry/access.js';
import { StateDir } from '../state/state-dir.js';
import { basicChallenge, parseAuthorization } from './basic.js';
import { parseHtpasswd } from './htpasswd.js';
import { FailureLimiter, type LimiterOptions, type LoginLimiter, type SharedLogins } from './limiter.js';
import { VerifyPool, VerifyQueueFull, type VerifyPoolOptions } from './verify-pool.js';
import { decide, parseAccessConfig, type AccessMode, type AccessPolicy, type Identity } from './policy.js';

/** DEFAULT_REALM is the realm of the Basic challenge. */
export const DEFAULT_REALM = 'container-registry';

/** ControllerOptions build a controller for one storage directory. */
export interface ControllerOptions {
  /** the storage directory whose auth/htpasswd and auth/access.toml apply (a path is taken as StateDir.of does) */
  storageDir: StateDir | string;
  /** the modes before auth/access.toml (insecure: anonymous/anonymous; secure with auth: authenticated/authenticated) */
  defaults: { pull: AccessMode; push: AccessMode };
  /** command-line choices, which win over auth/access.toml */
  overrides?: { pull?: AccessMode; push?: AccessMode };
  /** false in insecure mode: credentials are ignored (over plain HTTP they must not be relied on) */
  verifyCredentials: boolean;
  realm?: string;
  limiter?: LimiterOptions;
  /** what other processes of the registry share (limiter.ts SharedLogins); `limiter` is then not used */
  shared?: SharedLogins;
  /** the bcrypt worker threads (created on the first comparison) */
  verifier?: VerifyPoolOptions;
  /** how long a verified credential is taken without a comparison (5 minutes) */
  verifiedTtlMs?: number;
  /** where a problem with an edited file is reported (stderr by default); never gets secrets */
  warn?: (line: string) => void;
}

/** FileWatch re-reads a small file when its identity (inode, size, mtime) changes. */
class FileWatch<T> {
  private stamp: string | undefined;
  private value: T;

  constructor(
    private readonly path: string,
    private readonly parse: (text: string | undefined) => T,
    initial: T,
    private readonly warn: (line: string) => void,
  ) {
    this.value = initial;
  }

  async get(): Promise<T> {
    let stamp = 'missing';
    try {
      const st = await stat(this.path);
      stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch {
      // A missing file is a state too: no users, or no narrowing.
    }
    if (stamp === this.stamp) return this.value;
    try {
      const text = stamp === 'missing' ? undefined : await readFile(this.path, 'utf8');
      this.value = this.parse(text);
      this.stamp = stamp;
    } catch (err) {
      // An edit that does not parse keeps the last good state; said once per change.
      if (this.stamp !== `bad:${stamp}`) this.warn(`container-registry: ${this.path}: keeping the previous settings: ${(err as Error).message}`);
      this.stamp = `bad:${stamp}`;
    }
    return this.value;
  }

  /** load reads the file now and throws when it does not parse (for a clear error at start). */
  async load(): Promise<T> {
    let stamp = 'missing';
    let text: string | undefined;
    try {
      const st = await stat(this.path);
      stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    this.value = this.parse(text);
    this.stamp = stamp;
    return this.value;
  }
}

/** ExpiringSet remembers keys for a while, at most `max` of them (the oldest are dropped first). */
class ExpiringSet {
  private readonly until = new Map<string, number>();

  constructor(
    private readonly ttlMs: number,
    private readonly max: number,
    private readonly now: () => number = Date.now,
  ) {}

  has(key: string): boolean {
    const t = this.until.get(key);
    if (t === undefined) return false;
    if (t > this.now()) return true;
    this.until.delete(key);
    return false;
  }

  add(key: string): void {
    this.until.delete(key);
    this.until.set(key, this.now() + this.ttlMs);
    if (this.until.size > this.max) this.until.delete(this.until.keys().next().value!);
  }
}

/** LoginOutcome is what checking one credential came to. */
type LoginOutcome = { kind: 'ok' } | { kind: 'wrong' } | { kind: 'wait'; retryAfter: number; message: string };

/** HtpasswdAccessController implements AccessController over auth/htpasswd and the policy. */
export class HtpasswdAccessController implements AccessController {
  private readonly users: FileWatch<Map<string, string>>;
  private readonly policyFile: FileWatch<AccessPolicy>;
  private readonly limiter: LoginLimiter;
  private readonly pool: VerifyPool;
  private readonly challenge: string;
  private readonly macKey: Buffer;
  private readonly verified: ExpiringSet;
  private readonly rejected = new ExpiringSet(60 * 60_000, 10_000);
  private readonly pending = new Map<string, Promise<LoginOutcome>>();

  constructor(private readonly o: ControllerOptions) {
    const paths = StateDir.of(o.storageDir);
    const warn = o.warn ?? ((line: string) => process.stderr.write(`${line}\n`));
    this.users = new FileWatch(paths.htpasswd(), (t) => new Map(parseHtpasswd(t ?? '').map((e) => [e.user, e.hash])), new Map(), warn);
    const file = paths.accessConfig();
    const build = (t: string | undefined): AccessPolicy => {
      const p = t === undefined ? { ...o.defaults, rules: [] } : parseAccessConfig(t, file, o.defaults);
      return { ...p, ...definedOnly(o.overrides ?? {}) };
    };
    this.policyFile = new FileWatch(file, build, build(undefined), warn);
    this.limiter = o.shared ?? new FailureLimiter(o.limiter);
    this.macKey = o.shared?.credentialKey ?? randomBytes(32);
    this.pool = new VerifyPool(o.verifier);
    this.verified = new ExpiringSet(o.verifiedTtlMs ?? 5 * 60_000, 1_000);
    this.challenge = basicChallenge(o.realm ?? DEFAULT_REALM);
    o.shared?.onVerified((key) => this.verified.add(key));
  }

  /** policy is the policy in force now (after re-reading access.toml if it changed). */
  policy(): Promise<AccessPolicy> {
    return this.policyFile.get();
  }

  /** load reads both files now; a broken access.toml throws (secure mode's start reports it). */
  async load(): Promise<AccessPolicy> {
    await this.users.get();
    return this.policyFile.load();
  }

  /** key names a credential in the caches: an HMAC, under the process's key, of user, hash and password. */
  private key(user: string, hash: string | undefined, password: string): string {
    return createHmac('sha256', this.macKey)
      .update(JSON.stringify([user, hash ?? '', password]), 'utf8')
      .digest('base64');
  }

  /** login applies steps 1 to 4 of the header to one credential. */
  private async login(user: string, password: string, address: string): Promise<LoginOutcome> {
    const hash = (await this.users.get()).get(user);
    const key = this.key(user, hash, password);
    if (this.verified.has(key)) return { kind: 'ok' };
    if (this.rejected.has(key)) return { kind: 'wrong' };
    let pending = this.pending.get(key);
    if (!pending) {
      pending = this.compare(key, user, hash, password, address).finally(() => this.pending.delete(key));
      this.pending.set(key, pending);
    }
    return pending;
  }

  private async compare(key: string, user: string, hash: string | undefined, password: string, address: string): Promise<LoginOutcome> {
    const admission = await this.limiter.begin(address, user);
    if (!admission.admitted) return { kind: 'wait', retryAfter: admission.retryAfter, message: 'too many failed logins; wait and retry' };
    let ok: boolean;
    try {
      ok = await this.pool.verify(password, hash);
    } catch (err) {
      admission.attempt.abandoned();
      if (err instanceof VerifyQueueFull) return { kind: 'wait', retryAfter: 1, message: 'too many logins are being checked; wait and retry' };
      throw err;
    }
    if (ok) {
      admission.attempt.succeeded();
      this.verified.add(key);
      this.o.shared?.verified(key);
      return { kind: 'ok' };
    }
    admission.attempt.failed();
    this.rejected.add(key);
    return { kind: 'wrong' };
  }

  private unauthorized(message: string): AccessDecision {
    return { allowed: false, status: 401, user: undefined, challenge: this.challenge, message };
  }

  /** check decides one request. */
  async check(req: AccessRequest): Promise<AccessDecision> {
    const policy = await this.policy();
    let who: Identity = { kind: 'anonymous' };
    if (this.o.verifyCredentials) {
      const creds = parseAuthorization(req.authorization);
      if (creds.kind === 'invalid') return this.unauthorized('unsupported Authorization header; this registry takes Basic credentials');
      if (creds.kind === 'basic') {
        const outcome = await this.login(creds.user, creds.password, req.remoteAddress);
        if (outcome.kind === 'wait') return { allowed: false, status: 429, user: undefined, retryAfter: outcome.retryAfter, message: outcome.message };
        if (outcome.kind === 'wrong') return this.unauthorized('invalid username or password');
        who = { kind: 'user', name: creds.user };
      }
    }
    const user = who.kind === 'user' ? who.name : undefined;
    switch (decide(policy, req.action, req.repository, who)) {
      case 'allow':
        return { allowed: true, user };
      case 'login':
        return this.unauthorized('authentication required');
      case 'disabled':
        return {
          allowed: false,
          status: 403,
          user,
          message: `${req.action === 'push' || req.action === 'delete' ? 'pushing' : 'pulling'} is disabled on this registry`,
        };
      case 'forbidden':
        return { allowed: false, status: 403, user, message: `user ${user} may not ${req.action} ${req.repository ?? ''}`.trim() };
    }
  }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
