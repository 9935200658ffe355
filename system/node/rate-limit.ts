import type { Clock } from '../clock/clock.ts';

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
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.lastMs) * this.ratePerSec) / 1000);
    this.lastMs = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.tokens) * 1000) / this.ratePerSec);
  }
}
