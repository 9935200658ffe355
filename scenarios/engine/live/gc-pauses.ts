import { PerformanceObserver } from 'node:perf_hooks';

/** What a driver worker's collections took while the load ran: each one a pause of its event loop. */
export interface GcPauses {
  count: number;
  totalMs: number;
  maxMs: number;
}

/**
 * Counts this process's garbage-collection pauses between `start` and
 * `stop` (perf_hooks 'gc' entries: every scavenge and every mark-compact's
 * final pause). The figures say how much of the driver's own delay is its
 * collector, and they are what the sim's driver model is calibrated with.
 */
export class GcPauseMeter {
  private readonly pauses: GcPauses = { count: 0, totalMs: 0, maxMs: 0 };
  private observer?: PerformanceObserver;

  start(): void {
    this.observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) this.add(e.duration);
    });
    this.observer.observe({ entryTypes: ['gc'] });
  }

  /** @internal One pause of `ms` (the observer's entries; tests). */
  add(ms: number): void {
    this.pauses.count++;
    this.pauses.totalMs += ms;
    if (ms > this.pauses.maxMs) this.pauses.maxMs = ms;
  }

  /** Stops counting (entries already queued are taken first) and returns the totals. */
  stop(): GcPauses {
    if (this.observer) {
      for (const e of this.observer.takeRecords()) this.add(e.duration);
      this.observer.disconnect();
      this.observer = undefined;
    }
    return { ...this.pauses };
  }
}
