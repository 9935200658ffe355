/**
 * summary.md: the run in a form that pastes into a pull request or an issue —
 * headline, run facts, delivery per path, latency, thresholds, errors, faults.
 */
import type { Report } from './report.ts';
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
  FAULT_HEADER,
  FAULT_LATENCY_HEADER,
  FAULT_LATENCY_NOTE,
  LATENCY_HEADER,
  THRESHOLD_HEADER,
  deliveryRows,
  driverText,
  durationText,
  faultLatencyRows,
  faultRows,
  firstLostText,
  fmtInt,
  fmtMs,
  fmtPct,
  headline,
  latencyRows,
  markdownTable,
  messagesText,
  thresholdRows,
} from './format.ts';
import { PENDING_VS_LOST, pendingText } from './pending.ts';

function facts(r: Report): string {
  const rows = [
    ['scenario', r.scenario],
    ['world', r.world],
    ['seed', String(r.seed)],
    ['started', r.startedAt],
    ['duration', durationText(r)],
    ['nodes', fmtInt(r.nodes)],
    ['devices', `${fmtInt(r.devices.planned)} planned, ${fmtInt(r.devices.connectedPeak)} peak connected`],
    ['messages', messagesText(r)],
    ['delivery ratio', fmtPct(r.delivery.ratio)],
  ];
  if (r.delivery.deliveredUnacked) rows.push(['delivered-unacked', fmtInt(r.delivery.deliveredUnacked)]);
  if (r.delivery.unexpected) rows.push(['unexpected deliveries', fmtInt(r.delivery.unexpected)]);
  return markdownTable(['run', ''], rows);
}

function e2eeSection(r: Report): string | null {
  const rows = e2eeRows(r);
  return rows ? `## End-to-end encryption\n\n${markdownTable(E2EE_HEADER, rows)}` : null;
}

function mediaSection(r: Report): string | null {
  const rows = mediaRows(r);
  return rows ? `## Media\n\n${markdownTable(MEDIA_HEADER, rows)}` : null;
}

function storiesSection(r: Report): string | null {
  const rows = storiesRows(r);
  return rows ? `## Stories\n\n${markdownTable(STORIES_HEADER, rows)}` : null;
}

function callsSection(r: Report): string | null {
  const rows = callsRows(r);
  return rows ? `## Calls\n\n${markdownTable(CALLS_HEADER, rows)}` : null;
}

function errors(r: Report): string | null {
  const entries = Object.entries(r.errors.byCode).sort((a, b) => b[1].count - a[1].count);
  if (entries.length === 0) return null;
  const rows = entries.map(([code, c]) => [`\`${code}\``, fmtInt(c.count), fmtInt(c.retried), fmtInt(c.retriedOk)]);
  return `## Errors\n\n${markdownTable(['code', 'count', 'retried', 'retried ok'], rows)}`;
}

function faults(r: Report): string | null {
  if (r.faults.length === 0) return null;
  return (
    `## Faults\n\n${markdownTable(FAULT_HEADER, faultRows(r))}\n\n` +
    `_${FAULT_LATENCY_NOTE}_\n\n${markdownTable(FAULT_LATENCY_HEADER, faultLatencyRows(r))}`
  );
}

export function renderMarkdown(report: Report): string {
  const mark = report.passed ? '✅' : '❌';
  const sections: (string | null)[] = [
    `# ${mark} ${report.scenario}: ${headline(report)}`,
    facts(report),
    `## Delivery by path\n\n${markdownTable(DELIVERY_HEADER, deliveryRows(report))}`,
    firstLostText(report),
    pendingText(report),
    `## Latency\n\n${markdownTable(LATENCY_HEADER, latencyRows(report))}\n\n_${report.latency.method}_ ` +
      `Late means e2e above ${fmtMs(report.latency.lateMs)} ms; lost means not delivered within ${fmtMs(report.latency.graceMs)} ms after the load stopped. ${PENDING_VS_LOST}`,
    report.thresholds.length
      ? `## Thresholds\n\n${markdownTable(THRESHOLD_HEADER, thresholdRows(report))}`
      : '## Thresholds\n\nNone set.',
    e2eeSection(report),
    mediaSection(report),
    storiesSection(report),
    callsSection(report),
    errors(report),
    faults(report),
    driverText(report),
  ];
  return sections.filter((s): s is string => s !== null).join('\n\n') + '\n';
}
