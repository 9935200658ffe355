/** An entry and the clock time it stops being served. */
export interface Cached<T> {
  value: T;
  expiresMs: number;
}

/** One generation: each key's row in a Map, the row's expiry and value in two arrays (no object per entry). */
class Generation<K, V> {
  readonly rows = new Map<K, number>();
  readonly expiresMs: number[] = [];
  readonly values: V[] = [];
}

/**
 * Entries served for a TTL after they were set, on the caller's clock
 * (`nowMs`), held in two generations: new entries go to the young one; when
 * it is as old as the longest TTL set so far it becomes the old one and the
 * previous old one is dropped whole. Every operation is O(1) — evicting the
 * head of one big insertion-ordered Map instead scans the tombstones of
 * earlier deletions, tens of µs a call at 100k entries — and memory stays
 * bounded by the entries of the last two longest TTLs. An entry is a Map
 * entry and two array slots, no object: a simulation's dedup holds one per
 * message sent within its TTL.
 *
 * Entries are never served expired. Without `max` every entry is kept for
 * its whole TTL (a store: dedup); with `max`, the young generation also turns
 * old once it holds half of `max`, so entries may go early (a cache).
 */
export class TtlCache<K, V> {
  private young = new Generation<K, V>();
  private old = new Generation<K, V>();
  private bornMs = -Infinity;
  /** The longest TTL set so far: how long a generation lasts. */
  private spanMs: number;

  /** `ttlMs` is the default TTL of `set`; a TTL <= 0 stores nothing. */
  constructor(readonly ttlMs: number, readonly max = Infinity) {
    if (!(max >= 2)) throw new RangeError(`TtlCache: max must be >= 2, got ${max}`);
    this.spanMs = Math.max(0, ttlMs);
  }

  /** The live entry for `key` (its value may itself be undefined) as a snapshot, or undefined. Hot paths use `peek`. */
  get(key: K, nowMs: number): Cached<V> | undefined {
    const g = this.live(key, nowMs);
    if (!g) return undefined;
    const row = g.rows.get(key)!;
    return { value: g.values[row]!, expiresMs: g.expiresMs[row]! };
  }

  /** The live value for `key`, or `otherwise` when there is none (a cached undefined is returned as undefined). */
  peek(key: K, nowMs: number): V | undefined;
  peek<D>(key: K, nowMs: number, otherwise: D): V | D;
  peek<D>(key: K, nowMs: number, otherwise?: D): V | D | undefined {
    const g = this.live(key, nowMs);
    return g ? g.values[g.rows.get(key)!] : otherwise;
  }

  /** Sets or refreshes `key` for `ttlMs` from `nowMs` (a young entry is updated in place). */
  set(key: K, value: V, nowMs: number, ttlMs = this.ttlMs): void {
    if (ttlMs <= 0) return;
    if (ttlMs > this.spanMs) this.spanMs = ttlMs;
    if (nowMs - this.bornMs >= this.spanMs || this.young.rows.size >= this.max / 2) {
      this.old = this.young;
      this.young = new Generation();
      this.bornMs = nowMs;
    }
    const g = this.young;
    const row = g.rows.get(key);
    if (row !== undefined) {
      g.values[row] = value;
      g.expiresMs[row] = nowMs + ttlMs;
      return;
    }
    this.old.rows.delete(key);
    g.rows.set(key, g.expiresMs.length);
    g.expiresMs.push(nowMs + ttlMs);
    g.values.push(value);
  }

  /** Replaces the value of a live entry, keeping its expiry; returns false when there is none. */
  replace(key: K, value: V, nowMs: number): boolean {
    const g = this.live(key, nowMs);
    if (!g) return false;
    g.values[g.rows.get(key)!] = value;
    return true;
  }

  delete(key: K): void {
    this.young.rows.delete(key);
    this.old.rows.delete(key);
  }

  /** Entries held, expired ones not yet dropped included. */
  get size(): number {
    return this.young.rows.size + this.old.rows.size;
  }

  /** The generation holding `key` unexpired at `nowMs` (a young entry shadows an old one), or undefined. */
  private live(key: K, nowMs: number): Generation<K, V> | undefined {
    let g = this.young;
    let row = g.rows.get(key);
    if (row === undefined) {
      g = this.old;
      row = g.rows.get(key);
    }
    return row !== undefined && g.expiresMs[row]! > nowMs ? g : undefined;
  }
}
