import type { Clock } from '../clock/clock.ts';
import type { FaultSwitch } from '../testing/faults.ts';
import type { ClaimResult, Dedup } from './dedup.ts';

export interface MemoryDedupOptions {
  /** Decides when claims and results expire. */
  clock: Clock;
  /** Test hook: arm failures per method name ('claim', 'complete', 'release'). */
  faults?: FaultSwitch;
}

interface Entry {
  done: boolean;
  result: string;
  expiresAtMs: number;
}

/** Expired keys removed per call at most, so one call never stalls on a backlog. */
const SWEEP_MAX = 64;

/**
 * Dedup as one Map in one process, shared by every node of it (a claim is a
 * synchronous check-and-set, so at most one wins, like SET NX).
 *
 * Expiry is lazy and bounded: every write re-inserts its key, so the Map's
 * insertion order is write order and the oldest writes sit at its head; each
 * call removes up to SWEEP_MAX expired keys from the head. With one TTL that
 * is exact expiry order; with mixed TTLs a long-lived head only delays the
 * sweep until it expires, so memory stays bounded by the keys written within
 * the longest TTL.
 */
export class MemoryDedup implements Dedup {
  private readonly clock: Clock;
  private readonly faults?: FaultSwitch;
  private readonly entries = new Map<string, Entry>();

  constructor(options: MemoryDedupOptions) {
    this.clock = options.clock;
    this.faults = options.faults;
  }

  /** Keys held, including expired ones not yet swept (for tests and memory accounting). */
  get size(): number {
    return this.entries.size;
  }

  async claim(key: string, ttlMs: number): Promise<ClaimResult> {
    this.faults?.check('claim');
    const now = this.sweep();
    const e = this.entries.get(key);
    if (e && now < e.expiresAtMs) return e.done ? { state: 'done', result: e.result } : { state: 'pending' };
    this.write(key, { done: false, result: '', expiresAtMs: now + ttlMs });
    return { state: 'claimed' };
  }

  async complete(key: string, result: string, ttlMs: number): Promise<void> {
    this.faults?.check('complete');
    const now = this.sweep();
    this.write(key, { done: true, result, expiresAtMs: now + ttlMs });
  }

  async release(key: string): Promise<void> {
    this.faults?.check('release');
    this.sweep();
    // Only a pending claim is released: a completed key keeps answering with its result.
    if (this.entries.get(key)?.done === false) this.entries.delete(key);
  }

  private write(key: string, entry: Entry): void {
    this.entries.delete(key);
    this.entries.set(key, entry);
  }

  private sweep(): number {
    const now = this.clock.now();
    let n = 0;
    for (const [key, e] of this.entries) {
      if (n++ >= SWEEP_MAX || now < e.expiresAtMs) break;
      this.entries.delete(key);
    }
    return now;
  }
}
