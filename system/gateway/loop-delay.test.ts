import assert from 'node:assert/strict';
import { LoopDelay } from './loop-delay.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

describe('LoopDelay', () => {
  it('reads an idle loop as under 2 ms, where the raw histogram reads its sampling interval', async () => {
    const d = new LoopDelay(10);
    d.enable();
    await sleep(600);
    d.disable();
    assert.ok(d.percentileMs(50) < 2, `p50 ${d.percentileMs(50)}`);
    assert.ok(d.meanMs() < 2, `mean ${d.meanMs()}`);
  });

  it('reads a blocked loop as the time it was blocked beyond the interval', async () => {
    const d = new LoopDelay(10);
    d.enable();
    await sleep(30);
    busy(80);
    await sleep(30);
    d.disable();
    assert.ok(d.maxMs() >= 60, `max ${d.maxMs()}`);
  });

  it('reads 0 before anything was sampled', () => {
    const d = new LoopDelay(20);
    assert.equal(d.meanMs(), 0);
    assert.equal(d.percentileMs(99), 0);
  });
});
