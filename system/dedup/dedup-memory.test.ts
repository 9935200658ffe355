import assert from 'node:assert/strict';
import { FaultSwitch } from '../faults/port-faults.ts';
import { virtualHarness } from '../testing/harness.ts';
import { TtlCache } from '../cache/ttl-cache.ts';
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

  it('answers like a TtlCache of results under random claims, completions, releases and TTLs', async () => {
    const h = virtualHarness();
    const dedup = new MemoryDedup({ clock: h.clock });
    // The meaning spelled out: one TtlCache entry per key, its value the result or undefined while pending.
    const ref = new TtlCache<string, string | undefined>(0);
    let x = 12345;
    const next = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 8;
    for (let i = 0; i < 20_000; i++) {
      const key = `k${next() % 300}`;
      const ttl = [50, 100, 400, 0][next() % 4]!;
      const now = h.clock.now();
      const op = next() % 4;
      if (op === 0) {
        const c = ref.get(key, now);
        const want = c ? (c.value !== undefined ? { state: 'done', result: c.value } : { state: 'pending' }) : { state: 'claimed' };
        if (!c) ref.set(key, undefined, now, ttl);
        assert.deepEqual(await dedup.claim(key, ttl), want, `claim ${key} at ${i}`);
      } else if (op === 1) {
        ref.set(key, `ack${i}`, now, ttl);
        await dedup.complete(key, `ack${i}`, ttl);
      } else if (op === 2) {
        const c = ref.get(key, now);
        if (c && c.value === undefined) ref.delete(key);
        await dedup.release(key);
      } else await h.advance(next() % 7);
      assert.equal(dedup.size, ref.size, `size at ${i}`);
    }
  });
});
