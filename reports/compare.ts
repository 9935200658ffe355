/**
 * Two reports side by side (e.g. embedded vs local, before vs after a
 * change) with deltas. Works across worlds and scenarios: rows are matched
 * by name, and a row either side lacks shows "–".
 */
import { Paths } from './ledger.ts';
import type { LatencySummary, Report } from './report.ts';
import { fmtNum, markdownTable, textTable } from './format.ts';

/** Which direction is an improvement, so a delta can be labelled. */
export type Better = 'lower' | 'higher' | 'none';

export interface CompareRow {
  group: string;
  label: string;
  a: number | null;
  b: number | null;
  /** b - a, null when either is missing. */
  delta: number | null;
  /** (b - a) / a, null when a is 0 or missing. */
  deltaRatio: number | null;
  better: Better;
  /** 'better' | 'worse' | '' by `better` and the sign of delta. */
  verdict: 'better' | 'worse' | '';
}

export interface CompareOptions {
  format?: 'markdown' | 'text';
  /** Column titles (default: "A: world/scenario", "B: ..."). */
  labels?: [string, string];
}

type Getter = (r: Report) => number | null | undefined;
type Spec = [group: string, label: string, get: Getter, better: Better];

function latencySpecs(group: string, get: (r: Report) => LatencySummary | undefined): Spec[] {
  const keys: (keyof LatencySummary)[] = ['p50', 'p90', 'p99', 'p999', 'max', 'mean'];
  return keys.map((k) => [group, `${k} ms`, (r) => (get(r)?.count ? get(r)![k] : null), 'lower'] as Spec);
}

const SPECS: Spec[] = [
  ['run', 'duration ms', (r) => r.durationMs, 'none'],
  ['run', 'nodes', (r) => r.nodes, 'none'],
  ['run', 'devices planned', (r) => r.devices.planned, 'none'],
  ['run', 'peak connected', (r) => r.devices.connectedPeak, 'none'],
  ['messages', 'sent', (r) => r.messages.sent, 'none'],
  ['messages', 'acked', (r) => r.messages.acked, 'none'],
  ['messages', 'failed', (r) => r.messages.failed, 'lower'],
  ['delivery', 'expected', (r) => r.delivery.expected, 'none'],
  ['delivery', 'delivered', (r) => r.delivery.delivered, 'none'],
  ['delivery', 'ratio', (r) => r.delivery.ratio, 'higher'],
  ['delivery', 'lost', (r) => r.delivery.lost, 'lower'],
  ['delivery', 'pending', (r) => r.delivery.pending, 'lower'],
  ['delivery', 'dup visible', (r) => r.delivery.duplicated, 'lower'],
  ['delivery', 'dup transport', (r) => r.delivery.duplicatedTransport, 'lower'],
  ['delivery', 'reordered', (r) => r.delivery.reordered, 'lower'],
  ['delivery', 'undecryptable', (r) => r.delivery.undecryptable ?? 0, 'lower'],
  ['delivery', 'late', (r) => r.delivery.late, 'lower'],
  ...latencySpecs('e2e', (r) => r.latency.e2eMs),
  ['e2e uncorrected', 'p99 ms', (r) => (r.latency.e2eSendMs.count ? r.latency.e2eSendMs.p99 : null), 'lower'],
  ['ack', 'p50 ms', (r) => (r.latency.ackMs.count ? r.latency.ackMs.p50 : null), 'lower'],
  ['ack', 'p99 ms', (r) => (r.latency.ackMs.count ? r.latency.ackMs.p99 : null), 'lower'],
  ['receipts', 'delivered p99 ms', (r) => (r.latency.receiptMs.delivered.count ? r.latency.receiptMs.delivered.p99 : null), 'lower'],
  ['receipts', 'read p99 ms', (r) => (r.latency.receiptMs.read.count ? r.latency.receiptMs.read.p99 : null), 'lower'],
  ['errors', 'total', (r) => r.errors.total, 'lower'],
  ['driver', 'cpu %', (r) => r.driver?.cpuPercent, 'none'],
  ['e2ee', 'encrypt p99 µs', (r) => (r.e2ee?.encryptUs.count ? r.e2ee.encryptUs.p99 : null), 'lower'],
  ['e2ee', 'decrypt p99 µs', (r) => (r.e2ee?.decryptUs.count ? r.e2ee.decryptUs.p99 : null), 'lower'],
  ['e2ee', 'bytes per message', (r) => r.e2ee?.bytesPerMessage, 'lower'],
  ['e2ee', 'frames per message', (r) => r.e2ee?.framesPerMessage, 'lower'],
  ['e2ee', 'undecryptable', (r) => (r.e2ee ? Object.values(r.e2ee.undecryptable).reduce((a, b) => a + b, 0) : null), 'lower'],
  ['driver', 'send lag p99 ms', (r) => (r.latency.sendLagMs?.count ? r.latency.sendLagMs.p99 : null), 'lower'],
  ['thresholds', 'failed', (r) => r.thresholds.filter((t) => !t.passed).length, 'lower'],
];

