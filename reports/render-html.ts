/**
 * report.html: one self-contained file (chart.js inlined, no network) that a
 * person can open from a CI artifact: a pass/fail headline, the key figures,
 * four charts (latency over time, throughput, connected devices, latency
 * histogram) with fault windows marked, and the delivery, latency,
 * threshold, error and fault tables.
 */
import type { Report } from './report.ts';
import { CHART_SCRIPT, chartData, chartJs, scriptJson } from './html-charts.ts';
import { PENDING_VS_LOST, pendingText } from './pending.ts';
import {
  DELIVERY_HEADER,
  FAULT_HEADER,
  FAULT_LATENCY_HEADER,
  FAULT_LATENCY_NOTE,
  LATENCY_HEADER,
  deliveryRows,
  driverText,
  E2EE_HEADER,
  e2eeRows,
  MEDIA_HEADER,
  mediaRows,
  STORIES_HEADER,
  storiesRows,
  CALLS_HEADER,
  callsRows,
  durationText,
  faultLatencyRows,
  faultRows,
  firstLostText,
  fmtInt,
  fmtMs,
  fmtNum,
  fmtPct,
  headline,
  latencyRows,
  messagesText,
  numericColumns,
  thresholdMetric,
} from './format.ts';

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function table(header: string[], rows: string[][], rowClass?: (row: string[], i: number) => string): string {
  const num = numericColumns(header, rows);
  const cell = (tag: string, text: string, c: number) => `<${tag}${num[c] ? ' class="num"' : ''}>${escapeHtml(text)}</${tag}>`;
  const th = header.map((h, c) => cell('th', h, c)).join('');
  const trs = rows
    .map((r, i) => {
      const cls = rowClass?.(r, i) ?? '';
      return `<tr${cls ? ` class="${cls}"` : ''}>${r.map((text, c) => cell('td', text, c)).join('')}</tr>`;
    })
    .join('\n');
  return `<table><thead><tr>${th}</tr></thead><tbody>${trs}</tbody></table>`;
}

function card(label: string, value: string, bad = false): string {
  return `<div class="card${bad ? ' bad' : ''}"><div class="v">${escapeHtml(value)}</div><div class="l">${escapeHtml(label)}</div></div>`;
}

function e2eeTable(r: Report): string {
  const rows = e2eeRows(r);
  return rows ? `<h2>End-to-end encryption</h2>${table(E2EE_HEADER, rows)}` : '';
}

function mediaTable(r: Report): string {
  const rows = mediaRows(r);
  return rows ? `<h2>Media</h2>${table(MEDIA_HEADER, rows)}` : '';
}

function storiesTable(r: Report): string {
  const rows = storiesRows(r);
  return rows ? `<h2>Stories</h2>${table(STORIES_HEADER, rows)}` : '';
}

function callsTable(r: Report): string {
  const rows = callsRows(r);
  return rows ? `<h2>Calls</h2>${table(CALLS_HEADER, rows)}` : '';
}

function cards(r: Report): string {
  const d = r.delivery;
  const e = r.latency.e2eMs;
  return `<section class="cards">${[
    card(`delivered of ${fmtInt(d.expected)}`, fmtInt(d.delivered)),
    card('delivery ratio', fmtPct(d.ratio), d.lost > 0),
    card('lost', fmtInt(d.lost), d.lost > 0),
    card('pending', fmtInt(d.pending)),
    card('shown twice', fmtInt(d.duplicated), d.duplicated > 0),
    card('out of order', fmtInt(d.reordered), d.reordered > 0),
    card('undecryptable', fmtInt(d.undecryptable), d.undecryptable > 0),
    card('e2e p50', e.count ? `${fmtMs(e.p50)} ms` : '–'),
    card('e2e p99', e.count ? `${fmtMs(e.p99)} ms` : '–'),
    card('ack p99', r.latency.ackMs.count ? `${fmtMs(r.latency.ackMs.p99)} ms` : '–'),
    card('errors', fmtInt(r.errors.total), r.errors.total > 0),
  ].join('')}</section>`;
}

function facts(r: Report): string {
  const items: [string, string][] = [
    ['world', r.world],
    ['seed', String(r.seed)],
    ['nodes', fmtInt(r.nodes)],
    ['devices', `${fmtInt(r.devices.planned)} planned, ${fmtInt(r.devices.connectedPeak)} peak connected`],
    ['messages', messagesText(r)],
    ['duration', durationText(r)],
    ['started', r.startedAt],
  ];
  return `<p class="facts">${items.map(([k, v]) => `<span><b>${escapeHtml(k)}</b> ${escapeHtml(v)}</span>`).join(' ')}</p>`;
}

function notes(r: Report): string {
  const lines = [firstLostText(r), pendingText(r), driverText(r)];
  if (r.delivery.deliveredUnacked) lines.push(`${fmtInt(r.delivery.deliveredUnacked)} deliveries of never-acked messages (not owed, not lost).`);
  if (r.delivery.unexpected) lines.push(`${fmtInt(r.delivery.unexpected)} deliveries to devices that were not expected to receive them.`);
  const html = lines.filter((l): l is string => l !== null).map((l) => `<li>${escapeHtml(l)}</li>`);
  const bound = r.driver?.bound ? ' warn' : '';
  return html.length ? `<ul class="notes${bound}">${html.join('')}</ul>` : '';
}

