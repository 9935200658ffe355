import type { Random } from '../../system/random/random.ts';

export interface BackoffOptions {
  /** Delay before the first reconnect attempt, before jitter. */
  initialMs: number;
  /** Ceiling for any delay, after jitter. */
  maxMs: number;
  /**
   * Fraction of each delay that is random, in [0, 1]: a delay is drawn from
   * [base * (1 - jitter), base]. 0 reconnects in lockstep (what a storm looks
   * like without jitter); 0.5 keeps every delay at least as long as the
   * previous one's base, so the growth stays visible.
   */
  jitter: number;
}

export const BackoffDefaults: BackoffOptions = { initialMs: 500, maxMs: 30_000, jitter: 0.5 };

/** Throws a RangeError unless `opts` make a valid backoff. */
export function validateBackoff(opts: BackoffOptions): void {
  if (!(opts.initialMs > 0) || !(opts.maxMs >= opts.initialMs)) {
    throw new RangeError(`backoff needs 0 < initialMs <= maxMs, got ${opts.initialMs}/${opts.maxMs}`);
  }
  if (!(opts.jitter >= 0 && opts.jitter <= 1)) throw new RangeError(`backoff jitter must be in [0, 1], got ${opts.jitter}`);
}

/** Doubling steps are capped here so `2 ** attempt` never overflows into Infinity. */
const MAX_DOUBLINGS = 40;

/**
 * Exponential reconnect backoff with jitter drawn from an injected Random, so
 * a reconnect storm replays exactly from its seed.
 *
 * Guarantee: every delay is in [0, maxMs]; without jitter the sequence is
 * initialMs, 2·initialMs, 4·initialMs, … capped at maxMs; `reset` starts over.
 */
export class Backoff {
  private attempt = 0;

  constructor(private readonly opts: BackoffOptions, private readonly random: Random) {
    validateBackoff(opts);
  }

  /** Attempts since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  /** The delay before the next attempt; each call counts one attempt. */
  next(): number {
    const doublings = Math.min(this.attempt, MAX_DOUBLINGS);
    this.attempt++;
    const base = Math.min(this.opts.maxMs, this.opts.initialMs * 2 ** doublings);
    const delay = base * (1 - this.opts.jitter * this.random.next());
    return Math.min(this.opts.maxMs, Math.round(delay));
  }

  /** A successful session: the next failure starts from initialMs again. */
  reset(): void {
    this.attempt = 0;
  }
}
