import assert from 'node:assert/strict';
import { FaultSwitch } from '../faults/port-faults.ts';
import { virtualHarness } from '../testing/harness.ts';
import { MemoryCalls } from './calls-memory.ts';
import { runCallsSuite } from './calls.suite.ts';
import type { NewCall } from './calls.ts';

runCallsSuite('memory', async () => {
  const h = virtualHarness();
  const calls = new MemoryCalls({ clock: h.clock, endedKeepMs: 300 });
  return { ...h, calls, endedKeepMs: 300, peer: async () => calls };
});

describe('MemoryCalls', () => {
  const call = (i: number, at: number, lifeMs: number): NewCall => ({
    id: `c${i}`, caller: `a${i}`, device: `a${i}.1`, media: 'audio', sdp: 'v=0', startedAt: at, ringUntil: at + 100, expiresAt: at + lifeMs, callees: [`b${i}`],
  });

  it('holds only the calls alive (and those expired since the last call), whatever the mix of lifetimes', async () => {
    const h = virtualHarness();
    const calls = new MemoryCalls({ clock: h.clock, endedKeepMs: 50 });
    for (let i = 0; i < 1000; i++) await calls.place(call(i, h.clock.now(), i % 2 === 0 ? 200 : 10_000), h.clock.now());
    for (let i = 1; i < 1000; i += 4) await calls.hangup(`c${i}`, `a${i}`, `a${i}.1`, h.clock.now());
    await h.advance(60);
    await calls.get('none', h.clock.now());
    assert.equal(calls.size, 750, 'the calls hung up are gone once endedKeepMs passed');
    await h.advance(200);
    await calls.get('none', h.clock.now());
    assert.equal(calls.size, 250, 'the short-lived half is gone');
    await h.advance(10_000);
    await calls.place(call(2000, h.clock.now(), 100), h.clock.now());
    assert.equal(calls.size, 1);
  });

  it('stores nothing when an armed place fails', async () => {
    const h = virtualHarness();
    const faults = new FaultSwitch();
    const calls = new MemoryCalls({ clock: h.clock, faults });
    faults.failNext('place');
    await assert.rejects(calls.place(call(1, h.clock.now(), 100), h.clock.now()), { code: 'unavailable' });
    assert.equal(calls.size, 0);
  });
});
