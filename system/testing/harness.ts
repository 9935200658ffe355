import type { Clock } from '../clock/clock.ts';
import { VirtualClock } from '../clock/clock-virtual.ts';
import { WallClock } from '../clock/clock-wall.ts';

/**
 * What every conformance suite's factory returns besides the adapter under
 * test. The same suite runs in virtual time (memory adapters) and in real
 * time (Redis, Cassandra), so tests never wait by themselves: they call
 * `advance`, and keep TTLs short (<= 1500 ms) so real-time runs stay fast.
 */
export interface Harness {
  /** The clock the adapter reads: a VirtualClock for memory, a WallClock for real stores. */
  clock: Clock;
  /** Lets `ms` pass: `VirtualClock.advance` in virtual time, a real sleep otherwise. */
  advance(ms: number): Promise<void>;
  /**
   * Extra time a store may take past a TTL before the entry is really gone
   * (coarse expiry, e.g. Cassandra's whole seconds). Default 0.
   */
  ttlSlackMs?: number;
  /** Releases connections; a memory harness has nothing to release. */
  close(): Promise<void>;
}

/** Resolves after pending microtasks and I/O callbacks have run. */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Real-time sleep, for harnesses over real stores. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A harness in virtual time: `advance` fires due timers and lets async work settle. */
export function virtualHarness(startMs?: number): Harness & { clock: VirtualClock } {
  const clock = new VirtualClock(startMs);
  return {
    clock,
    async advance(ms) {
      await flush();
      clock.advance(ms);
      await flush();
    },
    async close() {},
  };
}

/** A harness in wall-clock time: `advance` really sleeps. */
export function wallHarness(ttlSlackMs = 0): Harness {
  return {
    clock: new WallClock(),
    advance: sleep,
    ttlSlackMs,
    async close() {},
  };
}

let counter = 0;

/**
 * A name no other test (in this run or an earlier one against the same store)
 * has used, so real stores need no flushing between tests. Made of letters,
 * digits and '-', so it is a valid UserId; append `.1` for a DeviceId.
 */
export function unique(h: Harness, prefix = 'k'): string {
  counter++;
  return `${prefix}-${process.pid.toString(36)}${h.clock.now().toString(36)}-${counter}`;
}

/** Polls `check` until it returns true, failing after `timeoutMs` of real time. */
export async function waitFor(check: () => boolean, what: string, timeoutMs = 2000): Promise<void> {
  await flush();
  for (let waited = 0; !check(); waited += 5) {
    if (waited >= timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

/**
 * Runs `fn` and returns the promise rejections nobody handled meanwhile
 * (settled one macrotask after it): in a live process each would end it.
 */
export async function unhandledRejectionsOf(fn: () => Promise<unknown>): Promise<unknown[]> {
  const seen: unknown[] = [];
  const listener = (reason: unknown) => seen.push(reason);
  process.on('unhandledRejection', listener);
  try {
    await fn();
    await new Promise((r) => setImmediate(r));
  } finally {
    process.off('unhandledRejection', listener);
  }
  return seen;
}
