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
    assert.match(text, /^total\s+7,446\s+7,444\s+2\s+0\s+0\s+15\s/m);
    assert.match(text, /first lost: msg \d+ to device \d+ via /);
    assert.match(text, /^FAIL\s+lost\s+count==0\s+2\s+kill node-2 20\.0s-22\.0s/m, 'a failed threshold names the faults in its window');
    assert.match(text, /fault: kill node-2 at 20\.0 s for 2\.0 s - sent \d+, lost 2/);
    assert.ok(/^[\x20-\x7e\n–]*$/.test(text), 'plain ASCII apart from the dash for "no value"');
  });

  it('shows each fault\'s latency before, during and after, reconnects and rejected sends in every format', () => {
    const text = renderTerminal(report);
    assert.match(text, /^ {2}e2e p50\/p99 ms: before [\d.,]+\/[\d.,]+, during [\d.,]+\/[\d.,]+, after [\d.,]+\/[\d.,]+$/m);
    assert.match(text, /^ {2}reconnected 131 of 133 \(p50 [\d.,]+ ms, p99 [\d.,]+ ms\), 2 not back; rejected: E_TIMEOUT 12 \(retried 12 -> ok 10\); E_NODE_GONE 1$/m);
    assert.match(text, /^ {2}no device disconnected; rejected: none$/m);
    const md = renderMarkdown(report);
    assert.match(md, /\| kill \| node-2 \| 20\.0 s \| 2\.0 s \| \d+ \| 2 \| 0 \| 131 of 133 \| 2 \| [\d.,]+ \| [\d.,]+ \| E_TIMEOUT 12 \(retried 12 → ok 10\); E_NODE_GONE 1 \|/);
    assert.match(md, /\| fault \| before p50 \| before p99 \| during p50 \| during p99 \| after p50 \| after p99 \|/);
    const html = renderHtml(report);
    assert.match(html, /<td>131 of 133<\/td>/);
    assert.match(html, /<th class="num">during p99<\/th>/);
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
    assert.match(md, /\| FAIL \| lost \| count==0 \| 2 \| kill node-2 20\.0s-22\.0s/);
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
