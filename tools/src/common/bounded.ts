// Bounds: what one request may start at once (fan-out), what all requests together may hold in
// memory, and how much of a stream is read whole.

/** mapLimited runs `fn` over `items` with at most `limit` running at a time; results keep their order. */
export async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * takeInOrder maps `candidates` in order through `look` (undefined: not live), `concurrency` at a
 * time, and stops once `limit` results are found (every candidate is tried when `limit` is
 * undefined). The results keep the candidates' order.
 */
export async function takeInOrder<T>(
  candidates: readonly string[],
  limit: number | undefined,
  look: (name: string) => Promise<T | undefined>,
  concurrency = 16,
): Promise<T[]> {
  const out: T[] = [];
  let next = 0;
  while (next < candidates.length && (limit === undefined || out.length < limit)) {
    // Never look at more than the page still needs: a page of 10 costs 10 or 11 resolves, not 16.
    const want = limit === undefined ? concurrency : Math.min(concurrency, limit - out.length);
    const batch = candidates.slice(next, next + want);
    next += batch.length;
    for (const r of await Promise.all(batch.map(look))) {
      if (r !== undefined && (limit === undefined || out.length < limit)) out.push(r);
    }
  }
  return out;
}

/**
 * ByteBudget lets requests hold at most `capacity` bytes in memory together (request bodies read
 * whole, such as manifests); a request that does not fit waits until others give theirs back.
 */
export class ByteBudget {
  private used = 0;
  private readonly waiting: Array<{ bytes: number; go: () => void }> = [];

  constructor(private readonly capacity: number) {}

  /** take waits until `bytes` fit, then holds them; `release` gives them back (once). */
  async take(bytes: number): Promise<() => void> {
    const want = Math.min(bytes, this.capacity);
    if (this.used + want > this.capacity || this.waiting.length > 0) {
      await new Promise<void>((go) => this.waiting.push({ bytes: want, go }));
    } else this.used += want;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.used -= want;
      while (this.waiting.length > 0 && this.used + this.waiting[0]!.bytes <= this.capacity) {
        const w = this.waiting.shift()!;
        this.used += w.bytes;
        w.go();
      }
    };
  }
}

/** BodyTooLarge is thrown by readBounded when a stream passes its bound. */
export class BodyTooLarge extends Error {
  constructor(readonly max: number) {
    super(`larger than ${max} bytes`);
    this.name = 'BodyTooLarge';
  }
}

/**
 * readBounded reads a stream whole, up to `max` bytes; past that it stops reading and throws
 * BodyTooLarge (the caller decides whether to drain the rest or cut the connection).
 */
export async function readBounded(stream: AsyncIterable<Buffer>, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    total += chunk.length;
    if (total > max) throw new BodyTooLarge(max);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
