/**
 * k6-style thresholds: a map from metric name to expressions such as
 * `p(99)<50`, `avg<20`, `count==0`, `rate>0.999`. A metric may carry one tag
 * filter like k6's `e2e_latency{path:cross-node}`.
 *
 * Aggregations by metric kind (as in k6):
 *   trend   — p(N), avg, min, max, med, count   (ms)
 *   counter — count, rate (per second over the run's duration)
 *   rate    — rate (a fraction 0..1)
 *   gauge   — value
 * A trend with no samples has no p/avg/min/max/med: the threshold fails
 * ("no data") rather than passing silently. A trend the report keeps only
 * as a LatencySummary (the calls' setup times and jitter) has the
 * percentiles the summary holds and no others: p(N) of another N is refused.
 */
import { Paths } from './ledger.ts';
import type { LatencySummary, ThresholdResult } from './report.ts';

export type MetricKind = 'trend' | 'counter' | 'rate' | 'gauge';
export type Aggregation = 'p' | 'avg' | 'min' | 'max' | 'med' | 'count' | 'rate' | 'value';
export type Operator = '<' | '<=' | '>' | '>=' | '==' | '!=';

interface MetricDef {
  kind: MetricKind;
  /** The one tag key this metric may be filtered by. */
  tag?: 'path' | 'code';
  doc: string;
  /** A trend known only by its summary: the percentiles it holds (min, med and max come with it). */
  percentiles?: readonly number[];
}

/** The percentiles a LatencySummary holds. */
export const SUMMARY_PERCENTILES = [50, 90, 99, 99.9] as const;

export const METRICS: Record<string, MetricDef> = {
  e2e_latency: { kind: 'trend', tag: 'path', doc: 'send → delivered on device, from the intended send time (ms)' },
  e2e_latency_uncorrected: { kind: 'trend', tag: 'path', doc: 'send → delivered, from the actual socket write (ms)' },
  ack_latency: { kind: 'trend', doc: 'intended send → server ack (ms)' },
  send_lag: { kind: 'trend', doc: "the driver's own lateness: actual first write − intended send (ms, open-model sends)" },
  pending_age: { kind: 'trend', tag: 'path', doc: 'age of the pending pairs: intended send → the stores were asked (ms)' },
  receipt_latency_delivered: { kind: 'trend', doc: 'intended send → sender sees the delivered receipt (ms)' },
  receipt_latency_read: { kind: 'trend', doc: 'intended send → sender sees the read receipt (ms)' },
  expected: { kind: 'counter', tag: 'path', doc: 'owed (msg, device) pairs' },
  delivered: { kind: 'counter', tag: 'path', doc: 'owed pairs delivered' },
  lost: { kind: 'counter', tag: 'path', doc: 'owed pairs not delivered by end + grace and in no store (all undelivered when the stores could not be asked)' },
  pending: { kind: 'counter', tag: 'path', doc: "owed pairs not delivered by end + grace but still in the recipient's inbox (late)" },
  duplicated_visible: { kind: 'counter', tag: 'path', doc: 'pairs shown to the user twice' },
  duplicated_transport: { kind: 'counter', tag: 'path', doc: 'pairs delivered again and dropped by the device' },
  reordered: { kind: 'counter', tag: 'path', doc: 'pairs shown out of conversation order' },
  undecryptable: { kind: 'counter', tag: 'path', doc: 'pairs that arrived but the device could not decrypt (end-to-end encryption)' },
  late: { kind: 'counter', tag: 'path', doc: 'pairs delivered after lateMs' },
  delivered_unacked: { kind: 'counter', doc: 'pairs delivered for never-acked messages' },
  unexpected: { kind: 'counter', doc: 'deliveries of acked messages to devices not expected' },
  errors: { kind: 'counter', tag: 'code', doc: 'errors seen by devices' },
  messages_sent: { kind: 'counter', doc: 'messages sent' },
  messages_acked: { kind: 'counter', doc: 'messages acked by the server' },
  messages_failed: { kind: 'counter', doc: 'messages sent and never acked' },
  failed: { kind: 'counter', doc: 'messages sent and never acked (short for messages_failed)' },
  delivery_ratio: { kind: 'rate', tag: 'path', doc: 'delivered / expected' },
  ack_ratio: { kind: 'rate', doc: 'acked / sent' },
  connected_peak: { kind: 'gauge', doc: 'most devices connected at once' },
  driver_cpu_percent: { kind: 'gauge', doc: 'load generator CPU, percent of one core' },
  driver_event_loop_p99_ms: { kind: 'gauge', doc: 'load generator event-loop delay p99 (ms)' },
  calls_attempted: { kind: 'counter', doc: 'calls the load asked devices to place' },
  calls_answered: { kind: 'counter', doc: 'calls a callee took that ended well (one whose media died is failed)' },
  calls_failed: { kind: 'counter', doc: 'calls that failed (any reason)' },
  calls_timed_out: { kind: 'counter', doc: 'calls no callee took, at least one letting them ring out' },
  calls_unresolved: { kind: 'counter', doc: 'calls whose caller never saw them end by the end of the run' },
  call_late_rings: { kind: 'counter', doc: "offers delivered to a callee's device after their ring timeout (implicitly count==0 when the run has calls)" },
  call_phantom_rings: { kind: 'counter', doc: 'rings still going after the call was answered elsewhere, declined or over (implicitly count==0 when the run has calls)' },
  call_ring_setup: { kind: 'trend', percentiles: SUMMARY_PERCENTILES, doc: "offer written → ringing on a callee's device (ms)" },
  call_answer_setup: { kind: 'trend', percentiles: SUMMARY_PERCENTILES, doc: 'offer written → answer at the caller, pick-up time included (ms)' },
  call_connect: { kind: 'trend', percentiles: SUMMARY_PERCENTILES, doc: 'answer at the caller → media flowing (ms)' },
  call_jitter: { kind: 'trend', percentiles: SUMMARY_PERCENTILES, doc: 'RFC 3550 interarrival jitter of relayed call legs (ms)' },
  call_media_loss: { kind: 'rate', doc: 'call media packets lost / (lost + received), every leg (0..1)' },
  call_relay_loss: { kind: 'rate', doc: 'call media packets lost / (lost + received), relayed legs (0..1)' },
};

