// The access controller of secure mode: Basic credentials checked against auth/htpasswd, the
// pull/push policy applied, failures slowed down per address. Both files are re-read when they
// change on disk, so `auth add` or an edited access.toml takes effect without a restart.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import type { AccessController, AccessDecision, AccessRequest } from '../registry/access.js';
import { StoragePaths } from '../storage/paths.js';
import { basicChallenge, parseAuthorization } from './basic.js';
import { parseHtpasswd, verifyHash } from './htpasswd.js';
import { FailureLimiter, type LimiterOptions } from './limiter.js';
import { decide, parseAccessConfig, type AccessMode, type AccessPolicy, type Identity } from './policy.js';

/** DEFAULT_REALM is the realm of the Basic challenge. */
export const DEFAULT_REALM = 'container-registry';

/** ControllerOptions build a controller for one storage directory. */
export interface ControllerOptions {
  storageDir: string;
  /** the modes before auth/access.toml (insecure: anonymous/anonymous; secure with auth: authenticated/authenticated) */
  defaults: { pull: AccessMode; push: AccessMode };
  /** command-line choices, which win over auth/access.toml */
  overrides?: { pull?: AccessMode; push?: AccessMode };
  /** false in insecure mode: credentials are ignored (over plain HTTP they must not be relied on) */
  verifyCredentials: boolean;
  realm?: string;
  limiter?: LimiterOptions;
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

/** HtpasswdAccessController implements AccessController over auth/htpasswd and the policy. */
export class HtpasswdAccessController implements AccessController {
  private readonly users: FileWatch<Map<string, string>>;
  private readonly policyFile: FileWatch<AccessPolicy>;
  private readonly limiter: FailureLimiter;
  private readonly challenge: string;
  // A successful check is remembered as an HMAC under a per-process key, so the next request of a
  // push (there are hundreds) costs a hash and a constant-time compare, not a bcrypt round.
  private readonly macKey = randomBytes(32);
  private readonly verified = new Map<string, { hash: string; mac: Buffer }>();

  constructor(private readonly o: ControllerOptions) {
    const paths = new StoragePaths(o.storageDir);
    const warn = o.warn ?? ((line: string) => process.stderr.write(`${line}\n`));
    this.users = new FileWatch(paths.htpasswd(), (t) => new Map(parseHtpasswd(t ?? '').map((e) => [e.user, e.hash])), new Map(), warn);
    const file = paths.accessConfig();
    const build = (t: string | undefined): AccessPolicy => {
      const p = t === undefined ? { ...o.defaults, rules: [] } : parseAccessConfig(t, file, o.defaults);
      return { ...p, ...definedOnly(o.overrides ?? {}) };
    };
    this.policyFile = new FileWatch(file, build, build(undefined), warn);
    this.limiter = new FailureLimiter(o.limiter);
    this.challenge = basicChallenge(o.realm ?? DEFAULT_REALM);
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

  private mac(password: string): Buffer {
    return createHmac('sha256', this.macKey).update(password, 'utf8').digest();
  }

  private async verify(user: string, password: string): Promise<boolean> {
    const hash = (await this.users.get()).get(user);
    const known = this.verified.get(user);
    if (hash !== undefined && known && known.hash === hash) {
      if (timingSafeEqual(known.mac, this.mac(password))) return true;
    }
    const ok = await verifyHash(password, hash);
    if (ok && hash !== undefined) this.verified.set(user, { hash, mac: this.mac(password) });
    return ok;
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
        const wait = this.limiter.retryAfter(req.remoteAddress);
        if (wait > 0) return { allowed: false, status: 429, user: undefined, retryAfter: wait, message: 'too many failed logins from this address; wait and retry' };
        if (!(await this.verify(creds.user, creds.password))) {
          this.limiter.failed(req.remoteAddress);
          return this.unauthorized('invalid username or password');
        }
        this.limiter.succeeded(req.remoteAddress);
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
        return { allowed: false, status: 403, user, message: `${req.action === 'push' || req.action === 'delete' ? 'pushing' : 'pulling'} is disabled on this registry` };
      case 'forbidden':
        return { allowed: false, status: 403, user, message: `user ${user} may not ${req.action} ${req.repository ?? ''}`.trim() };
    }
  }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
