import type { Clock, TimerHandle } from './clock.ts';

interface Timer {
  due: number;
  order: number;
  /** Called with `a` and `b` (see `callAt`): a simulation sets millions of timers, and a closure each is garbage. */
  fn: (a?: unknown, b?: unknown) => void;
  a: unknown;
  b: unknown;
  intervalMs: number;
  cancelled: boolean;
  /** Position in the heap, -1 when not in it (fired, or cleared). */
  index: number;
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

  /**
   * Cancels a timer and takes it out of the heap at once: a simulation
   * clears millions of timers long before they are due (connect timeouts,
   * send retries), and keeping them would cost memory and heap depth.
   */
  clear(handle: TimerHandle): void {
    const t = handle as Timer;
    t.cancelled = true;
    if (t.index >= 0) this.removeAt(t.index);
  }

  /** Number of timers still scheduled. */
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
      if (top.a === undefined && top.b === undefined) top.fn();
      else top.fn(top.a, top.b);
    }
    this.current = Math.max(this.current, untilMs);
  }

  /** Time of the next live timer, or undefined when none is scheduled. */
  nextDue(): number | undefined {
    while (this.heap[0]?.cancelled) this.pop();
    return this.heap[0]?.due;
  }

  /**
   * `fn(a, b)` at `delayMs` from now: a timer like `setTimeout`'s, without a
   * closure to carry its arguments.
   */
  protected callLater<A, B>(fn: (a: A, b: B) => void, delayMs: number, a: A, b: B): TimerHandle {
    return this.push(fn as Timer['fn'], Math.max(0, delayMs), 0, a, b);
  }

  private push(fn: Timer['fn'], delayMs: number, intervalMs: number, a?: unknown, b?: unknown): Timer {
    const t: Timer = { due: this.current + delayMs, order: this.seq++, fn, a, b, intervalMs, cancelled: false, index: -1 };
    this.insert(t);
    return t;
  }

  private less(a: Timer, b: Timer): boolean {
    return a.due < b.due || (a.due === b.due && a.order < b.order);
  }

  private insert(t: Timer): void {
    this.heap.push(t);
    this.up(this.heap.length - 1, t);
  }

  private pop(): void {
    this.removeAt(0);
  }

  private removeAt(i: number): void {
    const h = this.heap;
    const gone = h[i]!;
    gone.index = -1;
    const last = h.pop()!;
    if (i === h.length) return;
    if (i > 0 && this.less(last, h[(i - 1) >> 1]!)) this.up(i, last);
    else this.down(i, last);
  }

  /** Places `t` at `i` or above, moving larger parents down. */
  private up(i: number, t: Timer): void {
    const h = this.heap;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p]!;
      if (!this.less(t, parent)) break;
      h[i] = parent;
      parent.index = i;
      i = p;
    }
    h[i] = t;
    t.index = i;
  }

  /** Places `t` at `i` or below, moving smaller children up. */
  private down(i: number, t: Timer): void {
    const h = this.heap;
    const n = h.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const m = r < n && this.less(h[r]!, h[l]!) ? r : l;
      if (!this.less(h[m]!, t)) break;
      h[i] = h[m]!;
      h[i]!.index = i;
      i = m;
    }
    h[i] = t;
    t.index = i;
  }
}
