/**
 * Latency accumulators for the checker.
 *
 * `Trend` is an HDR histogram (hdr-histogram-js, 3 significant digits,
 * recorded in integer microseconds so sub-millisecond latencies keep their
 * precision) plus exact count, sum, min and max. `BucketQuantiles` keeps a
 * small log histogram per timeline bucket (±1%) because hundreds of HDR
 * histograms would cost tens of MB. `DecadeBins` feeds the report's
 * histogram chart.
 */
import { build, type Histogram } from 'hdr-histogram-js';
import type { HistogramBin, LatencySummary } from './report.ts';

const US_PER_MS = 1000;

function round3(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

export function emptySummary(): LatencySummary {
  return { count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 };
}

export class Trend {
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;
  /** Values below zero (clock skew between processes) recorded as 0. */
  negatives = 0;
  private readonly hdr: Histogram = build({
    numberOfSignificantValueDigits: 3,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 2,
    autoResize: true,
  });

  record(ms: number): void {
    if (!Number.isFinite(ms)) return;
    let v = ms;
    if (v < 0) {
      this.negatives++;
      v = 0;
    }
    this.count++;
    this.sum += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
    this.hdr.recordValue(Math.round(v * US_PER_MS));
  }

  /** Adds another trend's values (exactly: HDR histograms add). */
  add(other: Trend): void {
    if (other.count === 0) return;
    this.count += other.count;
    this.sum += other.sum;
    this.negatives += other.negatives;
    this.min = Math.min(this.min, other.min);
    this.max = Math.max(this.max, other.max);
    this.hdr.add(other.hdr);
  }

  /** Value at percentile p (0..100) in ms, or null with no data; p(100) is the exact max. */
  percentile(p: number): number | null {
    if (this.count === 0) return null;
    if (p >= 100) return this.max;
    if (p <= 0) return this.min;
    const v = this.hdr.getValueAtPercentile(p) / US_PER_MS;
    return Math.min(Math.max(v, this.min), this.max);
  }

  mean(): number | null {
    return this.count === 0 ? null : this.sum / this.count;
  }

  summary(): LatencySummary {
    if (this.count === 0) return emptySummary();
    const at = (p: number) => round3(this.percentile(p) ?? 0);
    return {
      count: this.count,
      min: round3(this.min),
      mean: round3(this.sum / this.count),
      p50: at(50),
      p90: at(90),
      p99: at(99),
      p999: at(99.9),
      max: round3(this.max),
    };
  }
}

const LOG_RATIO = Math.log(1.02);
const LOG_BINS = 1200; // 1.02^1200 µs ≈ 2e10 µs: covers runs of several hours

function logBin(ms: number): number {
  const us = Math.max(1, ms * US_PER_MS);
  return Math.min(LOG_BINS - 1, Math.floor(Math.log(us) / LOG_RATIO));
}

function logBinMidMs(bin: number): number {
  return Math.exp((bin + 0.5) * LOG_RATIO) / US_PER_MS;
}

/** Percentiles per timeline bucket, ±1% (log bins of ratio 1.02), allocated lazily. */
export class BucketQuantiles {
  private readonly bins: (Uint32Array | undefined)[];
  private readonly counts: Uint32Array;

  constructor(readonly buckets: number) {
    this.bins = new Array<Uint32Array | undefined>(buckets);
    this.counts = new Uint32Array(buckets);
  }

  record(bucket: number, ms: number): void {
    if (bucket < 0 || bucket >= this.buckets || !Number.isFinite(ms)) return;
    let bins = this.bins[bucket];
    if (!bins) bins = this.bins[bucket] = new Uint32Array(LOG_BINS);
    bins[logBin(ms)]++;
    this.counts[bucket]++;
  }

  percentile(bucket: number, p: number): number | null {
    const bins = this.bins[bucket];
    const n = this.counts[bucket];
    if (!bins || n === 0) return null;
    const rank = Math.max(1, Math.ceil((p / 100) * n));
    let seen = 0;
    for (let i = 0; i < LOG_BINS; i++) {
      seen += bins[i];
      if (seen >= rank) return round3(logBinMidMs(i));
    }
    return null;
  }
}

const PER_DECADE = 10;

/** Log-spaced histogram for the chart: 10 bins per decade, from 1 µs. */
export class DecadeBins {
  private readonly counts = new Map<number, number>();

  record(ms: number): void {
    if (!Number.isFinite(ms)) return;
    const i = Math.floor(Math.log10(Math.max(ms, 0.001)) * PER_DECADE + 1e-9);
    this.counts.set(i, (this.counts.get(i) ?? 0) + 1);
  }

  /** Contiguous bins from the lowest to the highest occupied one (at most ~100). */
  toBins(): HistogramBin[] {
    if (this.counts.size === 0) return [];
    const keys = [...this.counts.keys()];
    const lo = Math.min(...keys);
    const hi = Math.max(...keys);
    const out: HistogramBin[] = [];
    for (let i = lo; i <= hi; i++) {
      out.push({ lo: edge(i), hi: edge(i + 1), count: this.counts.get(i) ?? 0 });
    }
    return out;
  }
}

function edge(i: number): number {
  return Number((10 ** (i / PER_DECADE)).toPrecision(3));
}
