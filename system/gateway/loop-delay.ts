import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/**
 * Event-loop delay without the sampling interval. Node's
 * `monitorEventLoopDelay({resolution})` records the whole time between two
 * of its timer ticks, so an idle loop sampled every 10 ms reads ~10 ms; the
 * delay is what lies beyond the interval. Every figure here has the
 * resolution taken off (never below 0), so an idle loop reads ~0 ms.
 */
export class LoopDelay {
  private readonly h: IntervalHistogram;

  constructor(readonly resolutionMs = 10) {
    this.h = monitorEventLoopDelay({ resolution: resolutionMs });
  }

  enable(): void {
    this.h.enable();
  }

  disable(): void {
    this.h.disable();
  }

  reset(): void {
    this.h.reset();
  }

  /** Mean delay since the last reset, ms (0 when nothing was sampled yet). */
  meanMs(): number {
    return this.h.count === 0 ? 0 : this.beyond(this.h.mean);
  }

  /** The p-th percentile of delay since the last reset, ms. */
  percentileMs(p: number): number {
    return this.h.count === 0 ? 0 : this.beyond(this.h.percentile(p));
  }

  maxMs(): number {
    return this.h.count === 0 ? 0 : this.beyond(this.h.max);
  }

  private beyond(ns: number): number {
    return Math.max(0, ns / 1e6 - this.resolutionMs);
  }
}
