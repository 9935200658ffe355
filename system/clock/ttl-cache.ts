/** An entry and the clock time it stops being served. */
export interface Cached<T> {
  value: T;
  expiresMs: number;
}

/**
 * Entries served for a TTL after they were set, on the caller's clock
 * (`nowMs`), held in two generations of Maps: new entries go to the young
 * one; when it is as old as the longest TTL set so far it becomes the old one
 * and the previous old one is dropped whole. Every operation is O(1) —
 * evicting the head of one big insertion-ordered Map instead scans the
 * tombstones of earlier deletions, tens of µs a call at 100k entries — and
 * memory stays bounded by the entries of the last two longest TTLs.
 *
 * Entries are never served expired. Without `max` every entry is kept for
 * its whole TTL (a store: dedup); with `max`, the young generation also turns
 * old once it holds half of `max`, so entries may go early (a cache).
 */
export class TtlCache<K, V> {
  private young = new Map<K, Cached<V>>();
  private old = new Map<K, Cached<V>>();
  private bornMs = -Infinity;
  /** The longest TTL set so far: how long a generation lasts. */
  private spanMs: number;

  /** `ttlMs` is the default TTL of `set`; a TTL <= 0 stores nothing. */
  constructor(readonly ttlMs: number, readonly max = Infinity) {
    if (!(max >= 2)) throw new RangeError(`TtlCache: max must be >= 2, got ${max}`);
    this.spanMs = Math.max(0, ttlMs);
  }

  /** The live entry for `key` (its value may itself be undefined), or undefined. */
  get(key: K, nowMs: number): Cached<V> | undefined {
    const c = this.young.get(key) ?? this.old.get(key);
    return c && c.expiresMs > nowMs ? c : undefined;
  }

  /** Sets or refreshes `key` for `ttlMs` from `nowMs` (a young entry is updated in place). */
  set(key: K, value: V, nowMs: number, ttlMs = this.ttlMs): void {
    if (ttlMs <= 0) return;
    if (ttlMs > this.spanMs) this.spanMs = ttlMs;
    if (nowMs - this.bornMs >= this.spanMs || this.young.size >= this.max / 2) {
      this.old = this.young;
      this.young = new Map();
      this.bornMs = nowMs;
    }
    const c = this.young.get(key);
    if (c) {
      c.value = value;
      c.expiresMs = nowMs + ttlMs;
      return;
    }
    this.old.delete(key);
    this.young.set(key, { value, expiresMs: nowMs + ttlMs });
  }

  delete(key: K): void {
    this.young.delete(key);
    this.old.delete(key);
  }

  /** Entries held, expired ones not yet dropped included. */
  get size(): number {
    return this.young.size + this.old.size;
  }
}
