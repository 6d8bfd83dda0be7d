// Retries with exponential backoff and jitter, for errors a later attempt may not meet. An answer
// with Retry-After (a 429 from a registry slowing down logins, a 503) is waited out as asked, up to
// a minute per wait, still within the same bounded number of attempts (RFC 9110 section 10.2.3).
import { RegistryHttpError, isRetryable } from './errors.js';

/** RetryOptions bounds the attempts. */
export interface RetryOptions {
  attempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** the longest Retry-After honoured; a longer one is cut to this (60 s) */
  maxRetryAfterMs?: number;
  /** called before each new attempt (progress bars reset, logs) */
  onRetry?: (attempt: number, err: unknown) => void;
}

/** retryAfterMs reads Retry-After, delay-seconds or an HTTP date, as milliseconds from `now`. */
export function retryAfterMs(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** withRetry runs `fn` until it succeeds, fails with a non-retryable error, or runs out of attempts. */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const attempts = opts.attempts ?? 4;
  const base = opts.baseDelayMs ?? 250;
  const max = opts.maxDelayMs ?? 8_000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= attempts || !isRetryable(err)) throw err;
      opts.onRetry?.(attempt + 1, err);
      const delay = Math.min(max, base * 2 ** (attempt - 1));
      let wait = delay / 2 + Math.random() * (delay / 2);
      const asked = err instanceof RegistryHttpError ? retryAfterMs(err.retryAfter) : undefined;
      // A little past the time asked, spread so parallel requests do not all come back at once.
      if (asked !== undefined) wait = Math.max(wait, Math.min(asked, opts.maxRetryAfterMs ?? 60_000) + Math.random() * base);
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

/** Limiter runs at most `size` tasks at a time (bounded parallel uploads). */
export class Limiter {
  private running = 0;
  private readonly queue: Array<() => void> = [];

  constructor(private readonly size: number) {}

  /** run waits for a free slot, then runs `fn`. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.running >= this.size) await new Promise<void>((r) => this.queue.push(r));
    this.running++;
    try {
      return await fn();
    } finally {
      this.running--;
      this.queue.shift()?.();
    }
  }
}
