import { fmt, type Plan } from './plan.ts';

/** The outcome of `--verify`: one simulated cell at the planned per-node load, with a node failure. */
export interface Verdict {
  holds: boolean;
  /** "holds" or "does not hold, because …". */
  summary: string;
  cell: Record<string, number | string>;
  thresholds: { metric: string; expression: string; actual: number | null; passed: boolean }[];
}

const UNITS: Record<string, (v: number) => string> = {
  bytes: (v) => `${fmt(v)}B (${(v / 2 ** 40).toFixed(1)} TiB)`,
  'bit/s': (v) => `${(v / 1e9).toFixed(1)} Gbit/s`,
};

function value(v: number, unit: string): string {
  return UNITS[unit]?.(v) ?? `${fmt(v)} ${unit}`;
}

export function planJson(p: Plan, verdict?: Verdict): string {
  return `${JSON.stringify({ input: p.input, capacitySource: p.capacitySource, plan: p.lines, verify: verdict ?? null }, null, 2)}\n`;
}

export function planMarkdown(p: Plan, verdict?: Verdict): string {
  const rows = p.lines.map((l) => `| ${l.label} | ${value(l.value, l.unit)} | \`${l.formula}\` |`);
  const input = Object.entries(p.input).map(([k, v]) => `${k}=${typeof v === 'number' ? fmt(v) : String(v)}`).join(', ');
  const out = [
    '# Capacity plan',
    '',
    `Inputs: ${input}. Per-node capacities: ${p.capacitySource}.`,
    '',
    '| figure | value | formula |',
    '|---|---|---|',
    ...rows,
    '',
  ];
  if (verdict) {
    out.push('## Verification (simulated cell)', '', `**${verdict.summary}**`, '');
    out.push(`Cell: ${Object.entries(verdict.cell).map(([k, v]) => `${k}=${v}`).join(', ')}`, '');
    out.push('| threshold | actual | passed |', '|---|---|---|');
    for (const t of verdict.thresholds) out.push(`| ${t.metric} ${t.expression} | ${t.actual ?? 'no data'} | ${t.passed ? 'yes' : 'NO'} |`);
    out.push('');
  }
  return out.join('\n');
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

export function planHtml(p: Plan, verdict?: Verdict): string {
  const rows = p.lines.map((l) => `<tr><td>${esc(l.label)}</td><td class="v">${esc(value(l.value, l.unit))}</td><td><code>${esc(l.formula)}</code></td></tr>`).join('\n');
  const v = verdict
    ? `<h2>Verification (simulated cell)</h2><p class="${verdict.holds ? 'ok' : 'bad'}">${esc(verdict.summary)}</p>
<p>${esc(Object.entries(verdict.cell).map(([k, x]) => `${k}=${x}`).join(', '))}</p>
<table><tr><th>threshold</th><th>actual</th><th>passed</th></tr>${verdict.thresholds.map((t) => `<tr><td>${esc(`${t.metric} ${t.expression}`)}</td><td>${t.actual ?? 'no data'}</td><td>${t.passed ? 'yes' : 'NO'}</td></tr>`).join('')}</table>`
    : '';
  return `<!doctype html><html><head><meta charset="utf-8"><title>chatlab capacity plan</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}td.v{text-align:right;white-space:nowrap}.ok{color:#080;font-weight:bold}.bad{color:#b00;font-weight:bold}code{font-size:12px}</style></head>
<body><h1>Capacity plan</h1><p>Per-node capacities: ${esc(p.capacitySource)}</p>
<table><tr><th>figure</th><th>value</th><th>formula</th></tr>
${rows}
</table>${v}</body></html>
`;
}
