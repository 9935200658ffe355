import { build, type Histogram } from 'hdr-histogram-js';
import type { LatencySummary } from '../../reports/report.ts';

/** An HDR histogram of integer µs, 3 significant digits, up to an hour: transfer times from ~0.3 ms to many seconds. */
export function usHistogram(): Histogram {
  return build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });
}

/** Records `ms` as whole µs (at least 1). */
export function recordMs(h: Histogram, ms: number): void {
  h.recordValue(Math.max(1, Math.round(ms * 1000)));
}

/** A LatencySummary in ms of a µs histogram. */
export function summaryMs(h: Histogram): LatencySummary {
  if (h.totalCount === 0) return { count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 };
  const ms = (v: number) => Math.round(v) / 1000;
  return {
    count: h.totalCount, min: ms(h.minNonZeroValue), mean: ms(h.mean), p50: ms(h.getValueAtPercentile(50)), p90: ms(h.getValueAtPercentile(90)),
    p99: ms(h.getValueAtPercentile(99)), p999: ms(h.getValueAtPercentile(99.9)), max: ms(h.maxValue),
  };
}
