/**
 * The compact plain-text summary printed at the end of a run: ASCII only, no
 * colours, so it reads the same in a terminal, a CI log or a pasted issue.
 */
import type { FaultReport, Report, WindowLatency } from './report.ts';
import {
  DELIVERY_HEADER,
  E2EE_HEADER,
  e2eeRows,
  MEDIA_HEADER,
  mediaRows,
  STORIES_HEADER,
  storiesRows,
  CALLS_HEADER,
  callsRows,
  LATENCY_HEADER,
  THRESHOLD_HEADER,
  deliveryRows,
  driverText,
  durationText,
  firstLostText,
  fmtDuration,
  fmtInt,
  fmtMs,
  fmtPct,
  headline,
  latencyRows,
  messagesText,
  rejectedText,
  textTable,
  thresholdRows,
} from './format.ts';
import { pendingText } from './pending.ts';

export interface TerminalOptions {
  /** Show the latency table (default true). */
  latency?: boolean;
}

function runLine(r: Report): string {
  return (
    `${r.scenario}  world=${r.world}  seed=${r.seed}  nodes=${r.nodes}  ` +
    `devices=${fmtInt(r.devices.planned)} (peak connected ${fmtInt(r.devices.connectedPeak)})  ` +
    `duration=${durationText(r)}`
  );
}

function messageLine(r: Report): string {
  const d = r.delivery;
  return (
    `messages: ${messagesText(r)}; ` +
    `delivery ratio ${fmtPct(d.ratio)}` +
    (d.deliveredUnacked ? `, ${fmtInt(d.deliveredUnacked)} delivered-unacked` : '') +
    (d.unexpected ? `, ${fmtInt(d.unexpected)} UNEXPECTED deliveries` : '')
  );
}

function errorLine(r: Report): string | null {
  if (r.errors.total === 0) return null;
  const codes = Object.entries(r.errors.byCode)
    .sort((a, b) => b[1].count - a[1].count)
    .map(([code, c]) => `${code} ${fmtInt(c.count)} (retried ${fmtInt(c.retried)}, ok ${fmtInt(c.retriedOk)})`);
  return `errors: ${fmtInt(r.errors.total)} - ${codes.join(', ')}`;
}

function p50p99(w: WindowLatency): string {
  return w.count > 0 ? `${fmtMs(w.p50)}/${fmtMs(w.p99)}` : '–';
}

/** A fault on one line, its impact indented below. */
function faultLines(r: Report): string[] {
  return r.faults.flatMap((f: FaultReport) => {
    const i = f.impact;
    const seen = f.observed ? ` (observed, not scheduled${f.detail ? `: ${f.detail}` : ''})` : '';
    const head = `fault: ${f.kind} ${f.target}${seen} at ${fmtDuration(f.startMs)} for ${fmtDuration(f.endMs - f.startMs)}`;
    if (!i) return [head];
    const { before, during, after } = i.latency;
    const c = i.reconnects;
    const back = c.devices - c.notBack;
    const times = back > 0 ? ` (p50 ${fmtMs(c.p50Ms)} ms, p99 ${fmtMs(c.p99Ms)} ms)` : '';
    const sessions = c.devices === 0 ? 'no device disconnected' : `reconnected ${fmtInt(back)} of ${fmtInt(c.devices)}${times}, ${fmtInt(c.notBack)} not back`;
    return [
      `${head} - sent ${fmtInt(i.sent)}, lost ${fmtInt(i.lost)}, dup visible ${fmtInt(i.duplicated)}`,
      `  e2e p50/p99 ms: before ${p50p99(before)}, during ${p50p99(during)}, after ${p50p99(after)}`,
      `  ${sessions}; rejected: ${rejectedText(i.rejected, '->')}`,
    ];
  });
}

export function renderTerminal(report: Report, opts: TerminalOptions = {}): string {
  const parts: (string | null)[] = [
    `chatlab: ${headline(report)}`,
    runLine(report),
    messageLine(report),
    '',
    textTable(DELIVERY_HEADER, deliveryRows(report)),
    firstLostText(report),
    pendingText(report),
  ];
  if (opts.latency !== false) parts.push('', textTable(LATENCY_HEADER, latencyRows(report)));
  if (report.thresholds.length > 0) parts.push('', textTable(THRESHOLD_HEADER, thresholdRows(report)));
  const e2ee = e2eeRows(report);
  if (e2ee) parts.push('', textTable(E2EE_HEADER, e2ee));
  const media = mediaRows(report);
  if (media) parts.push('', textTable(MEDIA_HEADER, media));
  const stories = storiesRows(report);
  if (stories) parts.push('', textTable(STORIES_HEADER, stories));
  const calls = callsRows(report);
  if (calls) parts.push('', textTable(CALLS_HEADER, calls));
  parts.push('', errorLine(report), ...faultLines(report), driverText(report));
  return parts
    .filter((p): p is string => p !== null)
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd();
}
