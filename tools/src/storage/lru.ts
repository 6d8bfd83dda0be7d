// A cache bounded by weight (bytes, as the caller counts them), dropping the least recently used.
// Every cache the server keeps of stored content uses it: what clients store decides how much there
// is, so only a bound in bytes keeps the heap bounded.

/** WeightedLruOptions bound the cache. */
export interface WeightedLruOptions {
  /** the sum of weights kept */
  maxWeight: number;
  /** an entry heavier than this is not kept at all */
  maxEntryWeight?: number;
}

/** WeightedLru maps keys to values, least recently used first out. */
export class WeightedLru<K, V> {
  private readonly entries = new Map<K, { value: V; weight: number }>();
  private total = 0;

  constructor(private readonly o: WeightedLruOptions) {}

  /** get returns a value and marks it as just used. */
  get(key: K): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    this.entries.delete(key);
    this.entries.set(key, e);
    return e.value;
  }

  /** set keeps a value unless it alone is over the bounds, then drops the oldest until the total fits. */
  set(key: K, value: V, weight: number): void {
    this.delete(key);
    if (weight > (this.o.maxEntryWeight ?? this.o.maxWeight)) return;
    this.entries.set(key, { value, weight });
    this.total += weight;
    for (const [k, e] of this.entries) {
      if (this.total <= this.o.maxWeight) break;
      this.entries.delete(k);
      this.total -= e.weight;
    }
  }

  /** delete drops one key. */
  delete(key: K): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    this.total -= e.weight;
  }

  /** weight is the sum of the weights kept. */
  get weight(): number {
    return this.total;
  }

  /** size is the number of entries kept. */
  get size(): number {
    return this.entries.size;
  }
}