function pathSpecs(a: Report, b: Report): Spec[] {
  const used = Paths.filter((p) => (a.paths[p]?.expected ?? 0) > 0 || (b.paths[p]?.expected ?? 0) > 0);
  return used.flatMap((p): Spec[] => [
    [`path ${p}`, 'delivered', (r) => r.paths[p]?.delivered, 'none'],
    [`path ${p}`, 'lost', (r) => r.paths[p]?.lost, 'lower'],
    [`path ${p}`, 'pending', (r) => r.paths[p]?.pending, 'lower'],
    [`path ${p}`, 'p99 ms', (r) => (r.paths[p]?.e2eMs.count ? r.paths[p].e2eMs.p99 : null), 'lower'],
  ]);
}

function value(get: Getter, r: Report): number | null {
  try {
    const v = get(r);
    return typeof v === 'number' && Number.isFinite(v) ? v : null;
  } catch {
    return null; // an older or partial report lacking the field
  }
}

function verdict(delta: number | null, better: Better): CompareRow['verdict'] {
  if (delta === null || delta === 0 || better === 'none') return '';
  return (delta < 0) === (better === 'lower') ? 'better' : 'worse';
}

/** The structured comparison: one row per metric present in either report. */
export function compareRows(a: Report, b: Report): CompareRow[] {
  return [...SPECS, ...pathSpecs(a, b)].map(([group, label, get, better]) => {
    const va = value(get, a);
    const vb = value(get, b);
    const delta = va === null || vb === null ? null : vb - va;
    const deltaRatio = delta === null || va === 0 || va === null ? null : delta / va;
    return { group, label, a: va, b: vb, delta, deltaRatio, better, verdict: verdict(delta, better) };
  });
}

function deltaText(row: CompareRow): string {
  if (row.delta === null) return '–';
  if (row.delta === 0) return '0';
  const sign = row.delta > 0 ? '+' : '';
  const pct = row.deltaRatio === null ? '' : ` (${sign}${(row.deltaRatio * 100).toFixed(1)}%)`;
  return `${sign}${fmtNum(row.delta)}${pct}`;
}

function title(r: Report): string {
  return `${r.world}/${r.scenario} seed ${r.seed} ${r.passed ? 'PASSED' : 'FAILED'}`;
}

/** Markdown (default) or plain text: metric, A, B, delta, verdict. */
export function compare(a: Report, b: Report, opts: CompareOptions = {}): string {
  const [la, lb] = opts.labels ?? [title(a), title(b)];
  const header = ['metric', 'A', 'B', 'delta', ''];
  const rows = compareRows(a, b).map((r) => [`${r.group} ${r.label}`, fmtNum(r.a), fmtNum(r.b), deltaText(r), r.verdict]);
  if (opts.format === 'text') return `A: ${la}\nB: ${lb}\n\n${textTable(header, rows)}\n`;
  return `# Compare\n\n- **A**: ${la}\n- **B**: ${lb}\n\n${markdownTable(header, rows)}\n`;
}
