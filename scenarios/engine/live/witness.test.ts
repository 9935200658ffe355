import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLive } from './live.ts';
import type { Report } from '../../../reports/report.ts';

describe('A witness beside a live run (chatlab run --witness)', function () {
  this.timeout(120_000);

  it("puts the witness's latencies and the driver's share beyond them in the report and on the driver line", async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'chatlab-witness-'));
    const lines: string[] = [];
    // 9 s: long enough that a witness with V8's memory reducer on collects during its run (4 pauses, 14 ms here).
    const { report, files } = await runLive({
      scenario: 'steady-chat', world: 'embedded', seed: 4, outDir, progress: false, log: (l) => lines.push(l), witness: 40,
      overrides: { devices: 60, rate: 60, duration: '9s', warmup: '1s', e2ee: false },
    });
    const w = report.driver?.witness;
    assert.ok(w, JSON.stringify(report.driver));
    assert.equal(w.rate, 40);
    // Over the measured window (the warm-up left out, as it is from every latency): every message arrived.
    assert.equal(report.warmupMs, 1000);
    assert.equal(w.messages, Math.round((40 * (report.durationMs - report.warmupMs)) / 1000));
    assert.equal(w.missing, 0);
    const { p50Ms, p99Ms, sentP99Ms, lagP99Ms } = w;
    assert.ok(p50Ms !== null && p99Ms !== null && sentP99Ms !== null && lagP99Ms !== null, JSON.stringify(w));
    assert.ok(p50Ms > 0 && p99Ms >= p50Ms && sentP99Ms <= p99Ms + 0.01 && lagP99Ms >= 0, JSON.stringify(w));
    // Its own collector stayed out of the run: at nice -20 a pause of its would hold the driver's CPU (WITNESS_NODE_FLAGS).
    assert.deepEqual(w.gcPauses, { count: 0, totalMs: 0, maxMs: 0 }, JSON.stringify(w));
    assert.ok(lines.some((l) => /a witness at 40 msgs\/s beside the load/.test(l)), lines.join('\n'));
    // The witness's devices are its own: the run's ledger and delivery figures do not count them.
    assert.equal(report.delivery.lost, 0);
    assert.equal(report.messages.acked, report.messages.sent);
    const json = JSON.parse(readFileSync(files.json, 'utf8')) as Report;
    assert.deepEqual(json.driver?.witness, w);
    for (const file of [files.md, files.html]) assert.match(readFileSync(file, 'utf8'), /witness e2e p99 [0-9.]+ ms at 40 msgs\/s \(the driver(&#39;|')s share [0-9.]+ ms\)/);
  });
});