function chartsSection(): string {
  const box = (id: string, title: string) => `<figure><figcaption>${title}</figcaption><div class="chart"><canvas id="${id}"></canvas></div></figure>`;
  return `<section class="charts">${[
    box('chart-latency', 'e2e latency over time (p50, p99)'),
    box('chart-throughput', 'throughput'),
    box('chart-connected', 'connected devices'),
    box('chart-histogram', 'e2e latency distribution'),
  ].join('')}</section>`;
}

function thresholdsTable(r: Report): string {
  if (r.thresholds.length === 0) return '<p>No thresholds set.</p>';
  const rows = r.thresholds.map((t) => [t.passed ? 'pass' : 'FAIL', thresholdMetric(t), t.expression, t.actual === null ? 'no data' : fmtNum(t.actual)]);
  return table(['result', 'metric', 'threshold', 'actual'], rows, (row) => (row[0] === 'pass' ? 'ok' : 'fail'));
}

function errorsTable(r: Report): string {
  const entries = Object.entries(r.errors.byCode).sort((a, b) => b[1].count - a[1].count);
  if (entries.length === 0) return '';
  const rows = entries.map(([code, c]) => [code, fmtInt(c.count), fmtInt(c.retried), fmtInt(c.retriedOk)]);
  return `<h2>Errors</h2>${table(['code', 'count', 'retried', 'retried ok'], rows)}`;
}

function faultsTable(r: Report): string {
  if (r.faults.length === 0) return '';
  return (
    `<h2>Faults</h2>${table(FAULT_HEADER, faultRows(r))}` +
    `<p class="method">${escapeHtml(FAULT_LATENCY_NOTE)}</p>${table(FAULT_LATENCY_HEADER, faultLatencyRows(r))}`
  );
}

const CSS = `
:root { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #0f172a; background: #f8fafc; }
body { margin: 0 auto; max-width: 1200px; padding: 24px; }
header.banner { border-radius: 10px; padding: 16px 20px; color: #fff; }
header.pass { background: #15803d; } header.fail { background: #b91c1c; }
header h1 { margin: 0; font-size: 26px; } header .sub { opacity: .9; margin-top: 4px; }
.facts { line-height: 1.8; } .facts span { margin-right: 14px; white-space: nowrap; } .facts b { color: #475569; font-weight: 600; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(112px, 1fr)); gap: 10px; margin: 14px 0; }
.card { background: #fff; border: 1px solid #e2e8f0; border-radius: 8px; padding: 10px 12px; }
.card .v { font-size: 18px; font-weight: 650; white-space: nowrap; } .card .l { color: #64748b; font-size: 12px; }
.card.bad { border-color: #fca5a5; background: #fef2f2; } .card.bad .v { color: #b91c1c; }
.charts { display: grid; grid-template-columns: 1fr 1fr; gap: 14px; }
figure { margin: 0; background: #fff; border: 1px solid #e2e8f0; border-radius: 8px; padding: 10px; }
figcaption { font-weight: 600; margin-bottom: 6px; } .chart { position: relative; height: 260px; }
h2 { margin: 26px 0 8px; font-size: 18px; }
table { border-collapse: collapse; background: #fff; width: 100%; font-size: 13px; }
th, td { border-bottom: 1px solid #e2e8f0; padding: 6px 8px; text-align: left; font-variant-numeric: tabular-nums; }
th.num, td.num { text-align: right; } th { background: #f1f5f9; }
tr.fail td { color: #b91c1c; font-weight: 600; } tr.ok td:first-child { color: #15803d; }
tr.total td { font-weight: 650; border-top: 2px solid #94a3b8; }
.notes { background: #fff; border: 1px solid #e2e8f0; border-radius: 8px; padding: 10px 28px; }
.notes.warn { border-color: #f59e0b; background: #fffbeb; }
.method { color: #475569; font-size: 13px; }
@media (max-width: 800px) { .charts { grid-template-columns: 1fr; } }
`;

export function renderHtml(report: Report): string {
  const cls = report.passed ? 'pass' : 'fail';
  const deliveryTable = table(DELIVERY_HEADER, deliveryRows(report), (row) => (row[0] === 'total' ? 'total' : ''));
  const l = report.latency;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(`chatlab ${report.scenario}: ${report.passed ? 'passed' : 'FAILED'}`)}</title>
<style>${CSS}</style></head>
<body>
<header class="banner ${cls}"><h1>${escapeHtml(headline(report))}</h1><div class="sub">${escapeHtml(report.scenario)}</div></header>
${facts(report)}
${cards(report)}
${notes(report)}
${chartsSection()}
<h2>Delivery by path</h2>
${deliveryTable}
<h2>Latency</h2>
${table(LATENCY_HEADER, latencyRows(report))}
<p class="method">${escapeHtml(l.method)} Late: e2e above ${escapeHtml(fmtMs(l.lateMs))} ms. Lost: not delivered within ${escapeHtml(fmtMs(l.graceMs))} ms after the load stopped. ${escapeHtml(PENDING_VS_LOST)}</p>
<h2>Thresholds</h2>
${thresholdsTable(report)}
${e2eeTable(report)}
${mediaTable(report)}
${storiesTable(report)}
${callsTable(report)}
${errorsTable(report)}
${faultsTable(report)}
<script>${chartJs()}</script>
<script>window.CHATLAB_DATA = ${scriptJson(chartData(report))};</script>
<script>${CHART_SCRIPT}</script>
</body></html>
`;
}
