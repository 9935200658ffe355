/**
 * The report's timeline: fixed-width buckets from the run's start to the end
 * of the grace period (1 s, or wider so there are at most `maxBuckets`),
 * counting events by the time they happened, and gauges summed across the
 * workers that sampled them.
 */
import type { Ledger } from './ledger.ts';
import type { Timeline, TimelineBucket } from './report.ts';
import { BucketQuantiles } from './latency.ts';

export class TimelineBuilder {
  readonly bucketMs: number;
  readonly count: number;
  readonly quantiles: BucketQuantiles;
  private readonly sent: Uint32Array;
  private readonly acked: Uint32Array;
  private readonly delivered: Uint32Array;
  private readonly errors: Uint32Array;

  constructor(
    readonly startMs: number,
    endMs: number,
    maxBuckets: number,
  ) {
    const spanMs = Math.max(endMs - startMs, 1);
    this.bucketMs = Math.max(1000, Math.ceil(spanMs / maxBuckets / 1000) * 1000);
    this.count = Math.max(1, Math.ceil(spanMs / this.bucketMs));
    this.quantiles = new BucketQuantiles(this.count);
    this.sent = new Uint32Array(this.count);
    this.acked = new Uint32Array(this.count);
    this.delivered = new Uint32Array(this.count);
    this.errors = new Uint32Array(this.count);
  }

  /** Bucket of a run-clock time, or -1 outside the timeline. */
  bucket(atMs: number): number {
    const b = Math.floor((atMs - this.startMs) / this.bucketMs);
    return b >= 0 && b < this.count ? b : -1;
  }

  delivery(atMs: number, e2eMs: number): void {
    const b = this.bucket(atMs);
    if (b < 0) return;
    this.delivered[b]++;
    this.quantiles.record(b, e2eMs);
  }

  /** Counts sends, acks and errors straight from the ledger's columns. */
  countEvents(ledger: Ledger): void {
    tally(this, this.sent, ledger.sends.cols.sent, ledger.sends.length);
    tally(this, this.acked, ledger.acks.cols.at, ledger.acks.length);
    tally(this, this.errors, ledger.errors.cols.at, ledger.errors.length);
  }

  build(ledger: Ledger): { timeline: Timeline; connectedPeak: number } {
    const gauges = sweepGauges(ledger, this);
    const connected = gauges.series.get('connected');
    const buckets: TimelineBucket[] = [];
    for (let b = 0; b < this.count; b++) {
      buckets.push({
        t: (b * this.bucketMs) / 1000,
        sent: this.sent[b],
        acked: this.acked[b],
        delivered: this.delivered[b],
        errors: this.errors[b],
        connected: connected ? connected[b] : null,
        p50: this.quantiles.percentile(b, 50),
        p99: this.quantiles.percentile(b, 99),
      });
    }
    const other: Record<string, (number | null)[]> = {};
    for (const [name, series] of gauges.series) if (name !== 'connected') other[name] = series;
    return { timeline: { bucketMs: this.bucketMs, buckets, gauges: other }, connectedPeak: gauges.peaks.get('connected') ?? 0 };
  }
}

function tally(tl: TimelineBuilder, into: Uint32Array, times: Float64Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const b = tl.bucket(times[i]);
    if (b >= 0) into[b]++;
  }
}

interface GaugeSweep {
  /**
   * Per gauge: the summed value at the end of each bucket (null before the
   * first sample); for `connected`, the lowest sum at any sample in the
   * bucket, so a drop the devices recover from within the bucket still shows.
   */
  series: Map<string, (number | null)[]>;
  /** Per gauge: the highest sum at any sample instant. */
  peaks: Map<string, number>;
}

/**
 * Walks samples in time order keeping each source's latest value per gauge;
 * the gauge's value is the sum over sources, so two workers each holding
 * 5,000 connections read as 10,000.
 */
function sweepGauges(ledger: Ledger, tl: TimelineBuilder): GaugeSweep {
  const s = ledger.samples.cols;
  const order = Array.from({ length: ledger.samples.length }, (_, i) => i).sort((a, b) => s.at[a] - s.at[b]);
  const series = new Map<string, (number | null)[]>();
  const peaks = new Map<string, number>();
  const latest = new Map<number, Map<number, number>>();
  const totals = new Map<number, number>();
  const lows = new Array<number | null>(tl.count).fill(null);
  for (const i of order) {
    const field = s.field[i];
    let bySource = latest.get(field);
    if (!bySource) latest.set(field, (bySource = new Map()));
    const total = (totals.get(field) ?? 0) - (bySource.get(s.source[i]) ?? 0) + s.value[i];
    bySource.set(s.source[i], s.value[i]);
    totals.set(field, total);
    const name = ledger.sampleFields[field];
    peaks.set(name, Math.max(peaks.get(name) ?? -Infinity, total));
    const b = s.at[i] < tl.startMs ? 0 : tl.bucket(s.at[i]);
    if (b < 0) continue;
    let values = series.get(name);
    if (!values) series.set(name, (values = new Array<number | null>(tl.count).fill(null)));
    values[b] = total;
    // A low needs every source's figure: the first worker to sample must not read as the whole population.
    if (name === 'connected' && bySource.size >= ledger.sources) {
      const low = lows[b];
      lows[b] = low === null ? total : Math.min(low, total);
    }
  }
  for (const values of series.values()) forwardFill(values);
  const connected = series.get('connected');
  if (connected) for (let b = 0; b < connected.length; b++) if (lows[b] !== null) connected[b] = lows[b];
  return { series, peaks };
}

function forwardFill(values: (number | null)[]): void {
  for (let b = 1; b < values.length; b++) if (values[b] === null) values[b] = values[b - 1];
}
