import { VirtualClock } from '../../clock/clock-virtual.ts';
import type { TimerHandle } from '../../clock/clock.ts';

/** Resolves once every queued microtask (and any it queues) has run: a macrotask turn. */
export function flushMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * The same without a macrotask turn, when called from a microtask (a
 * continuation of `run`): Node runs process.nextTick callbacks only once V8's
 * microtask queue is empty, so the promise settles after every microtask
 * queued so far and every one they queue, and the event loop is not entered.
 * An event-loop turn (a setImmediate and an epoll poll) costs more than the
 * few events of a typical slot.
 */
function drainMicrotasks(): Promise<void> {
  return new Promise((resolve) => process.nextTick(resolve));
}

/**
 * Slots run between two event-loop turns: the host's own timers and I/O
 * (progress, profiling, test timeouts) still run every few milliseconds of
 * wall time. A count of slots, not wall time, so the run does not depend on
 * the host (nothing in the simulation uses the event loop's own timers).
 */
const SLOTS_PER_TURN = 256;

/**
 * The sim world's one event queue: a VirtualClock (a timer heap, ties broken
 * by a sequence number) driven by `run`, which fires timers in due order and
 * lets the Promise continuations they start settle before virtual time moves
 * on. Every link hop, service completion, device timer and node timer is a
 * timer here, so order never depends on the host.
 *
 * Timers due within one `resolutionMs` slot fire together, then the
 * microtasks they queued run (at the slot's end): the memory adapters are
 * Promise-based, so a flush per slot instead of per timer is what makes
 * millions of events affordable. Within a slot, order is still fixed by due
 * time and sequence number, so a run is reproducible exactly.
 */
export class SimClock extends VirtualClock {
  /** Timers scheduled so far: the simulation's event count. */
  events = 0;

  constructor(startMs: number, readonly resolutionMs = 0.1) {
    super(startMs);
    if (!(resolutionMs > 0)) throw new RangeError('resolutionMs must be > 0');
  }

  override setTimeout(fn: () => void, delayMs: number): TimerHandle {
    this.events++;
    return super.setTimeout(fn, delayMs);
  }

  /** A timer at an absolute virtual time (never in the past). */
  at(timeMs: number, fn: () => void): TimerHandle {
    return this.setTimeout(fn, timeMs - this.now());
  }

  /** `fn(a, b)` at an absolute virtual time (never in the past), with no closure: for the per-event timers of links and stores. */
  callAt<A, B>(timeMs: number, fn: (a: A, b: B) => void, a: A, b: B): TimerHandle {
    this.events++;
    return this.callLater(fn, timeMs - this.now(), a, b);
  }

  /** Resolves at `delayMs` from now in virtual time (only while `run` drives the clock). */
  sleep(delayMs: number): Promise<void> {
    return new Promise((resolve) => this.setTimeout(resolve, delayMs));
  }

  /**
   * Runs the simulation up to `untilMs` (virtual), or until `stop()` returns
   * true after a slot; returns whether it stopped early. Ends with now = untilMs
   * when it ran out of events or reached the end.
   */
  async run(untilMs: number, stop?: () => boolean): Promise<boolean> {
    const res = this.resolutionMs;
    await flushMicrotasks();
    if (stop?.()) return true;
    for (let slots = 1; ; slots++) {
      const due = this.nextDue();
      if (due === undefined || due > untilMs) break;
      const slotEnd = Math.min(untilMs, (Math.floor(due / res) + 1) * res);
      this.runUntil(slotEnd);
      await (slots % SLOTS_PER_TURN === 0 ? flushMicrotasks() : drainMicrotasks());
      if (stop?.()) return true;
    }
    if (Number.isFinite(untilMs) && untilMs > this.now()) {
      this.runUntil(untilMs);
      await flushMicrotasks();
    }
    return false;
  }

  /** Runs until `p` settles (the world keeps running meanwhile); rejects if time runs out first. */
  async settle<T>(p: Promise<T>, limitMs = 600_000, what = 'operation'): Promise<T> {
    let done = false;
    const out = p.finally(() => {
      done = true;
    });
    out.catch(() => {});
    await this.run(this.now() + limitMs, () => done);
    if (!done) throw new Error(`sim: ${what} did not complete within ${limitMs} ms of virtual time`);
    return out;
  }
}
