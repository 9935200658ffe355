import assert from 'node:assert/strict';
import { compare, compareRows } from './compare.ts';
import { Ledger } from './ledger.ts';
import { check } from './checker.ts';
import type { Report } from './report.ts';

function run(world: string, latencyMs: number, lose: boolean): Report {
  const l = new Ledger();
  for (let m = 0; m < 100; m++) {
    l.send(m, 0, m, m);
    l.ack(m, m + 1);
    l.expect(m, 1, 'direct');
    if (!(lose && m === 5)) l.deliver(m, 1, m + latencyMs, 'direct');
  }
  return check(l, { startMs: 0, endMs: 1000, graceMs: 100, lateMs: 100, world, scenario: 'steady', seed: 1 });
}

describe('compare', () => {
  const a = run('embedded', 2, false);
  const b = run('local', 8, true);

  it('computes deltas and says which direction is better', () => {
    const rows = compareRows(a, b);
    const p99 = rows.find((r) => r.group === 'e2e' && r.label === 'p99 ms')!;
    assert.deepEqual([p99.a, p99.b, p99.delta, p99.deltaRatio, p99.verdict], [2, 8, 6, 3, 'worse']);
    const lost = rows.find((r) => r.group === 'delivery' && r.label === 'lost')!;
    assert.deepEqual([lost.a, lost.b, lost.delta, lost.deltaRatio, lost.verdict], [0, 1, 1, null, 'worse']);
    const back = compareRows(b, a).find((r) => r.group === 'delivery' && r.label === 'lost')!;
    assert.equal(back.verdict, 'better');
    assert.ok(rows.some((r) => r.group === 'path direct' && r.label === 'p99 ms'));
  });

  it('renders Markdown naming both worlds, with deltas', () => {
    const md = compare(a, b);
    assert.match(md, /\*\*A\*\*: embedded\/steady seed 1 PASSED/);
    assert.match(md, /\*\*B\*\*: local\/steady seed 1 PASSED/);
    assert.match(md, /\| e2e p99 ms \| 2 \| 8 \| \+6 \(\+300\.0%\) \| worse \|/);
    assert.match(md, /\| delivery lost \| 0 \| 1 \| \+1 \| worse \|/);
  });

  it('renders aligned plain text', () => {
    const text = compare(a, b, { format: 'text', labels: ['before', 'after'] });
    assert.match(text, /^A: before\nB: after\n/);
    const line = text.split('\n').find((l) => l.startsWith('e2e p99 ms'))!;
    assert.match(line, /^e2e p99 ms\s+2\s+8\s+\+6 \(\+300\.0%\)\s+worse$/);
  });

  it('shows a dash where one report lacks a figure', () => {
    const partial = structuredClone(b) as Partial<Report>;
    delete partial.driver;
    const row = compareRows(a, partial as Report).find((r) => r.label === 'cpu %')!;
    assert.deepEqual([row.a, row.b, row.delta], [null, null, null]);
    assert.match(compare(a, partial as Report, { format: 'text' }), /driver cpu %\s+–\s+–\s+–/);
  });
});
