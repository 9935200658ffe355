import type { Random } from '../../random/random.ts';

/**
 * A latency or service-time distribution, in milliseconds. Plain data, so a
 * calibration file can carry it and a report can show which one a run used.
 *
 * - `constant`: always `ms`.
 * - `lognormal`: fixed by its median and 99th percentile (the two figures
 *   people quote for a link), the usual shape of network and disk latency.
 * - `empirical`: measured quantiles, equally spaced in probability from the
 *   minimum to the maximum (a calibration run writes 101 of them); sampled by
 *   inverse transform with linear interpolation.
 */
export type Dist =
  | { kind: 'constant'; ms: number }
  | { kind: 'lognormal'; p50Ms: number; p99Ms: number }
  | { kind: 'empirical'; quantilesMs: number[] };

/** z of the 99th percentile of the standard normal. */
export const Z99 = 2.326347874;

/** Draws one value (ms, >= 0) from `d` using `random` only, so a seed replays it. */
export function sample(d: Dist, random: Random): number {
  switch (d.kind) {
    case 'constant':
      return d.ms;
    case 'lognormal': {
      if (d.p99Ms <= d.p50Ms) return d.p50Ms;
      const sigma = Math.log(d.p99Ms / d.p50Ms) / Z99;
      return d.p50Ms * Math.exp(sigma * normal(random));
    }
    case 'empirical': {
      const q = d.quantilesMs;
      if (q.length === 1) return q[0]!;
      const x = random.next() * (q.length - 1);
      const i = Math.floor(x);
      const lo = q[i]!;
      const hi = q[Math.min(i + 1, q.length - 1)]!;
      return lo + (hi - lo) * (x - i);
    }
  }
}

/** The median of `d`, for summaries and the planner. */
export function median(d: Dist): number {
  if (d.kind === 'constant') return d.ms;
  if (d.kind === 'lognormal') return d.p50Ms;
  return d.quantilesMs[Math.floor((d.quantilesMs.length - 1) / 2)]!;
}

/** The mean of `d` (capacity arithmetic uses it: a server's throughput is 1 / mean service time). */
export function mean(d: Dist): number {
  if (d.kind === 'constant') return d.ms;
  if (d.kind === 'lognormal') {
    if (d.p99Ms <= d.p50Ms) return d.p50Ms;
    const sigma = Math.log(d.p99Ms / d.p50Ms) / Z99;
    return d.p50Ms * Math.exp((sigma * sigma) / 2);
  }
  const q = d.quantilesMs;
  return q.reduce((a, b) => a + b, 0) / q.length;
}

/** Quantiles (count of them, equally spaced in probability) of measured values, for an empirical Dist. */
export function empiricalFrom(values: readonly number[], count = 101): Dist {
  if (values.length === 0) throw new RangeError('empiricalFrom: no values');
  const sorted = [...values].sort((a, b) => a - b);
  const quantilesMs: number[] = [];
  for (let i = 0; i < count; i++) {
    const at = (i / (count - 1)) * (sorted.length - 1);
    const lo = Math.floor(at);
    const hi = Math.min(lo + 1, sorted.length - 1);
    quantilesMs.push(round3(sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo)));
  }
  return { kind: 'empirical', quantilesMs };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** Standard normal by Box-Muller from two uniforms of `random`. */
export function normal(random: Random): number {
  const u = 1 - random.next();
  const v = random.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}
