// Slowing down password guessing: per client address, after a few failures in a row every further
// attempt waits longer (1 s, 2 s, 4 s ... up to a minute). While an address waits, its requests
// with credentials get 429 without a bcrypt comparison, so guessing costs the server nothing.

/** LimiterOptions tune the slowdown. */
export interface LimiterOptions {
  /** failures in a row allowed before waiting starts */
  freeFailures?: number;
  maxDelayMs?: number;
  /** an address with no failure for this long starts over */
  forgetAfterMs?: number;
  /** at most this many addresses are remembered (the oldest are dropped) */
  maxEntries?: number;
  now?: () => number;
}

interface Entry {
  failures: number;
  lockedUntil: number;
  lastFailure: number;
}

/** FailureLimiter counts failed logins per address. */
export class FailureLimiter {
  private readonly entries = new Map<string, Entry>();
  private readonly free: number;
  private readonly maxDelay: number;
  private readonly forget: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(o: LimiterOptions = {}) {
    this.free = o.freeFailures ?? 5;
    this.maxDelay = o.maxDelayMs ?? 60_000;
    this.forget = o.forgetAfterMs ?? 15 * 60_000;
    this.maxEntries = o.maxEntries ?? 10_000;
    this.now = o.now ?? Date.now;
  }

  private entry(addr: string): Entry | undefined {
    const e = this.entries.get(addr);
    if (e && this.now() - e.lastFailure > this.forget && this.now() >= e.lockedUntil) {
      this.entries.delete(addr);
      return undefined;
    }
    return e;
  }

  /** retryAfter is the whole seconds `addr` must wait before trying credentials again (0: go ahead). */
  retryAfter(addr: string): number {
    const e = this.entry(addr);
    if (!e) return 0;
    const ms = e.lockedUntil - this.now();
    return ms > 0 ? Math.ceil(ms / 1000) : 0;
  }

  /** failed records a failed login. */
  failed(addr: string): void {
    const now = this.now();
    const e = this.entry(addr) ?? { failures: 0, lockedUntil: 0, lastFailure: now };
    e.failures++;
    e.lastFailure = now;
    if (e.failures >= this.free) {
      const delay = Math.min(this.maxDelay, 1000 * 2 ** Math.min(e.failures - this.free, 30));
      e.lockedUntil = now + delay;
    }
    this.entries.delete(addr);
    this.entries.set(addr, e);
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  /** succeeded forgets an address's failures. */
  succeeded(addr: string): void {
    this.entries.delete(addr);
  }
}
