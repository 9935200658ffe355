import type { Random } from '../../random/random.ts';
import { LinkClasses, type LinkClass } from './calibration.ts';
import { sample, type Dist } from './distribution.ts';

/**
 * The simulated network: one latency distribution per link class, loss and
 * extra latency per class, and partitions between named endpoints
 * ('node-1', 'redis', 'cassandra', 'devices'). It only answers questions —
 * how long does this hop take, is that pair cut off — and the stand-ins that
 * carry frames (sim-transport, sim-ports) act on the answers.
 *
 * What loss means depends on the link, as it does for real: a device link is
 * TCP, so a lost segment costs a retransmission timeout, not the frame; the
 * bus is at-most-once pub/sub, so a lost envelope is gone; a store request
 * that is lost times out and fails.
 *
 * Guarantee: every answer is drawn from this network's seeded streams (one
 * per link class), so the same calls in the same order give the same answers.
 */
export class SimNetwork {
  private readonly streams: Record<LinkClass, Random>;
  private readonly lossStream: Random;
  private readonly loss: Record<LinkClass, number>;
  private readonly extraMs: Record<LinkClass, number>;
  private readonly cut = new Map<string, number>();
  /** Sampled delays are rounded up to this, so events that nearly coincide share one instant. */
  readonly resolutionMs: number;
  /** TCP retransmission timeout charged for a lost segment on a device link. */
  readonly retransmitMs: number;

  constructor(readonly links: Record<LinkClass, Dist>, random: Random, opts: { resolutionMs?: number; retransmitMs?: number } = {}) {
    this.streams = Object.fromEntries(LinkClasses.map((c) => [c, random.fork(`link:${c}`)])) as Record<LinkClass, Random>;
    this.lossStream = random.fork('loss');
    this.loss = Object.fromEntries(LinkClasses.map((c) => [c, 0])) as Record<LinkClass, number>;
    this.extraMs = Object.fromEntries(LinkClasses.map((c) => [c, 0])) as Record<LinkClass, number>;
    this.resolutionMs = opts.resolutionMs ?? 0.1;
    this.retransmitMs = opts.retransmitMs ?? 200;
    if (!(this.resolutionMs > 0)) throw new RangeError('resolutionMs must be > 0');
  }

  /** One-way delay of one hop on `cls`, ms, rounded up to the resolution. */
  delay(cls: LinkClass): number {
    return this.round(this.exactDelay(cls));
  }

  /**
   * The same, not rounded: for a leg of a round trip whose total is rounded
   * once (a store call), so sub-resolution hops do not each cost a whole step.
   */
  exactDelay(cls: LinkClass): number {
    return sample(this.links[cls], this.streams[cls]) + this.extraMs[cls];
  }

  /**
   * When the last leg of a round trip begun at `startMs` arrives, if it
   * leaves at `readyMs` over `cls`: the legs are summed exactly and the whole
   * trip rounded up to the resolution once.
   */
  arrival(startMs: number, readyMs: number, cls: LinkClass): number {
    return startMs + this.round(readyMs + this.exactDelay(cls) - startMs);
  }

  /** Rounds a duration up to the resolution (never below one resolution step, so causes precede effects). */
  round(ms: number): number {
    const r = this.resolutionMs;
    return Math.max(r, Math.ceil(ms / r - 1e-9) * r);
  }

  /** Whether this hop's unit (segment, envelope, request) is lost. */
  lost(cls: LinkClass): boolean {
    const p = this.loss[cls];
    return p > 0 && this.lossStream.next() < p;
  }

  /** Sets the loss probability of a link class; returns the revert. */
  setLoss(cls: LinkClass, p: number): () => void {
    if (!(p >= 0 && p <= 1)) throw new RangeError(`loss must be in [0, 1], got ${p}`);
    const before = this.loss[cls];
    this.loss[cls] = p;
    return () => {
      this.loss[cls] = before;
    };
  }

  /** Adds latency to every hop of a link class; returns the revert. */
  addLatency(cls: LinkClass, ms: number): () => void {
    if (!(ms >= 0)) throw new RangeError(`added latency must be >= 0, got ${ms}`);
    this.extraMs[cls] += ms;
    return () => {
      this.extraMs[cls] -= ms;
    };
  }

  /** Cuts every link between endpoints `a` and `b` (both ways); returns the revert. Cuts nest. */
  partition(a: string, b: string): () => void {
    const key = pairKey(a, b);
    this.cut.set(key, (this.cut.get(key) ?? 0) + 1);
    let reverted = false;
    return () => {
      if (reverted) return;
      reverted = true;
      const n = (this.cut.get(key) ?? 1) - 1;
      if (n <= 0) this.cut.delete(key);
      else this.cut.set(key, n);
    };
  }

  /** Whether `a` and `b` are cut off from each other. */
  blocked(a: string, b: string): boolean {
    return this.cut.size > 0 && this.cut.has(pairKey(a, b));
  }
}

function pairKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}
