import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderTerminal } from './render-terminal.ts';
import { renderMarkdown } from './render-markdown.ts';
import { renderHtml } from './render-html.ts';
import { readReport, writeReports } from './write.ts';
import { sampleReport } from './sample-history.ts';
import type { Report } from './report.ts';

describe('renderers', () => {
  const report = sampleReport();

  it('prints a terminal summary with the verdict, each active path and the first lost message', () => {
    const text = renderTerminal(report);
    assert.match(text, /^chatlab: FAILED \(1 of 5 thresholds\)/);
    assert.match(text, /^offline-drain\s+470\s+469\s+1\s/m);
    assert.match(text, /^total\s+7,446\s+7,444\s+2\s+0\s+15\s/m);
    assert.match(text, /first lost: msg \d+ to device \d+ via /);
    assert.match(text, /^FAIL\s+lost\s+count==0\s+2$/m);
    assert.match(text, /fault: kill node-2 at 20\.0 s for 2\.0 s - sent \d+, lost 2/);
    assert.ok(/^[\x20-\x7e\n–]*$/.test(text), 'plain ASCII apart from the dash for "no value"');
  });

  it('warns in the terminal when the driver was the bottleneck', () => {
    const bound: Report = { ...report, driver: { cpuPercent: 99, eventLoopP99Ms: 80, bound: true } };
    assert.match(renderTerminal(bound), /BOUND: the load generator was saturated/);
  });

  it('writes a Markdown summary with delivery, latency and threshold tables', () => {
    const md = renderMarkdown(report);
    assert.match(md, /^# ❌ sample-node-failure: FAILED/);
    assert.match(md, /## Delivery by path\n\n\| path \| expected \|/);
    assert.match(md, /\| e2e \(from intended send\) \| 7,444 \|/);
    assert.match(md, /\| FAIL \| lost \| count==0 \| 2 \|/);
    assert.match(md, /node-1\\\|redis/, 'pipes in cells are escaped');
  });

  it('renders self-contained HTML with chart.js inlined and the data escaped', () => {
    const hostile: Report = { ...report, scenario: '</script><script>alert(1)</script>' };
    const html = renderHtml(hostile);
    assert.ok(!/<script[^>]+src=/.test(html), 'no external scripts');
    assert.ok(html.includes('Chart.js v4'), 'chart.js is inlined');
    assert.ok(!html.includes('<script>alert(1)'), 'scenario name is escaped');
    assert.equal((html.match(/<canvas /g) ?? []).length, 4);
    assert.match(html, /FAILED \(1 of 5 thresholds\)/);
  });

  it('writes report.json, report.html and summary.md and reads the JSON back', () => {
    const dir = mkdtempSync(join(tmpdir(), 'reports-'));
    try {
      const out = writeReports(report, join(dir, 'run'));
      assert.deepEqual(out, { json: join(dir, 'run/report.json'), html: join(dir, 'run/report.html'), md: join(dir, 'run/summary.md') });
      assert.deepEqual(readReport(out.json), report);
      assert.match(readFileSync(out.md, 'utf8'), /Delivery by path/);
      assert.throws(() => readReport(out.md), SyntaxError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