const AGGREGATIONS: Record<MetricKind, Aggregation[]> = {
  trend: ['p', 'avg', 'min', 'max', 'med', 'count'],
  counter: ['count', 'rate'],
  rate: ['rate'],
  gauge: ['value'],
};

export interface Tag {
  key: string;
  value: string;
}

export interface Threshold {
  /** As written, e.g. `e2e_latency{path:direct}`. */
  metric: string;
  name: string;
  tag: Tag | null;
  expression: string;
  kind: MetricKind;
  aggregation: Aggregation;
  /** For p(N): N in 0..100. */
  percentile: number | null;
  operator: Operator;
  value: number;
}

/** A threshold that cannot be parsed or names an unknown metric; `text` is the offending input. */
export class ThresholdError extends Error {
  readonly code = 'E_THRESHOLD';
  constructor(
    message: string,
    readonly text: string,
  ) {
    super(`${message}: "${text}"`);
    this.name = 'ThresholdError';
  }
}

const METRIC_RE = /^\s*([a-z][a-z0-9_]*)\s*(?:\{\s*([a-z]+)\s*:\s*"?([A-Za-z0-9_.:-]+)"?\s*\})?\s*$/;
const EXPR_RE =
  /^\s*(p\(\s*([0-9]+(?:\.[0-9]+)?)\s*\)|avg|min|max|med|count|rate|value)\s*(<=|>=|===|==|!=|<|>)\s*(-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)\s*$/;

function parseMetric(metric: string): { name: string; def: MetricDef; tag: Tag | null } {
  const m = METRIC_RE.exec(metric);
  if (!m) throw new ThresholdError('malformed metric name', metric);
  const name = m[1];
  const def = METRICS[name];
  if (!def) throw new ThresholdError(`unknown metric (known: ${Object.keys(METRICS).join(', ')})`, metric);
  if (!m[2]) return { name, def, tag: null };
  if (m[2] !== def.tag) throw new ThresholdError(`metric ${name} cannot be filtered by tag ${m[2]}`, metric);
  if (m[2] === 'path' && !(Paths as readonly string[]).includes(m[3])) {
    throw new ThresholdError(`unknown path (known: ${Paths.join(', ')})`, metric);
  }
  return { name, def, tag: { key: m[2], value: m[3] } };
}

