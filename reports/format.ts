/**
 * Shared formatting for the renderers: numbers a person reads, and the few
 * table/summary rows every output (terminal, Markdown, HTML) shows alike.
 */
import { Paths, type Path } from './ledger.ts';
import type { ErrorsReport, FaultReport, LatencySummary, PathReport, Report, ThresholdResult, WindowLatency } from './report.ts';

export function fmtInt(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  return Math.round(n).toLocaleString('en-US');
}

/** Milliseconds with precision that suits the magnitude: 0.123, 12.3, 1,234. */
export function fmtMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '–';
  const a = Math.abs(ms);
  if (a >= 100_000) return `${(ms / 1000).toFixed(1)}s`;
  if (a >= 1000) return fmtInt(ms);
  if (a >= 100) return ms.toFixed(0);
  if (a >= 10) return ms.toFixed(1);
  if (a >= 1) return ms.toFixed(2);
  return ms.toFixed(3);
}

export function fmtPct(ratio: number | null | undefined, digits = 3): string {
  if (ratio === null || ratio === undefined || !Number.isFinite(ratio)) return '–';
  return `${(ratio * 100).toFixed(digits)}%`;
}

export function fmtNum(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  if (Number.isInteger(n)) return fmtInt(n);
  return Math.abs(n) >= 100 ? n.toFixed(1) : Number(n.toPrecision(4)).toString();
}

