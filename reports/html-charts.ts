/**
 * The browser side of report.html: the data the charts need and the script
 * that draws them with the inlined chart.js UMD build. Fault windows (and
 * timeline actions) are drawn by a tiny chart.js plugin (`faultMarkers`) on
 * every time chart, which also shades the warm-up, left out of the figures.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Report } from './report.ts';

let chartJsSource: string | undefined;

/** chart.js's UMD build, read once from node_modules. */
export function chartJs(): string {
  if (chartJsSource === undefined) {
    const entry = createRequire(import.meta.url).resolve('chart.js');
    chartJsSource = readFileSync(join(dirname(entry), 'chart.umd.js'), 'utf8');
  }
  return chartJsSource;
}

export interface ChartData {
  bucketSec: number;
  t: number[];
  sentPerSec: number[];
  deliveredPerSec: number[];
  connected: (number | null)[];
  p50: (number | null)[];
  p99: (number | null)[];
  histogram: { label: string; count: number }[];
  faults: { label: string; start: number; end: number }[];
  /** Seconds of warm-up from the start (0: none), shaded grey. */
  warmup: number;
}

export function chartData(report: Report): ChartData {
  const { bucketMs, buckets } = report.timeline;
  const perSec = (n: number) => Math.round((n / (bucketMs / 1000)) * 100) / 100;
  return {
    bucketSec: bucketMs / 1000,
    t: buckets.map((b) => b.t),
    sentPerSec: buckets.map((b) => perSec(b.sent)),
    deliveredPerSec: buckets.map((b) => perSec(b.delivered)),
    connected: buckets.map((b) => b.connected),
    p50: buckets.map((b) => b.p50),
    p99: buckets.map((b) => b.p99),
    histogram: report.histogram.bins.map((b) => ({ label: `≤${b.hi}`, count: b.count })),
    faults: report.faults.map((f) => ({ label: `${f.kind} ${f.target}`, start: f.startMs / 1000, end: f.endMs / 1000 })),
    warmup: (report.warmupMs ?? 0) / 1000,
  };
}

/** JSON safe to place inside a <script> element. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** Runs in the browser after chart.js; reads window.CHATLAB_DATA (ChartData). */
export const CHART_SCRIPT = String.raw`
(function () {
  var D = window.CHATLAB_DATA;
  var RED = 'rgba(220, 38, 38, 0.85)';
  var faultMarkers = {
    id: 'faultMarkers',
    beforeDatasetsDraw: function (chart, _args, opts) {
      var faults = (opts && opts.faults) || [];
      var warmup = (opts && opts.warmup) || 0;
      var x = chart.scales.x, area = chart.chartArea, ctx = chart.ctx;
      if ((!faults.length && !warmup) || !x) return;
      ctx.save();
      if (warmup > 0) {
        var w1 = Math.max(area.left, Math.min(area.right, x.getPixelForValue(warmup)));
        ctx.fillStyle = 'rgba(100, 116, 139, 0.18)';
        ctx.fillRect(area.left, area.top, w1 - area.left, area.bottom - area.top);
        ctx.fillStyle = 'rgb(71, 85, 105)';
        ctx.font = '11px system-ui, sans-serif';
        ctx.fillText('warm-up (excluded)', area.left + 4, area.bottom - 6);
      }
      faults.forEach(function (f, i) {
        var x0 = Math.max(area.left, Math.min(area.right, x.getPixelForValue(f.start)));
        var x1 = Math.max(area.left, Math.min(area.right, x.getPixelForValue(f.end)));
        ctx.fillStyle = 'rgba(220, 38, 38, 0.10)';
        ctx.fillRect(x0, area.top, Math.max(x1 - x0, 2), area.bottom - area.top);
        ctx.strokeStyle = RED;
        ctx.setLineDash([5, 4]);
        ctx.beginPath();
        ctx.moveTo(x0, area.top); ctx.lineTo(x0, area.bottom);
        if (x1 - x0 > 2) { ctx.moveTo(x1, area.top); ctx.lineTo(x1, area.bottom); }
        ctx.stroke();
        ctx.fillStyle = RED;
        ctx.font = '11px system-ui, sans-serif';
        ctx.fillText(f.label, x0 + 4, area.top + 12 + 13 * (i % 3));
      });
      ctx.restore();
    }
  };

  function points(ys) {
    return D.t.map(function (t, i) { return { x: t, y: ys[i] }; });
  }
  function line(label, ys, color, extra) {
    var ds = { label: label, data: points(ys), borderColor: color, backgroundColor: color,
      borderWidth: 1.5, pointRadius: 0, spanGaps: false, tension: 0 };
    for (var k in extra || {}) ds[k] = extra[k];
    return ds;
  }
  function timeChart(id, datasets, yTitle) {
    return new Chart(document.getElementById(id), {
      type: 'line',
      data: { datasets: datasets },
      plugins: [faultMarkers],
      options: {
        animation: false, responsive: true, maintainAspectRatio: false, parsing: true,
        interaction: { mode: 'nearest', axis: 'x', intersect: false },
        scales: {
          x: { type: 'linear', title: { display: true, text: 'seconds since start' }, min: 0 },
          y: { beginAtZero: true, title: { display: true, text: yTitle } }
        },
        plugins: { faultMarkers: { faults: D.faults, warmup: D.warmup }, legend: { position: 'bottom' } }
      }
    });
  }

  var charts = [
    timeChart('chart-latency', [
      line('p50', D.p50, 'rgb(37, 99, 235)'),
      line('p99', D.p99, 'rgb(234, 88, 12)')
    ], 'e2e latency (ms)'),
    timeChart('chart-throughput', [
      line('sent / s', D.sentPerSec, 'rgb(100, 116, 139)'),
      line('delivered / s', D.deliveredPerSec, 'rgb(22, 163, 74)')
    ], 'messages per second'),
    timeChart('chart-connected', [
      line('connected devices', D.connected, 'rgb(124, 58, 237)', { stepped: 'after', fill: true,
        backgroundColor: 'rgba(124, 58, 237, 0.12)' })
    ], 'devices'),
    new Chart(document.getElementById('chart-histogram'), {
      type: 'bar',
      data: {
        labels: D.histogram.map(function (b) { return b.label; }),
        datasets: [{ label: 'deliveries', data: D.histogram.map(function (b) { return b.count; }),
          backgroundColor: 'rgba(37, 99, 235, 0.7)', barPercentage: 1, categoryPercentage: 1 }]
      },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false,
        scales: {
          x: { title: { display: true, text: 'e2e latency (ms, log bins)' } },
          y: { beginAtZero: true, title: { display: true, text: 'deliveries' } }
        },
        plugins: { legend: { display: false } }
      }
    })
  ];
  window.chatlabCharts = charts;
})();
`;
