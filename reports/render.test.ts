import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderTerminal } from './render-terminal.ts';
import { renderMarkdown } from './render-markdown.ts';
import { renderHtml } from './render-html.ts';
import { readReport, writeReports } from './write.ts';
import { sampleCalls, sampleReport, SAMPLE_OPTIONS, sampleLedger } from './sample-history.ts';
import { check } from './checker.ts';
import { callsRows, fmtBitsPerSec } from './format.ts';
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

  it('shows the driver\'s collector pauses and CPU a frame in every renderer', () => {
    const d: Report = { ...report, driver: { cpuPercent: 35, eventLoopP99Ms: 2.3, bound: false, frames: 120_000, cpuMsPerFrame: 0.021, gcPauses: { count: 48, totalMs: 160, meanMs: 3.33, maxMs: 6.1, everyCpuMs: 52, everyFrames: 2500 } } };
    const line = /driver: CPU 35%, event-loop p99 2\.3\d* ms, GC pauses 48 \(mean 3\.3\d* ms, max 6\.1\d* ms\), 21 µs of CPU a frame/;
    assert.match(renderTerminal(d), line);
    assert.match(renderMarkdown(d), line);
    assert.match(renderHtml(d), line);
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

  describe('the calls section', () => {
    const withCalls = check(sampleLedger(), { ...SAMPLE_OPTIONS, extra: { ...SAMPLE_OPTIONS.extra, calls: sampleCalls() } });

    it('is in every renderer when the run had calls, with the checker\'s own ring thresholds failed and marked', () => {
      const text = renderTerminal(withCalls);
      assert.match(text, /^chatlab: FAILED \(3 of 7 thresholds\)/);
      assert.match(text, /^calls\s*$/m);
      assert.match(text, /^attempted \/ placed \(the node answered call\.placed\)\s+1,200 \/ 1,196$/m);
      assert.match(text, /^answered \/ rejected \/ busy \/ timed out \/ failed\s+900 \/ 120 \/ 30 \/ 110 \/ 40$/m);
      assert.match(text, /^failed by reason\s+media_lost 21, offline 12, unplaced 4, disconnected 3$/m);
      assert.match(text, /^ring setup p50 \/ p99 \(ms, offer written to ringing on a callee's device\)\s+12\.3 \/ 95\.2$/m);
      assert.match(text, /^answer setup p50 \/ p99 .*\s+4,200 \/ 9,800$/m);
      assert.match(text, /^connect p50 \/ p99 .*\s+85\.0 \/ 640$/m);
      assert.match(text, /^relayed share \(relayed \/ connected\)\s+20\.0%$/m);
      assert.match(text, /^relay allocations open at once, at most\s+352$/m);
      assert.match(text, /^relay bandwidth in the busiest second \(both directions\)\s+95\.4 Mbit\/s$/m);
      assert.match(text, /^bytes relayed \(payload\)\s+2\.5 GB$/m);
      assert.match(text, /^media loss, every leg\s+0\.43%$/m);
      assert.match(text, /^media loss, relayed legs\s+1\.37% \(352 legs\)$/m);
      assert.match(text, /^relayed jitter p50 \/ p99 \(ms, RFC 3550\)\s+2\.80 \/ 14\.6$/m);
      assert.match(text, /^late rings \(offers delivered after their ring timeout\)\s+2$/m);
      assert.match(text, /^phantom rings .*\s+1$/m);
      assert.match(text, /^FAIL\s+call_late_rings \(checker's own\)\s+count==0\s+2\s/m);
      assert.match(text, /^FAIL\s+call_phantom_rings \(checker's own\)\s+count==0\s+1\s/m);
      const md = renderMarkdown(withCalls);
      assert.match(md, /## Calls\n\n\| calls \|  \|\n/);
      assert.match(md, /\| relayed share \(relayed \/ connected\) \| 20\.0% \|/);
      assert.match(md, /\| FAIL \| call_late_rings \(checker's own\) \| count==0 \| 2 \|/);
      const html = renderHtml(withCalls);
      assert.match(html, /<h2>Calls<\/h2><table>/);
      assert.match(html, /<td>late rings \(offers delivered after their ring timeout\)<\/td><td>2<\/td>/);
      assert.match(html, /<td>call_phantom_rings \(checker&#39;s own\)<\/td>/);
    });

    it('is in no renderer when the run had none', () => {
      assert.equal(callsRows(report), null);
      assert.doesNotMatch(renderTerminal(report), /^calls\b|call_late_rings|ring setup/m);
      assert.doesNotMatch(renderMarkdown(report), /## Calls|call_late_rings|ring setup/);
      assert.doesNotMatch(renderHtml(report), /<h2>Calls<\/h2>|call_late_rings|ring setup/);
    });

    it('scales its units and says which rings went unjudged', () => {
      assert.deepEqual(['999', '12.5 kbit/s', '95.4 Mbit/s', '1.2 Gbit/s'], [999, 12_500, 95.37e6, 1.2e9].map((n) => fmtBitsPerSec(n).replace(' bit/s', '')));
      const r = { ...withCalls, calls: { ...sampleCalls(), relay: { allocationsPeak: 0, peakMbps: 0.05, bytes: 640 }, violations: { lateRings: 0, phantomRings: 0, unjudged: 1234 } } };
      const rows = Object.fromEntries(callsRows(r)!);
      assert.equal(rows['relay bandwidth in the busiest second (both directions)'], '50.0 kbit/s');
      assert.equal(rows['bytes relayed (payload)'], '640 B');
      assert.equal(rows['phantom rings (rang on after the call was taken elsewhere, declined or over)'], '0 (1,234 rings not judged)');
    });
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