export function fmtDuration(ms: number): string {
  if (ms < 1000) return `${fmtMs(ms)} ms`;
  const s = ms / 1000;
  if (s < 120) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - m * 60)} s`;
}

/** Paths that saw any traffic (all paths if none did, so tables are never empty). */
export function activePaths(report: Report): Path[] {
  const used = Paths.filter((p) => {
    const r = report.paths[p];
    return r && (r.expected > 0 || r.duplicatedTransport > 0 || r.duplicated > 0 || r.reordered > 0 || r.undecryptable > 0);
  });
  return used.length > 0 ? used : Paths.filter((p) => report.paths[p]);
}

export const DELIVERY_HEADER = ['path', 'expected', 'delivered', 'lost', 'pending', 'dup visible', 'dup transport', 'reordered', 'undecryptable', 'late', 'p50 ms', 'p99 ms', 'max ms'];

export function deliveryRow(label: string, r: PathReport): string[] {
  return [
    label,
    fmtInt(r.expected),
    fmtInt(r.delivered),
    fmtInt(r.lost),
    fmtInt(r.pending),
    fmtInt(r.duplicated),
    fmtInt(r.duplicatedTransport),
    fmtInt(r.reordered),
    fmtInt(r.undecryptable ?? 0),
    fmtInt(r.late),
    r.e2eMs.count ? fmtMs(r.e2eMs.p50) : '–',
    r.e2eMs.count ? fmtMs(r.e2eMs.p99) : '–',
    r.e2eMs.count ? fmtMs(r.e2eMs.max) : '–',
  ];
}

/** Per-path rows plus a total row. */
export function deliveryRows(report: Report): string[][] {
  const rows = activePaths(report).map((p) => deliveryRow(p, report.paths[p]));
  rows.push(deliveryRow('total', { ...report.delivery, e2eMs: report.latency.e2eMs }));
  return rows;
}

export const LATENCY_HEADER = ['latency (ms)', 'count', 'p50', 'p90', 'p99', 'p99.9', 'max', 'mean'];

const EMPTY: LatencySummary = { count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 };

export function latencyRows(report: Report): string[][] {
  const l = report.latency;
  const row = (label: string, s: LatencySummary) => [
    label,
    fmtInt(s.count),
    ...(s.count ? [s.p50, s.p90, s.p99, s.p999, s.max, s.mean].map(fmtMs) : ['–', '–', '–', '–', '–', '–']),
  ];
  return [
    row('e2e (from intended send)', l.e2eMs),
    row('e2e (from actual send)', l.e2eSendMs),
    row('ack', l.ackMs),
    row('driver send lag (fired - intended)', l.sendLagMs ?? EMPTY),
    row('delivered receipt', l.receiptMs.delivered),
    row('read receipt', l.receiptMs.read),
  ];
}

export const FAULT_HEADER = [
  'fault', 'target', 'at', 'for', 'sent', 'lost', 'dup visible', 'reconnected', 'not back', 'reconnect p50 ms', 'reconnect p99 ms', 'rejected',
];

/** `code count (retried n → ok m)` per code, most frequent first; `arrow` lets the terminal stay ASCII. */
export function rejectedText(r: ErrorsReport | undefined, arrow = '→'): string {
  if (!r) return '–';
  if (r.total === 0) return 'none';
  return Object.entries(r.byCode)
    .sort((a, b) => b[1].count - a[1].count)
    .map(([code, c]) => `${code} ${fmtInt(c.count)}${c.retried ? ` (retried ${fmtInt(c.retried)} ${arrow} ok ${fmtInt(c.retriedOk)})` : ''}`)
    .join('; ');
}

function reconnectedText(f: FaultReport): string {
  const r = f.impact?.reconnects;
  return r ? `${fmtInt(r.devices - r.notBack)} of ${fmtInt(r.devices)}` : '–';
}

/** One row per fault: what it did, apart from latency (see faultLatencyRows). */
export function faultRows(report: Report, arrow = '→'): string[][] {
  return report.faults.map((f) => {
    const i = f.impact;
    return [
      f.observed ? `${f.kind} (observed)` : f.kind,
      f.target,
      fmtDuration(f.startMs),
      fmtDuration(f.endMs - f.startMs),
      fmtInt(i?.sent),
      fmtInt(i?.lost),
      fmtInt(i?.duplicated),
      reconnectedText(f),
      fmtInt(i?.reconnects?.notBack),
      fmtMs(i?.reconnects?.p50Ms),
      fmtMs(i?.reconnects?.p99Ms),
      rejectedText(i?.rejected, arrow),
    ];
  });
}

export const FAULT_LATENCY_HEADER = ['fault', 'before p50', 'before p99', 'during p50', 'during p99', 'after p50', 'after p99'];

/** e2e ms around each fault; blanks where a window had no deliveries. */
export function faultLatencyRows(report: Report): string[][] {
  const cells = (w: WindowLatency | undefined) => (w && w.count > 0 ? [fmtMs(w.p50), fmtMs(w.p99)] : ['–', '–']);
  return report.faults.map((f) => {
    const l = f.impact?.latency;
    return [`${f.kind} ${f.target}`, ...cells(l?.before), ...cells(l?.during), ...cells(l?.after)];
  });
}

export const FAULT_LATENCY_NOTE =
  'e2e latency (ms) of messages sent in a window as long as the fault just before it, during it, and just after it.';

export const THRESHOLD_HEADER = ['', 'metric', 'threshold', 'actual', 'faults in its window'];

/** A threshold's metric as the tables show it: one the checker set itself (not the scenario) says so. */
export function thresholdMetric(t: ThresholdResult): string {
  return t.implicit ? `${t.metric} (checker's own)` : t.metric;
}

/** A failed threshold names the faults in its window (scheduled or observed): the likely cause beside the verdict. */
export function thresholdRows(report: Report): string[][] {
  return report.thresholds.map((t) => [
    t.passed ? 'PASS' : 'FAIL', thresholdMetric(t), t.expression, t.actual === null ? 'no data' : fmtNum(t.actual), t.passed ? '' : (t.faults?.join('; ') ?? 'none'),
  ]);
}

export function headline(report: Report): string {
  const failed = report.thresholds.filter((t) => !t.passed).length;
  const total = report.thresholds.length;
  // A verdict over latencies the driver set says so: the cluster was not what was measured.
  const limited = report.latency.driverLimited ? `, driver-limited: ${report.latency.driverLimited}` : '';
  if (report.passed) return total === 0 ? `PASSED (no thresholds set${limited})` : `PASSED (all ${total} thresholds${limited})`;
  return `FAILED (${failed} of ${total} thresholds${limited})`;
}

