import type { Clock } from '../clock/clock.ts';

/** A rate: `perSec` tokens a second, up to `burst` saved. */
export interface Rate {
  perSec: number;
  burst: number;
}

/**
 * Token bucket: `ratePerSec` tokens a second, up to `burst`.
 * `take` either spends one token or says how long until one is available.
 */
export class TokenBucket {
  private tokens: number;
  private lastMs: number;

  constructor(private readonly clock: Clock, private readonly ratePerSec: number, private readonly burst: number) {
    this.tokens = burst;
    this.lastMs = clock.now();
  }

  /** Returns 0 when a token was spent, else the milliseconds to wait. */
  take(): number {
    this.refill();
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    if (this.ratePerSec <= 0) return Number.MAX_SAFE_INTEGER;
    return Math.ceil(((1 - this.tokens) * 1000) / this.ratePerSec);
  }

  /** True when the bucket holds `burst` tokens again: forgetting it changes nothing. */
  full(): boolean {
    this.refill();
    return this.tokens >= this.burst;
  }

  private refill(): void {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.lastMs) * this.ratePerSec) / 1000);
    this.lastMs = now;
  }
}

/**
 * Token buckets keyed by a client-chosen string (a phone, an address, a
 * device), at most `keysMax` of them. When full, buckets that have refilled
 * are forgotten first (a new bucket is full, so nothing changes for them);
 * if none has, the oldest key is forgotten. So memory is bounded whatever
 * keys a client invents, and a key that is hammered stays limited: a client
 * can only reset its own bucket by pushing out `keysMax` others, each of
 * which costs it a request.
 */
export class KeyedLimiter {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(private readonly clock: Clock, private readonly rate: Rate, private readonly keysMax: number) {
    if (!(keysMax >= 1)) throw new RangeError(`keysMax must be >= 1, got ${keysMax}`);
  }

  /** Spends a token of `key`'s bucket: 0 when admitted, else the milliseconds to wait. */
  take(key: string): number {
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= this.keysMax) this.evict();
      b = new TokenBucket(this.clock, this.rate.perSec, this.rate.burst);
      this.buckets.set(key, b);
    }
    return b.take();
  }

  get size(): number {
    return this.buckets.size;
  }

  /** Drops refilled buckets among the oldest few, or else the oldest one. */
  private evict(): void {
    let looked = 0;
    for (const [k, b] of this.buckets) {
      if (b.full()) this.buckets.delete(k);
      if (++looked >= 64) break;
    }
    if (this.buckets.size < this.keysMax) return;
    const oldest = this.buckets.keys().next().value;
    if (oldest !== undefined) this.buckets.delete(oldest);
  }
}
