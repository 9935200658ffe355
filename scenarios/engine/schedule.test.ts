import assert from 'node:assert/strict';
import type { Executor } from '../scenario.ts';
import { Arrivals } from './schedule.ts';

/** Every arrival time an executor gives one worker, in order. */
function all(ex: Executor, worker = 0, workers = 1): number[] {
  const a = new Arrivals(ex, worker, workers);
  const out: number[] = [];
  for (let t = a.next(); t !== undefined; t = a.next()) out.push(t);
  return out;
}

const constant = (rate: number, duration: string, extra: Partial<Extract<Executor, { executor: 'constant-arrival-rate' }>> = {}): Executor =>
  ({ executor: 'constant-arrival-rate', rate, duration, ...extra });

describe('Arrivals (open model)', () => {
  it('gives rate × duration arrivals, evenly spaced, all inside the window', () => {
    const t = all(constant(100, '2s'));
    assert.equal(t.length, 200);
    for (let i = 1; i < t.length; i++) assert.ok(Math.abs(t[i]! - t[i - 1]! - 10) < 1e-9, `gap ${i} is ${t[i]! - t[i - 1]!} ms`);
    assert.ok(t[0]! >= 0 && t.at(-1)! < 2000);
  });

  it('counts the rate per timeUnit and starts at startTime', () => {
    const t = all(constant(60, '10s', { timeUnit: '1m', startTime: '5s' }));
    assert.equal(t.length, 10);
    assert.ok(t[0]! >= 5000 && t.at(-1)! < 15_000);
    assert.ok(Math.abs(t[1]! - t[0]! - 1000) < 1e-9);
  });

  it('splits the rate between workers, which interleave without sharing an instant', () => {
    const ex = constant(90, '1s');
    const slices = [0, 1, 2].map((w) => all(ex, w, 3));
    for (const s of slices) assert.equal(s.length, 30);
    const merged = slices.flat().sort((a, b) => a - b);
    assert.equal(new Set(merged).size, 90);
    for (let i = 1; i < merged.length; i++) assert.ok(merged[i]! - merged[i - 1]! > 1, 'arrivals of different workers are spread out');
    assert.deepEqual(merged.length, all(ex).length);
  });

  it('follows ramping stages: more arrivals as the rate climbs, none past the last stage', () => {
    const ex: Executor = { executor: 'ramping-arrival-rate', startRate: 50, stages: [{ target: 150, duration: '2s' }, { target: 150, duration: '1s' }] };
    const t = all(ex);
    const inSecond = (s: number) => t.filter((x) => x >= s * 1000 && x < (s + 1) * 1000).length;
    // 50→150/s over 2 s is 200 arrivals, then 150 at the flat 150/s.
    assert.ok(Math.abs(t.length - 350) <= 3, `${t.length} arrivals`);
    assert.ok(Math.abs(inSecond(0) - 75) <= 2 && Math.abs(inSecond(1) - 125) <= 2, `${inSecond(0)} then ${inSecond(1)} arrivals`);
    assert.ok(Math.abs(inSecond(2) - 150) <= 1);
    assert.ok(t.at(-1)! < 3000);
  });

  it('gives a closed-loop executor no arrivals', () => {
    assert.deepEqual(all({ executor: 'constant-vus', vus: 10, duration: '5s' }), []);
  });

  it('peeks without consuming', () => {
    const a = new Arrivals(constant(10, '1s'), 0, 1);
    const p = a.peek();
    assert.equal(a.peek(), p);
    assert.equal(a.next(), p);
    assert.notEqual(a.peek(), p);
  });
});