/** `duration` with its warm-up named: '32.0 s (warm-up 2.0 s excluded)'. */
export function durationText(report: Report): string {
  const w = report.warmupMs ?? 0;
  return w > 0 ? `${fmtDuration(report.durationMs)} (warm-up ${fmtDuration(w)} excluded)` : fmtDuration(report.durationMs);
}

/** Open-model arrivals that found no online sender (k6's dropped iterations); null when the engine did not count them. */
export function droppedIterations(report: Report): number | null {
  const m = report.meta ?? {};
  const n = m.droppedIterations ?? (m.sim as { droppedIterations?: unknown } | undefined)?.droppedIterations;
  return typeof n === 'number' ? n : null;
}

/** 'sent 1,000, acked 1,000, failed 0, dropped iterations 3' — every renderer's message counts. */
export function messagesText(report: Report): string {
  const m = report.messages;
  const dropped = droppedIterations(report);
  return `${fmtInt(m.sent)} sent, ${fmtInt(m.acked)} acked, ${fmtInt(m.failed)} failed` +
    (dropped === null ? '' : `, ${fmtInt(dropped)} dropped iterations (no online sender)`);
}

export function firstLostText(report: Report): string | null {
  const f = report.delivery.firstLost;
  if (!f) return null;
  return `first lost: msg ${f.msg} to device ${f.dev} via ${f.path}, sent at ${fmtDuration(Math.max(0, f.sentAtMs))}`;
}

export const E2EE_HEADER = ['end-to-end encryption', ''];

/** The e2ee section as rows (null without one): device CPU per message, what it set up, what failed, what it added to the wire. */
export function e2eeRows(report: Report): string[][] | null {
  const e = report.e2ee;
  if (!e) return null;
  const us = (s: { count: number; p50: number; p99: number }) => (s.count ? `${fmtInt(s.p50)} / ${fmtInt(s.p99)}` : '–');
  const wire: string[][] = [
    ['frames per message (all a device wrote in the load)', fmtNum(e.framesPerMessage)],
    ['bytes per message (all a device wrote in the load)', fmtInt(Math.round(e.bytesPerMessage))],
  ];
  if (e.mode === 'off') return [['mode', 'off (--no-e2ee): plaintext on the wire'], ['devices per user', fmtInt(e.devicesPerUser)], ...wire];
  const failed = Object.entries(e.undecryptable).map(([r, n]) => `${r} ${fmtInt(n)}`).join(', ');
  return [
    ['mode', e.mode === 'real' ? 'real: every device ran the crypto' : `modeled: calibrated cost${e.costSource ? ` (${e.costSource})` : ''}, no real keys`],
    ['devices per user', fmtInt(e.devicesPerUser)],
    ['messages encrypted', fmtInt(e.messages)],
    ['encrypt per message p50 / p99 (µs)', us(e.encryptUs)],
    ['decrypt per delivery p50 / p99 (µs)', us(e.decryptUs)],
    ['ciphertext overhead per message (bytes)', fmtInt(Math.round(e.overheadBytesPerMessage))],
    ...wire,
    ['sessions started / accepted', `${fmtInt(e.sessionsStarted)} / ${fmtInt(e.sessionsAccepted)}`],
    ['sessions accepted during the load (X3DH while measured)', fmtInt(e.sessionsAcceptedInLoad ?? e.sessionsAccepted)],
    ['introductions before the load', fmtInt(e.introductions ?? 0)],
    ['bundles fetched / published', `${fmtInt(e.bundlesFetched)} / ${fmtInt(e.bundlesPublished)}`],
    ['sessions from the signed pre-key alone (one-time pre-keys ran out)', fmtInt(e.signedPreKeyOnly)],
    ['identity changes seen', fmtInt(e.identityChanges)],
    ['signed pre-keys rotated', fmtInt(e.signedPreKeyRotations ?? 0)],
    ['sender keys distributed / rotated', `${fmtInt(e.senderKeysDistributed)} / ${fmtInt(e.senderKeyRotations)}`],
    ['sends resent for a stale view (devices / members)', `${fmtInt(e.devicesChanged)} / ${fmtInt(e.membersChanged)}`],
    ['channel messages (fan-out on read: not end-to-end encrypted)', fmtInt(e.channelMessages ?? 0)],
    ['media attachments sealed / opened', `${fmtInt(e.attachmentsSealed ?? 0)} / ${fmtInt(e.attachmentsOpened ?? 0)}`],
    ['undecryptable', failed === '' ? '0' : failed],
  ];
}

