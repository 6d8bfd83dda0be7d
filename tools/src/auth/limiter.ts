// Slowing down password guessing. A login that needs a bcrypt comparison first reserves an attempt
// under three counters, and is refused (429 with Retry-After, no comparison) when any of them has
// no attempt to give:
//
//   counter            free   slows down
//   (address, user)      5    one client guessing one account
//   user                10    many addresses guessing one account (distributed guessing)
//   address             10    one address trying many accounts (password spraying)
//
// - A counter holds failures plus attempts still being checked, so guesses sent all at once get no
//   more comparisons than the free budget: the rest are refused before any is decided.
// - Past its budget, every failure makes the counter wait 1 s, 2 s, 4 s ... up to a minute; then it
//   admits ONE attempt (not one per waiting client), and refuses others while that one is checked.
//   A locked user still gets a real check per interval, so a correct password gets through while
//   guessing stays slow.
// - A success forgets the failures of that address against that user, in all three counters (they
//   were typos), and nothing else: logging in to one's own account does not clear the failures
//   the address ran up against other accounts.
// - A counter with no failure for 15 minutes starts over; at most 10,000 are kept (oldest dropped).
// What the controller lets past this (a credential it verified lately, a repeat of a known-wrong
// one) is described in controller.ts.

/** LimiterOptions tune the slowdown. */
export interface LimiterOptions {
  /** failures of one address against one user before waiting starts */
  pairFailures?: number;
  /** failures against one user from all addresses before waiting starts */
  userFailures?: number;
  /** failures of one address against all users before waiting starts */
  addressFailures?: number;
  maxDelayMs?: number;
  /** a counter with no failure for this long starts over */
  forgetAfterMs?: number;
  /** at most this many counters are remembered (the least recently used are dropped) */
  maxEntries?: number;
  now?: () => number;
}

interface Counter {
  failures: number;
  /** attempts admitted and not yet settled */
  inflight: number;
  lockedUntil: number;
  lastFailure: number;
}

/** Admission is the answer to `begin`: go ahead with an attempt to settle, or wait. */
export type Admission = { admitted: true; attempt: LoginAttempt } | { admitted: false; retryAfter: number };

/** LoginAttempt is one reserved attempt; settle it exactly once (later calls do nothing). */
export interface LoginAttempt {
  /** the password was right */
  succeeded(): void;
  /** the password was wrong */
  failed(): void;
  /** the password was not checked (the comparison queue was full): the reservation is returned */
  abandoned(): void;
}

// An attempt being checked is settled well within this; a client refused because of one retries then.
const IN_FLIGHT_WAIT_MS = 1000;

/**
 * LoginLimiter is what the access controller asks before a comparison: a FailureLimiter of its own
 * in one process; with several workers, the primary's one, over IPC (daemon/cluster-worker.ts), so
 * that the budgets above hold for the registry as a whole, whichever worker a guess reaches.
 */
export interface LoginLimiter {
  begin(address: string, user: string): Admission | Promise<Admission>;
}

/**
 * SharedLogins is what the workers of one registry share about logins (daemon/cluster-worker.ts):
 * the limiter's budgets, the key credentials are MACed under (controller.ts) and word of each
 * credential verified, so that one verified on one worker passes at once on every other, as it
 * does in a single process, instead of meeting a limiter a guessing client has emptied.
 */
export interface SharedLogins extends LoginLimiter {
  readonly credentialKey: Buffer;
  verified(key: string): void;
  onVerified(listener: (key: string) => void): void;
}

/** FailureLimiter counts failed logins per (address, user), per user and per address. */
export class FailureLimiter implements LoginLimiter {
  private readonly counters = new Map<string, Counter>();
  private readonly free: { pair: number; user: number; address: number };
  private readonly maxDelay: number;
  private readonly forget: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(o: LimiterOptions = {}) {
    this.free = { pair: o.pairFailures ?? 5, user: o.userFailures ?? 10, address: o.addressFailures ?? 10 };
    this.maxDelay = o.maxDelayMs ?? 60_000;
    this.forget = o.forgetAfterMs ?? 15 * 60_000;
    this.maxEntries = o.maxEntries ?? 10_000;
    this.now = o.now ?? Date.now;
  }

  /** keys names the three counters of a login: [(address, user), user, address], with their budgets. */
  private keys(address: string, user: string): Array<[string, number]> {
    return [
      [`p\0${address}\0${user}`, this.free.pair],
      [`u\0${user}`, this.free.user],
      [`a\0${address}`, this.free.address],
    ];
  }

  private counter(key: string, now: number): Counter | undefined {
    const c = this.counters.get(key);
    if (c && c.inflight === 0 && now - c.lastFailure > this.forget && now >= c.lockedUntil) {
      this.counters.delete(key);
      return undefined;
    }
    return c;
  }

  /** waitMs is how long `c` refuses attempts (0: it admits one now). */
  private waitMs(c: Counter | undefined, free: number, now: number): number {
    if (!c || c.failures + c.inflight < free) return 0;
    if (c.failures < free) return IN_FLIGHT_WAIT_MS;
    if (now < c.lockedUntil) return c.lockedUntil - now;
    return c.inflight > 0 ? IN_FLIGHT_WAIT_MS : 0;
  }

  /** retryAfter is the whole seconds `user` from `address` must wait before a check (0: go ahead). */
  retryAfter(address: string, user: string): number {
    const now = this.now();
    const ms = Math.max(...this.keys(address, user).map(([key, free]) => this.waitMs(this.counter(key, now), free, now)));
    return ms > 0 ? Math.ceil(ms / 1000) : 0;
  }

  /** begin reserves an attempt for `user` from `address`, or tells how many seconds to wait. */
  begin(address: string, user: string): Admission {
    const wait = this.retryAfter(address, user);
    if (wait > 0) return { admitted: false, retryAfter: wait };
    const now = this.now();
    const keys = this.keys(address, user).map(([key, free]) => {
      const c = this.counter(key, now) ?? { failures: 0, inflight: 0, lockedUntil: 0, lastFailure: now };
      c.inflight++;
      this.touch(key, c);
      return [key, free] as const;
    });
    let settled = false;
    const settle = (outcome: 'succeeded' | 'failed' | 'abandoned') => {
      if (settled) return;
      settled = true;
      const at = this.now();
      const [pairKey] = keys[0]!;
      // Only a success uses it: the failures that address had against that user.
      const typos = this.counters.get(pairKey)?.failures ?? 0;
      for (const [key, free] of keys) {
        const c = this.counters.get(key);
        if (!c) continue;
        c.inflight = Math.max(0, c.inflight - 1);
        if (outcome === 'failed') {
          c.failures++;
          c.lastFailure = at;
          if (c.failures >= free) c.lockedUntil = at + Math.min(this.maxDelay, 1000 * 2 ** Math.min(c.failures - free, 30));
          this.touch(key, c);
          continue;
        }
        if (outcome === 'succeeded') {
          c.failures = Math.max(0, c.failures - typos);
          if (c.failures < free) c.lockedUntil = 0;
        }
        if (c.failures === 0 && c.inflight === 0) this.counters.delete(key);
      }
    };
    return {
      admitted: true,
      attempt: {
        succeeded: () => settle('succeeded'),
        failed: () => settle('failed'),
        abandoned: () => settle('abandoned'),
      },
    };
  }

  private touch(key: string, c: Counter): void {
    this.counters.delete(key);
    this.counters.set(key, c);
    if (this.counters.size > this.maxEntries) this.counters.delete(this.counters.keys().next().value!);
  }
}
