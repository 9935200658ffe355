import assert from 'node:assert/strict';
import { FaultSwitch } from '../testing/faults.ts';
import { virtualHarness } from '../testing/harness.ts';
import { MemoryDedup } from './dedup-memory.ts';
import { runDedupSuite } from './dedup.suite.ts';

runDedupSuite('memory', async () => {
  const h = virtualHarness();
  const dedup = new MemoryDedup({ clock: h.clock });
  return { ...h, dedup, peer: async () => dedup };
});

describe('MemoryDedup', () => {
  it('sweeps expired keys as it goes, so memory does not grow with time', async () => {
    const h = virtualHarness();
    const dedup = new MemoryDedup({ clock: h.clock });
    for (let i = 0; i < 10_000; i++) await dedup.claim(`old${i}`, 100);
    assert.equal(dedup.size, 10_000);
    await h.advance(200);
    for (let i = 0; i < 200; i++) await dedup.claim(`new${i}`, 100);
    assert.equal(dedup.size, 200);
  });

  it('sweeps short-lived keys once a longer-lived key ahead of them expires', async () => {
    const h = virtualHarness();
    const dedup = new MemoryDedup({ clock: h.clock });
    await dedup.claim('long', 1000);
    for (let i = 0; i < 100; i++) await dedup.claim(`short${i}`, 100);
    await h.advance(500);
    await dedup.claim('x', 5000);
    assert.equal(dedup.size, 102, 'the long key still blocks the sweep');
    await h.advance(600);
    await dedup.claim('y', 5000);
    await dedup.claim('z', 5000);
    assert.equal(dedup.size, 3);
  });

  it('rejects an armed claim without taking the key', async () => {
    const h = virtualHarness();
    const faults = new FaultSwitch();
    const dedup = new MemoryDedup({ clock: h.clock, faults });
    faults.failNext('claim');
    await assert.rejects(dedup.claim('k', 1000), { code: 'unavailable' });
    assert.deepEqual(await dedup.claim('k', 1000), { state: 'claimed' });
  });
});