export const MEDIA_HEADER = ['media', ''];

/** Bytes in B, KB, MB or GB (powers of 1000, as network figures are given). */
export function fmtBytes(n: number): string {
  if (n < 1000) return `${fmtInt(n)} B`;
  const [v, unit] = n < 1e6 ? [n / 1e3, 'KB'] : n < 1e9 ? [n / 1e6, 'MB'] : [n / 1e9, 'GB'];
  return `${v >= 100 ? Math.round(v) : v.toFixed(1)} ${unit}`;
}

/** The media section as rows (null without one): uploads and downloads by kind, dedup, edges, transfer times. */
export function mediaRows(report: Report): string[][] | null {
  const m = report.media;
  if (!m) return null;
  const ms = (s: { count: number; p50: number; p99: number }) => (s.count ? `${fmtMs(s.p50)} / ${fmtMs(s.p99)}` : '–');
  const kinds = (k: Record<string, { count: number; bytes: number }>) =>
    Object.entries(k).sort((a, b) => b[1].bytes - a[1].bytes).map(([kind, c]) => `${kind} ${fmtInt(c.count)} (${fmtBytes(c.bytes)})`).join(', ') || '–';
  return [
    ['mode', m.mode === 'http' ? 'http: real uploads and downloads through the media service and its edges' : 'modeled: links and caches of the sim'],
    ['uploads / bytes sent', `${fmtInt(m.uploads.count)} / ${fmtBytes(m.uploads.bytes)}`],
    ['uploads by kind', kinds(m.uploads.byKind)],
    ['already stored (SHA-256): uploads / bytes not sent', `${fmtInt(m.uploads.deduplicated)} / ${fmtBytes(m.uploads.dedupBytes)}`],
    ['dedup ratio (bytes not stored again)', fmtPct(m.dedupRatio, 1)],
    ['forwards (object reused, nothing uploaded)', fmtInt(m.forwards)],
    ['uploads failed', fmtInt(m.uploads.failed)],
    ['downloads / bytes', `${fmtInt(m.downloads.count)} / ${fmtBytes(m.downloads.bytes)}`],
    ['downloads by kind', kinds(m.downloads.byKind)],
    ['downloads expired (shown as expired) / lost', `${fmtInt(m.downloads.expired)} / ${fmtInt(m.downloads.lost)}`],
    ['upload p50 / p99 (ms)', ms(m.uploadMs)],
    ['download p50 / p99 (ms)', ms(m.downloadMs)],
    ['download time to first byte p50 / p99 (ms)', ms(m.ttfbMs)],
    ['edge hit ratio (all edges)', fmtPct(m.edgeHitRatio, 1)],
    ...m.edges.map((e) => [`${e.id}: hits / requests, edge bytes, origin bytes`, `${fmtInt(e.hits)} / ${fmtInt(e.requests)} (${fmtPct(e.hitRatio, 1)}), ${fmtBytes(e.edgeBytes)}, ${fmtBytes(e.originBytes)}`]),
  ];
}

export const STORIES_HEADER = ['stories', ''];

