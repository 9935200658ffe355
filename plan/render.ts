import { fmt, mixText, type Plan, type PlanLine, type PlanSection } from './plan.ts';

/** The outcome of `--verify`: one simulated cell at the planned per-node load, with a node failure. */
export interface Verdict {
  holds: boolean;
  /** "holds" or "does not hold, because …". */
  summary: string;
  /** The threshold that decided the verdict: the first failed one, else the one closest to its bound. */
  decidedBy: string;
  /** Planned figures the cell ran at, and those it did not test. */
  tested: string[];
  untested: string[];
  cell: Record<string, number | string>;
  thresholds: { metric: string; expression: string; actual: number | null; passed: boolean }[];
}

/** Three significant digits, trailing zeros dropped. */
const sig3 = (n: number) => Number(n.toPrecision(3)).toLocaleString('en-US');

/** `v` in the largest of `steps` (factor, symbol) it reaches: 2.7e15 bytes → "2.7 PB", not "2700TB". */
function scaled(v: number, steps: readonly (readonly [number, string])[], unit: string): string {
  for (const [f, s] of steps) if (Math.abs(v) >= f) return `${sig3(v / f)} ${s}${unit}`;
  return `${sig3(v)} ${unit}`;
}

const SI = [[1e18, 'E'], [1e15, 'P'], [1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']] as const;

/**
 * A count with its unit: whole numbers below a million written out with
 * separators ("6,430 nodes"), larger ones in words ("2.64 million
 * deliveries/s") — no "6.43k nodes", no "20B msgs/day" that reads as bytes.
 */
export function count(v: number, unit: string): string {
  if (!Number.isFinite(v)) return `${v} ${unit}`;
  const a = Math.abs(v);
  for (const [f, w] of [[1e12, 'trillion'], [1e9, 'billion'], [1e6, 'million']] as const) if (a >= f) return `${sig3(v / f)} ${w} ${unit}`;
  return `${a >= 100 ? Math.round(v).toLocaleString('en-US') : sig3(v)} ${unit}`;
}

const UNITS: Record<string, (v: number) => string> = {
  bytes: (v) => scaled(v, SI, 'B'),
  'bytes/s': (v) => scaled(v, SI, 'B/s'),
  'bytes/day': (v) => scaled(v, SI, 'B/day'),
  'bit/s': (v) => scaled(v, SI, 'bit/s'),
};

export function value(v: number, unit: string): string {
  return UNITS[unit]?.(v) ?? count(v, unit);
}

/** An input as the inputs line shows it: counts as `fmt` writes them, a rate in bits with its unit, the mix as `--media-mix` reads it. */
function inputText(k: string, v: unknown, p: Plan): string {
  if (k === 'mediaMix') return mixText(p.input.mediaMix);
  if (k === 'edgeBitsPerSec' || k === 'relayBitsPerSec') return value(v as number, 'bit/s');
  return typeof v === 'number' ? fmt(v) : String(v);
}

function inputsLine(p: Plan): string {
  return Object.entries(p.input).map(([k, v]) => `${k}=${inputText(k, v, p)}`).join(', ');
}

const HEADINGS: Record<PlanSection, string> = {
  media: 'Media (uploads, storage, CDN edges)',
  calls: 'Calls (concurrency, relays)',
};

/** The plan's lines in their tables: the chat tiers first, then the media tier and calls, each under its own heading. */
function sections(p: Plan): { heading?: string; lines: PlanLine[] }[] {
  const out: { heading?: string; lines: PlanLine[] }[] = [{ lines: p.lines.filter((l) => l.section === undefined) }];
  for (const s of Object.keys(HEADINGS) as PlanSection[]) {
    const lines = p.lines.filter((l) => l.section === s);
    if (lines.length > 0) out.push({ heading: HEADINGS[s], lines });
  }
  return out;
}

export function planJson(p: Plan, verdict?: Verdict): string {
  return `${JSON.stringify({ input: p.input, capacitySource: p.capacitySource, plan: p.lines, verify: verdict ?? null }, null, 2)}\n`;
}

export function planMarkdown(p: Plan, verdict?: Verdict): string {
  const input = inputsLine(p);
  const out = ['# Capacity plan', '', `Inputs: ${input}. Per-node capacities: ${p.capacitySource}.`, ''];
  for (const s of sections(p)) {
    if (s.heading) out.push(`## ${s.heading}`, '');
    out.push('| figure | value | formula |', '|---|---|---|', ...s.lines.map((l) => `| ${l.label} | ${value(l.value, l.unit)} | \`${l.formula}\` |`), '');
  }
  if (verdict) {
    out.push('## Verification (simulated cell)', '', `**${verdict.summary}**`, '');
    out.push(`Cell: ${Object.entries(verdict.cell).map(([k, v]) => `${k}=${v}`).join(', ')}`, '');
    out.push(`Decided by: ${verdict.decidedBy}`, '', 'Tested:', '', ...verdict.tested.map((t) => `- ${t}`), '', 'Not tested:', '', ...verdict.untested.map((t) => `- ${t}`), '');
    out.push('| threshold | actual | passed |', '|---|---|---|');
    for (const t of verdict.thresholds) out.push(`| ${t.metric} ${t.expression} | ${t.actual ?? 'no data'} | ${t.passed ? 'yes' : 'NO'} |`);
    out.push('');
  }
  return out.join('\n');
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

export function planHtml(p: Plan, verdict?: Verdict): string {
  const rows = (lines: PlanLine[]) => lines.map((l) => `<tr><td>${esc(l.label)}</td><td class="v">${esc(value(l.value, l.unit))}</td><td><code>${esc(l.formula)}</code></td></tr>`).join('\n');
  const tables = sections(p).map((s) => `${s.heading ? `<h2>${esc(s.heading)}</h2>\n` : ''}<table><tr><th>figure</th><th>value</th><th>formula</th></tr>
${rows(s.lines)}
</table>`).join('\n');
  const v = verdict
    ? `<h2>Verification (simulated cell)</h2><p class="${verdict.holds ? 'ok' : 'bad'}">${esc(verdict.summary)}</p>
<p>${esc(Object.entries(verdict.cell).map(([k, x]) => `${k}=${x}`).join(', '))}</p>
<p>Decided by: ${esc(verdict.decidedBy)}</p><p>Tested:</p><ul>${verdict.tested.map((t) => `<li>${esc(t)}</li>`).join('')}</ul><p>Not tested:</p><ul>${verdict.untested.map((t) => `<li>${esc(t)}</li>`).join('')}</ul>
<table><tr><th>threshold</th><th>actual</th><th>passed</th></tr>${verdict.thresholds.map((t) => `<tr><td>${esc(`${t.metric} ${t.expression}`)}</td><td>${t.actual ?? 'no data'}</td><td>${t.passed ? 'yes' : 'NO'}</td></tr>`).join('')}</table>`
    : '';
  return `<!doctype html><html><head><meta charset="utf-8"><title>chatlab capacity plan</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}td.v{text-align:right;white-space:nowrap}.ok{color:#080;font-weight:bold}.bad{color:#b00;font-weight:bold}code{font-size:12px}</style></head>
<body><h1>Capacity plan</h1><p>Inputs: ${esc(inputsLine(p))}.</p><p>Per-node capacities: ${esc(p.capacitySource)}</p>
${tables}${v}</body></html>
`;
}
