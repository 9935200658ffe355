import type { Clock } from '../clock/clock.ts';

/** 2024-01-01T00:00:00Z: ids stay short for decades. */
const EPOCH_MS = Date.UTC(2024, 0, 1);
const MAX_NODE = 0xfff;
const MAX_COUNTER = 0xffff;

/**
 * Snowflake-style ids as 18 lowercase hex characters: 11 for milliseconds
 * since EPOCH_MS, 3 for the node number, 4 for a per-millisecond counter.
 * Fixed width, so string order is time order, which the Inbox relies on.
 *
 * Guarantee: ids from one generator strictly increase, even if the clock
 * stalls or steps back (the generator then borrows from its last timestamp);
 * ids from generators with different node numbers never collide.
 */
export class Snowflake {
  private lastMs = 0;
  private counter = 0;
  /** Hex of lastMs and the node number, reused while the millisecond lasts. */
  private prefix = '';
  private prefixMs = -1;

  constructor(private readonly clock: Clock, readonly nodeNumber: number) {
    if (!Number.isInteger(nodeNumber) || nodeNumber < 0 || nodeNumber > MAX_NODE) {
      throw new RangeError(`node number must be an integer in [0, ${MAX_NODE}], got ${nodeNumber}`);
    }
  }

  next(): string {
    let ms = Math.max(0, Math.floor(this.clock.now() - EPOCH_MS));
    if (ms <= this.lastMs) {
      ms = this.lastMs;
      if (++this.counter > MAX_COUNTER) {
        ms = ++this.lastMs;
        this.counter = 0;
      }
    } else {
      this.counter = 0;
    }
    this.lastMs = ms;
    if (ms !== this.prefixMs) {
      this.prefixMs = ms;
      this.prefix = hex(ms, 11) + hex(this.nodeNumber, 3);
    }
    return this.prefix + hex(this.counter, 4);
  }

  /** Milliseconds since the Unix epoch encoded in an id. */
  static timeOf(id: string): number {
    return parseInt(id.slice(0, 11), 16) + EPOCH_MS;
  }

  static nodeOf(id: string): number {
    return parseInt(id.slice(11, 14), 16);
  }
}

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}
