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
  it('drops expired keys by generation, so memory does not grow with time', async () => {
    const h = virtualHarness();
    const dedup = new MemoryDedup({ clock: h.clock });
    for (let i = 0; i < 10_000; i++) await dedup.claim(`old${i}`, 100);
    assert.equal(dedup.size, 10_000);
    await h.advance(150);
    for (let i = 0; i < 200; i++) await dedup.claim(`mid${i}`, 100);
    await h.advance(150);
    for (let i = 0; i < 200; i++) await dedup.claim(`new${i}`, 100);
    assert.equal(dedup.size, 400, 'the first generation is gone whole');
    assert.deepEqual(await dedup.claim('old1', 100), { state: 'claimed' }, 'an expired key is free again');
  });

  it('keeps every key for its whole TTL, with mixed TTLs', async () => {
    const h = virtualHarness();
    const dedup = new MemoryDedup({ clock: h.clock });
    await dedup.claim('long', 1000);
    await dedup.complete('long', 'ack-long', 1000);
    for (let step = 0; step < 9; step++) {
      await h.advance(100);
      await dedup.claim(`short${step}`, 100);
    }
    assert.deepEqual(await dedup.claim('long', 1000), { state: 'done', result: 'ack-long' }, 'still held at 900 ms');
    await h.advance(2100);
    await dedup.claim('y', 100);
    await h.advance(1100);
    await dedup.claim('z', 100);
    assert.equal(dedup.size, 2, 'two generations of the longest TTL at most');
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
