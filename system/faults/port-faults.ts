import { PortError } from '../protocol/errors.ts';

interface Armed {
  fail: number;
  error?: Error;
  drop: number;
}

/**
 * A fault hook for memory adapters, so tests can make a port fail on demand.
 * Operations are named after the adapter's methods ('put', 'claim', 'publish').
 * Arming is counted: `failNext('put', 2)` fails the next two `put` calls, then
 * the port is healthy again. `Infinity` keeps it failing until `clear`.
 */
export class FaultSwitch {
  private readonly ops = new Map<string, Armed>();

  /** The next `n` calls of `op` reject with `error` (default: a PortError, outcome unknown). */
  failNext(op: string, n = 1, error?: Error): void {
    const a = this.armed(op);
    a.fail += n;
    a.error = error;
  }

  /** The next `n` units of `op` are silently lost (the call resolves as if it worked). */
  dropNext(op: string, n = 1): void {
    this.armed(op).drop += n;
  }

  /** Throws if a failure is armed for `op`; call it first in every async method. */
  check(op: string): void {
    const a = this.ops.get(op);
    if (!a || a.fail <= 0) return;
    a.fail--;
    throw a.error ?? new PortError(op, new Error(`injected fault in ${op}`));
  }

  /** True (and consumes one armed drop) if the next unit of `op` should be lost. */
  shouldDrop(op: string): boolean {
    const a = this.ops.get(op);
    if (!a || a.drop <= 0) return false;
    a.drop--;
    return true;
  }

  /** Disarms `op`, or every operation when none is named. */
  clear(op?: string): void {
    if (op === undefined) this.ops.clear();
    else this.ops.delete(op);
  }

  private armed(op: string): Armed {
    let a = this.ops.get(op);
    if (!a) this.ops.set(op, (a = { fail: 0, drop: 0 }));
    return a;
  }
}
