/**
 * Idempotency of client message ids.
 *
 * Guarantee: for one key, at most one `claim` succeeds within `ttlMs`, across
 * all nodes. The winner either `complete`s (later claims get the stored
 * result: the original ack) or `release`s after a failure (the next claim may
 * win). A claim that finds the key pending gets `pending`: the first attempt
 * is still in flight and the caller should retry later.
 *
 * A pending claim is a lease: it lapses `ttlMs` after the claim unless its
 * holder `renew`s it, so the claims of a holder that died free themselves
 * within one lease, and a holder still at work keeps them.
 */
export interface Dedup {
  claim(key: string, ttlMs: number): Promise<ClaimResult>;
  complete(key: string, result: string, ttlMs: number): Promise<void>;
  release(key: string): Promise<void>;
  /** Extends the pending claims among `keys` to `ttlMs` from now; completed, released or lapsed keys are left as they are. */
  renew(keys: readonly string[], ttlMs: number): Promise<void>;
}

export type ClaimResult =
  | { state: 'claimed' }
  | { state: 'pending' }
  | { state: 'done'; result: string };
