import { parseDuration } from '../../system/clock/duration.ts';
import type { Executor } from '../scenario.ts';

/**
 * Open-model arrivals for one executor in one worker: the worker's share of
 * the rate (1/workers), phase-shifted by worker index so workers interleave.
 * `next()` returns the intended time of the next iteration (ms since the load
 * started), or undefined when the executor is done. Closed-loop executors
 * (constant-vus) have no arrivals; the worker runs their loops.
 */
export class Arrivals {
  readonly startMs: number;
  readonly endMs: number;
  private t: number;
  private readonly rateAt: (t: number) => number;

  constructor(ex: Executor, worker: number, workers: number) {
    this.startMs = parseDuration(ex.startTime ?? '0s', 'startTime');
    const unitMs = ex.executor === 'constant-vus' ? 1000 : parseDuration(ex.timeUnit ?? '1s', 'timeUnit');
    if (ex.executor === 'constant-arrival-rate') {
      this.endMs = this.startMs + parseDuration(ex.duration);
      const perMs = ex.rate / unitMs / workers;
      this.rateAt = () => perMs;
    } else if (ex.executor === 'ramping-arrival-rate') {
      const stages = ex.stages.map((s) => ({ target: s.target, ms: parseDuration(s.duration, 'stage duration') }));
      this.endMs = this.startMs + stages.reduce((n, s) => n + s.ms, 0);
      const start = this.startMs;
      this.rateAt = (t) => {
        let from = ex.startRate;
        let at = start;
        for (const s of stages) {
          if (t < at + s.ms) return (from + ((s.target - from) * (t - at)) / s.ms) / unitMs / workers;
          from = s.target;
          at += s.ms;
        }
        return from / unitMs / workers;
      };
    } else {
      this.endMs = this.startMs + parseDuration(ex.duration);
      this.rateAt = () => 0;
    }
    const first = this.rateAt(this.startMs);
    this.t = this.startMs + (first > 0 ? ((worker + 0.5) / workers) / (first * workers) : 0);
  }

  next(): number | undefined {
    // A ramp may start at rate 0: step forward until the rate is positive.
    while (this.t < this.endMs) {
      const r = this.rateAt(this.t);
      if (r > 0) {
        const at = this.t;
        this.t += 1 / r;
        return at;
      }
      this.t += 10;
    }
    return undefined;
  }

  /** Peeks without consuming. */
  peek(): number | undefined {
    const saved = this.t;
    const v = this.next();
    this.t = saved;
    return v;
  }
}
