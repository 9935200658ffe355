import { PerformanceObserver } from 'node:perf_hooks';

/** What a driver worker's collections took while the load ran: each one a pause of its event loop. */
export interface GcPauses {
  count: number;
  totalMs: number;
  maxMs: number;
}

/** One collection: its kind (perf_hooks `constants.NODE_PERFORMANCE_GC_*`), its start (performance.now() time) and its pause. */
export interface GcEntry {
  kind: number;
  at: number;
  ms: number;
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
  /** Every collection counted, when made with `keepEntries` (calibrate tells scavenges from major cycles and places them in time). */
  readonly entries: GcEntry[] = [];

  constructor(private readonly keepEntries = false) {}

  start(): void {
    this.observer = new PerformanceObserver((list) => this.take(list.getEntries()));
    this.observer.observe({ entryTypes: ['gc'] });
  }

  private take(entries: PerformanceEntry[]): void {
    for (const e of entries) this.add(e.duration, (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? 0, e.startTime);
  }

  /** @internal One pause of `ms` (the observer's entries; tests). */
  add(ms: number, kind = 0, at = 0): void {
    if (this.keepEntries) this.entries.push({ kind, at, ms });
    this.pauses.count++;
    this.pauses.totalMs += ms;
    if (ms > this.pauses.maxMs) this.pauses.maxMs = ms;
  }

  /** Stops counting (entries already queued are taken first) and returns the totals. */
  stop(): GcPauses {
    if (this.observer) {
      this.take(this.observer.takeRecords());
      this.observer.disconnect();
      this.observer = undefined;
    }
    return { ...this.pauses };
  }
}