/** Parses one expression for one metric; throws ThresholdError naming the offending text. */
export function parseThreshold(metric: string, expression: string): Threshold {
  const { name, def, tag } = parseMetric(metric);
  if (typeof expression !== 'string') throw new ThresholdError('threshold must be a string', String(expression));
  const m = EXPR_RE.exec(expression);
  if (!m) throw new ThresholdError(`malformed threshold for ${metric}`, expression);
  const aggregation = (m[1].startsWith('p(') ? 'p' : m[1]) as Aggregation;
  if (!AGGREGATIONS[def.kind].includes(aggregation)) {
    const allowed = AGGREGATIONS[def.kind].map((a) => (a === 'p' ? 'p(N)' : a)).join(', ');
    throw new ThresholdError(`${metric} is a ${def.kind}; use ${allowed}`, expression);
  }
  const percentile = m[2] === undefined ? null : Number(m[2]);
  if (percentile !== null && !(percentile >= 0 && percentile <= 100)) {
    throw new ThresholdError('percentile must be within 0..100', expression);
  }
  if (percentile !== null && def.percentiles && !def.percentiles.includes(percentile)) {
    const held = def.percentiles.map((p) => `p(${p})`).join(', ');
    throw new ThresholdError(`${name} is kept as a summary with ${held} only (or avg, min, med, max, count)`, expression);
  }
  const operator = (m[3] === '===' ? '==' : m[3]) as Operator;
  return { metric: metric.trim(), name, tag, expression: expression.trim(), kind: def.kind, aggregation, percentile, operator, value: Number(m[4]) };
}

/** Parses a whole thresholds map (scenario validation calls this up front). */
export function parseThresholds(map: Record<string, string[]> | undefined): Threshold[] {
  const out: Threshold[] = [];
  for (const [metric, expressions] of Object.entries(map ?? {})) {
    if (!Array.isArray(expressions)) throw new ThresholdError('thresholds must be a list of strings', metric);
    for (const expression of expressions) out.push(parseThreshold(metric, expression));
  }
  return out;
}

/** What evaluation needs from a trend. */
export interface TrendLike {
  count: number;
  percentile(p: number): number | null;
  mean(): number | null;
}

/**
 * A trend read from its LatencySummary: p(50), p(90), p(99), p(99.9), min
 * (p(0)), max (p(100)) and the mean, as rounded there; any other
 * percentile is null (parseThreshold refuses it for such metrics first).
 */
export function summaryTrend(s: LatencySummary): TrendLike {
  const at = new Map<number, number>([[0, s.min], [50, s.p50], [90, s.p90], [99, s.p99], [99.9, s.p999], [100, s.max]]);
  return {
    count: s.count,
    percentile: (p) => (s.count === 0 ? null : (at.get(p) ?? null)),
    mean: () => (s.count === 0 ? null : s.mean),
  };
}

/** Measured values by metric; null means "no data". */
export interface MetricSource {
  durationMs: number;
  trend(name: string, tag: Tag | null): TrendLike | null;
  counter(name: string, tag: Tag | null): number | null;
  rate(name: string, tag: Tag | null): number | null;
  gauge(name: string): number | null;
}

function actualOf(t: Threshold, src: MetricSource): number | null {
  switch (t.kind) {
    case 'trend':
      return trendValue(t, src.trend(t.name, t.tag));
    case 'counter': {
      const count = src.counter(t.name, t.tag);
      if (count === null || t.aggregation === 'count') return count;
      return src.durationMs > 0 ? count / (src.durationMs / 1000) : null;
    }
    case 'rate':
      return src.rate(t.name, t.tag);
    case 'gauge':
      return src.gauge(t.name);
  }
}

function trendValue(t: Threshold, trend: TrendLike | null): number | null {
  if (t.aggregation === 'count') return trend?.count ?? 0;
  if (!trend || trend.count === 0) return null;
  switch (t.aggregation) {
    case 'p':
      return trend.percentile(t.percentile ?? 50);
    case 'med':
      return trend.percentile(50);
    case 'min':
      return trend.percentile(0);
    case 'max':
      return trend.percentile(100);
    default:
      return trend.mean();
  }
}

export function compareValues(actual: number, op: Operator, value: number): boolean {
  switch (op) {
    case '<':
      return actual < value;
    case '<=':
      return actual <= value;
    case '>':
      return actual > value;
    case '>=':
      return actual >= value;
    case '==':
      return actual === value;
    case '!=':
      return actual !== value;
  }
}

export function evaluateThreshold(t: Threshold, src: MetricSource): ThresholdResult {
  const raw = actualOf(t, src);
  const actual = raw === null ? null : Math.round(raw * 1e6) / 1e6;
  const passed = raw !== null && compareValues(raw, t.operator, t.value);
  return { metric: t.metric, expression: t.expression, actual, passed };
}