/** The stories section as rows (null without one). */
export function storiesRows(report: Report): string[][] | null {
  const s = report.stories;
  if (!s) return null;
  const ms = (x: { count: number; p50: number; p99: number }) => (x.count ? `${fmtMs(x.p50)} / ${fmtMs(x.p99)}` : '–');
  const failed = Object.entries(s.failed).sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c} ${fmtInt(n)}`).join(', ');
  return [
    ['posts asked / posted (one write each)', `${fmtInt(s.posts)} / ${fmtInt(s.posted)}`],
    ['post answered p50 / p99 (ms)', ms(s.postMs)],
    ['lists asked / answers / stories listed (fan-out on read)', `${fmtInt(s.lists)} / ${fmtInt(s.listAnswers)} / ${fmtInt(s.storiesListed)}`],
    ['list answered p50 / p99 (ms)', ms(s.listMs)],
    ['views sent / view receipts posters got', `${fmtInt(s.views)} / ${fmtInt(s.viewReceipts)}`],
    ['view receipt p50 / p99 (ms, from the server\'s record of the view)', ms(s.viewReceiptMs)],
    ['failed', failed === '' ? '0' : failed],
  ];
}

/** Bits per second in bit/s, kbit/s, Mbit/s or Gbit/s (powers of 1000). */
export function fmtBitsPerSec(n: number): string {
  if (n < 1000) return `${fmtInt(n)} bit/s`;
  const [v, unit] = n < 1e6 ? [n / 1e3, 'kbit/s'] : n < 1e9 ? [n / 1e6, 'Mbit/s'] : [n / 1e9, 'Gbit/s'];
  return `${v >= 100 ? Math.round(v) : v.toFixed(1)} ${unit}`;
}

export const CALLS_HEADER = ['calls', ''];

/** `code n, code m`, most frequent first, or '0'. */
function byCode(counts: Record<string, number>): string {
  return Object.entries(counts).sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c} ${fmtInt(n)}`).join(', ') || '0';
}

/** The calls section as rows (null without one): outcomes, setup times, how media went (relayed or direct), the relay's load, packet loss and jitter, and the rings the checker judged. */
export function callsRows(report: Report): string[][] | null {
  const c = report.calls;
  if (!c) return null;
  const ms = (x: { count: number; p50: number; p99: number }) => (x.count ? `${fmtMs(x.p50)} / ${fmtMs(x.p99)}` : '–');
  const v = c.violations;
  return [
    ['attempted / placed (the node answered call.placed)', `${fmtInt(c.attempted)} / ${fmtInt(c.placed)}`],
    ['answered / rejected / busy / timed out / failed', [c.answered, c.rejected, c.busy, c.timedOut, c.failed].map(fmtInt).join(' / ')],
    ["skipped (the caller's user already in a call) / unresolved at the end", `${fmtInt(c.skipped ?? 0)} / ${fmtInt(c.unresolved ?? 0)}`],
    ['failed by reason', byCode(c.failedBy)],
    ['errors by code (frames refused, legs not opened, calls a callee saw end badly)', byCode(c.errors)],
    ['placed p50 / p99 (ms, offer written to call.placed)', ms(c.setup.placeMs)],
    ["ring setup p50 / p99 (ms, offer written to ringing on a callee's device)", ms(c.setup.ringMs)],
    ['answer setup p50 / p99 (ms, offer written to the answer, pick-up time included)', ms(c.setup.answerMs)],
    ['connect p50 / p99 (ms, answer to media flowing)', ms(c.setup.connectMs)],
    ['connected: relayed / direct', `${fmtInt(c.connected)}: ${fmtInt(c.relayed)} / ${fmtInt(c.direct)}`],
    ['relayed share (relayed / connected)', fmtPct(c.relayedShare, 1)],
    ['relay allocations open at once, at most', fmtInt(c.relay.allocationsPeak)],
    ['relay bandwidth in the busiest second (both directions)', fmtBitsPerSec(c.relay.peakMbps * 1e6)],
    ['bytes relayed (payload)', fmtBytes(c.relay.bytes)],
    ['media legs / packets sent / received', `${fmtInt(c.media.legs)} / ${fmtInt(c.media.packetsSent)} / ${fmtInt(c.media.packetsReceived)}`],
    ['media loss, every leg', fmtPct(c.media.lossPct / 100, 2)],
    ['packets sent that never arrived (dead paths\' tails, in flight at hangup)', fmtPct((c.media.undeliveredPct ?? 0) / 100, 2)],
    ['media loss, relayed legs', c.media.relayedLegs ? `${fmtPct(c.media.relayedLossPct / 100, 2)} (${fmtInt(c.media.relayedLegs)} legs)` : '–'],
    ['relayed jitter p50 / p99 (ms, RFC 3550)', ms(c.media.relayedJitterMs)],
    ["rings on callees' devices", fmtInt(c.rings)],
    ['late rings (offers delivered after their ring timeout)', fmtInt(v.lateRings)],
    ['phantom rings (rang on after the call was taken elsewhere, declined or over)', v.unjudged ? `${fmtInt(v.phantomRings)} (${fmtInt(v.unjudged)} rings not judged)` : fmtInt(v.phantomRings)],
  ];
}

