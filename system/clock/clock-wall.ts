import type { Clock, TimerHandle } from './clock.ts';

/** The real clock. Timers are unref'd so a forgotten timer never keeps a process alive. */
export class WallClock implements Clock {
  now(): number {
    return Date.now();
  }

  setTimeout(fn: () => void, delayMs: number): TimerHandle {
    const t = setTimeout(fn, Math.max(0, delayMs));
    t.unref();
    return t;
  }

  setInterval(fn: () => void, intervalMs: number): TimerHandle {
    const t = setInterval(fn, Math.max(1, intervalMs));
    t.unref();
    return t;
  }

  clear(handle: TimerHandle): void {
    clearTimeout(handle as NodeJS.Timeout);
  }
}
