import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Report } from '../../../reports/report.ts';
import { replaySim } from './sim.ts';
import { runSweep, sweepLine, type SweepRun } from './sweep.ts';

describe('Sim sweep', () => {
  const outDir = () => mkdtempSync(join(tmpdir(), 'chatlab-sweep-'));

  it('plays every combination, judges each against the guarantees and writes sweep.json (no reports for clean runs)', async () => {
    const dir = outDir();
    const lines: SweepRun[] = [];
    const runs = await runSweep({
      scenarios: ['steady-chat'], faults: ['own', 'node-kill'], seeds: [1], devicesPerUser: [1, 2], outDir: dir,
      overrides: { devices: 200, duration: '6s', rate: 60, warmup: '0s' }, onRun: (r) => lines.push(r),
    });
    assert.deepEqual(runs.map((r) => `${r.fault} x${r.devicesPerUser}`), ['own x1', 'own x2', 'node-kill x1', 'node-kill x2']);
    assert.equal(lines.length, 4);
    for (const r of runs) {
      assert.equal(r.violation, false, JSON.stringify(r));
      assert.ok(r.acked > 300 && r.lost === 0 && r.unhandled.length === 0, JSON.stringify(r));
    }
    // Two devices per user: each message is owed to the recipient's two devices and the sender's other one.
    assert.ok(runs[1]!.expected > 2.5 * runs[1]!.acked, `owed ${runs[1]!.expected} for ${runs[1]!.acked} acked`);
    assert.match(sweepLine(runs[0]!), /^ok {3}steady-chat own x1 seed 1: sent \d+, acked \d+, owed \d+, lost 0, shown twice 0, [\d.]+ s$/);
    const saved = JSON.parse(readFileSync(join(dir, 'sweep.json'), 'utf8')) as { runs: SweepRun[] };
    assert.equal(saved.runs.length, 4);
    assert.deepEqual(readdirSync(dir), ['sweep.json']);
  });

  it('flags a run that loses an acked message and keeps its report, which replays exactly', async () => {
    const dir = outDir();
    const runs = await runSweep({
      scenarios: ['offline-burst'], faults: ['own'], seeds: [5], devicesPerUser: [1], outDir: dir,
      overrides: { devices: 40, duration: '2s', rate: 100, warmup: '0s' }, inject: [{ atMs: 1500, port: 'inbox', op: 'put', action: 'drop' }],
    });
    const r = runs[0]!;
    assert.equal(r.violation, true);
    assert.equal(r.lost, 1);
    assert.ok(r.report && existsSync(r.report), r.report);
    const old = JSON.parse(readFileSync(r.report, 'utf8')) as Report;
    assert.deepEqual(old.meta.firstViolation, r.firstViolation);
    assert.match(sweepLine(r), /^FAIL offline-burst own x1 seed 5: .*lost 1, .*first: \{"kind":"lost"/);
    const again = await replaySim(old, { progress: false, log: () => {} });
    assert.deepEqual(again.diff, []);
  });

  it('refuses an unknown fault mix or scenario before running anything', async () => {
    const dir = outDir();
    await assert.rejects(
      runSweep({ scenarios: ['steady-chat'], faults: ['own', 'meteor'], seeds: [1], devicesPerUser: [1], outDir: dir }),
      /^Error: faults\[1\]: expected a fault mix: own, node-kill.*, got "meteor"$/,
    );
    await assert.rejects(
      runSweep({ scenarios: ['steady-chit'], faults: ['own'], seeds: [1], devicesPerUser: [1], outDir: dir }),
      /^Error: scenarios\[0\]: expected one of steady-chat.* or a path to a \.ts file, got "steady-chit"$/,
    );
    await assert.rejects(
      runSweep({ scenarios: ['steady-chat'], faults: ['__proto__'], seeds: [], devicesPerUser: [1], outDir: dir }),
      /^Error: faults\[0\]: expected a fault mix: .*, got "__proto__" \(and 1 more: seeds: expected at least one seed, got \[\]\)$/,
    );
    assert.deepEqual(readdirSync(dir), []);
  });
});