/** The witness's own collector pauses, when it had any: each held the driver's CPU at the witness's priority. */
function witnessPauses(w: NonNullable<NonNullable<Report['driver']>['witness']>): string {
  const g = w.gcPauses;
  return g && g.count > 0 ? ` (its own GC paused ${fmtInt(g.count)} times, ${fmtMs(g.totalMs)} ms, on the driver's CPU)` : '';
}

export function driverText(report: Report): string | null {
  const d = report.driver;
  if (!d) return null;
  const gc = d.gcPauses && d.gcPauses.count > 0 ? `, GC pauses ${fmtInt(d.gcPauses.count)} (mean ${fmtMs(d.gcPauses.meanMs)} ms, max ${fmtMs(d.gcPauses.maxMs)} ms)` : '';
  const perFrame = d.cpuMsPerFrame !== undefined ? `, ${(d.cpuMsPerFrame * 1000).toFixed(0)} µs of CPU a frame` : '';
  const w = d.witness;
  const e2eP99 = report.latency.e2eMs.p99;
  const witness = w && w.messages > 0 && w.p99Ms !== null
    ? `, witness e2e p99 ${fmtMs(w.p99Ms)} ms at ${fmtNum(w.rate)} msgs/s${e2eP99 !== null && e2eP99 !== undefined ? ` (the driver's share ${fmtMs(Math.max(0, e2eP99 - w.p99Ms))} ms)` : ''}${w.missing > 0 ? `, ${fmtInt(w.missing)} of its messages missing` : ''}${witnessPauses(w)}`
    : w ? `, witness: none of its ${fmtInt(w.missing)} messages arrived${witnessPauses(w)}` : '';
  const base = `driver: CPU ${fmtNum(d.cpuPercent)}%, event-loop p99 ${fmtMs(d.eventLoopP99Ms)} ms${gc}${perFrame}${witness}`;
  const limited = report.latency.driverLimited;
  if (limited) return `${base} - DRIVER-LIMITED (${limited}): latencies include the load generator's own delay`;
  return d.bound ? `${base} - BOUND: the load generator was saturated, latencies may include its own delay` : base;
}

const NUMERIC = /^[-+]?[0-9.,]+(?:%|s| s| ms)?(?: \([-+]?[0-9.,]+%\))?$|^–$|^no data$/;

/** Columns whose cells are all numbers (or blanks) are right-aligned. */
export function numericColumns(header: string[], rows: string[][]): boolean[] {
  return header.map((_, c) => c > 0 && rows.length > 0 && rows.every((r) => NUMERIC.test(r[c] ?? '–')));
}

/** Aligns columns with spaces: numbers right, text left. */
export function textTable(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const right = numericColumns(header, rows);
  const widths = header.map((_, c) => Math.max(...all.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) => r.map((cell, c) => (right[c] ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function markdownTable(header: string[], rows: string[][]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const right = numericColumns(header, rows);
  const align = header.map((_, c) => (right[c] ? '---:' : ':---'));
  return [header.map(esc), align, ...rows.map((r) => r.map(esc))].map((r) => `| ${r.join(' | ')} |`).join('\n');
}
