import type { Clock, TimerHandle } from './clock.ts';

interface Timer {
  due: number;
  order: number;
  fn: () => void;
  intervalMs: number;
  cancelled: boolean;
}

/**
 * Virtual time: nothing happens until `advance` or `runUntilIdle` is called.
 * Timers due at the same instant fire in the order they were set (ties broken
 * by a sequence number), so a run never depends on the host.
 */
export class VirtualClock implements Clock {
  private current: number;
  private seq = 0;
  private heap: Timer[] = [];

  constructor(startMs = Date.UTC(2026, 0, 1)) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, delayMs: number): TimerHandle {
    return this.push(fn, Math.max(0, delayMs), 0);
  }

  setInterval(fn: () => void, intervalMs: number): TimerHandle {
    return this.push(fn, Math.max(1, intervalMs), Math.max(1, intervalMs));
  }

  clear(handle: TimerHandle): void {
    (handle as Timer).cancelled = true;
  }

  /** Number of timers still scheduled (cancelled ones may be counted until popped). */
  get pending(): number {
    return this.heap.length;
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way. */
  advance(ms: number): void {
    this.runUntil(this.current + ms);
  }

  /** Fires timers in due order up to and including `untilMs`, then sets now to `untilMs`. */
  runUntil(untilMs: number): void {
    for (;;) {
      const top = this.heap[0];
      if (!top || top.due > untilMs) break;
      this.pop();
      if (top.cancelled) continue;
      this.current = Math.max(this.current, top.due);
      if (top.intervalMs > 0) {
        top.due = this.current + top.intervalMs;
        top.order = this.seq++;
        this.insert(top);
      }
      top.fn();
    }
    this.current = Math.max(this.current, untilMs);
  }

  /** Time of the next live timer, or undefined when none is scheduled. */
  nextDue(): number | undefined {
    while (this.heap[0]?.cancelled) this.pop();
    return this.heap[0]?.due;
  }

  private push(fn: () => void, delayMs: number, intervalMs: number): Timer {
    const t: Timer = { due: this.current + delayMs, order: this.seq++, fn, intervalMs, cancelled: false };
    this.insert(t);
    return t;
  }

  private less(a: Timer, b: Timer): boolean {
    return a.due < b.due || (a.due === b.due && a.order < b.order);
  }

  private insert(t: Timer): void {
    const h = this.heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
      if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}
