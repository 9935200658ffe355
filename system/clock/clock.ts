/**
 * Time for the node core and everything that schedules work.
 *
 * Guarantee: `now()` never goes backwards for one Clock instance; a timer fires
 * at or after its due time, never before, and never after it was cancelled.
 * The core reads time only through this port so the simulator can run it in
 * virtual time.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch (virtual in the sim world). */
  now(): number;
  /** Runs `fn` once after `delayMs`. */
  setTimeout(fn: () => void, delayMs: number): TimerHandle;
  /** Runs `fn` every `intervalMs` until cleared. */
  setInterval(fn: () => void, intervalMs: number): TimerHandle;
  clear(handle: TimerHandle): void;
}

/** Opaque timer handle; only the Clock that made it can clear it. */
export type TimerHandle = { readonly __timer: unique symbol } | object;
