/**
 * What one fault did to the run, judged from the ledger: messages sent
 * during it, what became of them, e2e latency just before, during and just
 * after it, devices whose session it ended and how long they took to sign in
 * again, and the errors drivers saw while it lasted.
 *
 * Windows, all on the run clock:
 *  - during: [startMs, endMs] of the fault mark;
 *  - before / after: as long as the fault, ending at its start / starting at
 *    its end, clipped to [run start, run end] (empty for an instant fault);
 *  - effect: [startMs, max(endMs, startMs + marginMs)], for disconnects and
 *    errors, so an instant fault (a kill with no restart window) still owns
 *    the disconnects and rejections that follow it.
 */
import { CLOSE_NORMAL, CONN_DOWN, CONN_UP, type FaultMark, type Ledger } from './ledger.ts';
import { Trend } from './latency.ts';
import { tallyErrors, type Messages } from './join.ts';
import type { FaultReport, ReconnectImpact, WindowLatency } from './report.ts';

/** Latency windows, in the order of FaultImpact.latency. */
const BEFORE = 0;
const DURING = 1;
const AFTER = 2;

export interface FaultWindowOptions {
  /** Run clock: the run's start (before-window clip and report origin) and the load's end (after-window clip). */
  startMs: number;
  endMs: number;
  /** Minimum length of the effect window. */
  marginMs: number;
}

export class FaultWindow {
  readonly from: number;
  readonly to: number;
  lost = 0;
  duplicated = 0;
  private readonly trends = [new Trend(), new Trend(), new Trend()];
  private readonly beforeFrom: number;
  private readonly afterTo: number;
  private readonly effectTo: number;

  constructor(
    readonly mark: FaultMark,
    private readonly opts: FaultWindowOptions,
  ) {
    this.from = mark.startMs;
    this.to = mark.endMs;
    const len = Math.max(0, this.to - this.from);
    this.beforeFrom = Math.max(opts.startMs, this.from - len);
    this.afterTo = Math.min(opts.endMs, this.to + len);
    this.effectTo = Math.max(this.to, this.from + opts.marginMs);
  }

  /** A message whose intended (else actual) send is `ref` was sent during the fault. */
  covers(ref: number): boolean {
    return ref >= this.from && ref <= this.to;
  }

  /** An owed pair of a message sent at `ref` was first delivered `ms` after it. */
  delivered(ref: number, ms: number): void {
    const w = this.windowOf(ref);
    if (w >= 0) this.trends[w].record(ms);
  }

  private windowOf(ref: number): number {
    if (this.covers(ref)) return DURING;
    if (ref >= this.beforeFrom && ref < this.from) return BEFORE;
    if (ref > this.to && ref <= this.afterTo) return AFTER;
    return -1;
  }

  report(msgs: Messages, ledger: Ledger, sessions: Sessions): FaultReport {
    let sent = 0;
    for (let s = 0; s < msgs.size; s++) if (this.covers(msgs.ref[s])) sent++;
    const [before, during, after] = this.trends.map(windowLatency) as [WindowLatency, WindowLatency, WindowLatency];
    const { kind, target, observed, detail } = this.mark;
    return {
      kind,
      target,
      startMs: this.from - this.opts.startMs,
      endMs: this.to - this.opts.startMs,
      ...(observed ? { observed } : {}),
      ...(detail !== undefined ? { detail } : {}),
      impact: {
        sent,
        lost: this.lost,
        duplicated: this.duplicated,
        p99Ms: during.p99,
        latency: { before, during, after },
        reconnects: sessions.reconnects(this.from, this.effectTo),
        rejected: tallyErrors(ledger, msgs, { fromMs: this.from, toMs: this.effectTo }),
      },
    };
  }
}

function windowLatency(t: Trend): WindowLatency {
  if (t.count === 0) return { count: 0, p50: null, p99: null };
  const s = t.summary();
  return { count: s.count, p50: s.p50, p99: s.p99 };
}

/**
 * The connection rows grouped by device in time order, so each fault can ask
 * which sessions it ended and when those devices were back. One device lives
 * in one worker, but merged or hand-built ledgers need not be ordered, hence
 * the sort (ties keep row order).
 */
export class Sessions {
  private readonly order: Uint32Array;

  constructor(private readonly ledger: Ledger) {
    const { dev, at } = ledger.connections.cols;
    this.order = new Uint32Array(ledger.connections.length).map((_, i) => i).sort((a, b) => dev[a] - dev[b] || at[a] - at[b]);
  }

  /**
   * Devices whose session ended in [fromMs, toMs] other than by their own
   * close; for each, its first such disconnect to its next welcome.
   */
  reconnects(fromMs: number, toMs: number): ReconnectImpact {
    const { dev, at } = this.ledger.connections.cols;
    const o = this.order;
    const trend = new Trend();
    let devices = 0;
    let notBack = 0;
    for (let i = 0; i < o.length; ) {
      const d = dev[o[i]];
      let end = i;
      while (end < o.length && dev[o[end]] === d) end++;
      const down = this.firstDown(i, end, fromMs, toMs);
      if (down >= 0) {
        devices++;
        const up = this.nextUp(down + 1, end);
        if (up >= 0) trend.record(at[o[up]] - at[o[down]]);
        else notBack++;
      }
      i = end;
    }
    const s = trend.summary();
    const some = trend.count > 0;
    return { devices, p50Ms: some ? s.p50 : null, p99Ms: some ? s.p99 : null, maxMs: some ? s.max : null, notBack };
  }

  /** Position in `order` of the device's first session end in the window not closed by itself, else -1. */
  private firstDown(from: number, end: number, fromMs: number, toMs: number): number {
    const { at, kind, code } = this.ledger.connections.cols;
    for (let i = from; i < end; i++) {
      const r = this.order[i];
      if (kind[r] === CONN_DOWN && code[r] !== CLOSE_NORMAL && at[r] >= fromMs && at[r] <= toMs) return i;
    }
    return -1;
  }

  private nextUp(from: number, end: number): number {
    for (let i = from; i < end; i++) if (this.ledger.connections.cols.kind[this.order[i]] === CONN_UP) return i;
    return -1;
  }
}
