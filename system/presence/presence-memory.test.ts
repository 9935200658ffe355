import assert from 'node:assert/strict';
import { FaultSwitch } from '../faults/port-faults.ts';
import { virtualHarness } from '../testing/harness.ts';
import { MemoryPresence } from './presence-memory.ts';
import { runPresenceSuite } from './presence.suite.ts';

runPresenceSuite('memory', async () => {
  const h = virtualHarness();
  return { ...h, presence: new MemoryPresence({ clock: h.clock }) };
});

describe('MemoryPresence', () => {
  it('keeps the previous state when an armed heartbeat fails', async () => {
    const h = virtualHarness();
    const faults = new FaultSwitch();
    const presence = new MemoryPresence({ clock: h.clock, faults });
    await presence.heartbeat(['a'], 1000);
    await h.advance(2000);
    faults.failNext('heartbeat');
    await assert.rejects(presence.heartbeat(['a'], 1000), { code: 'unavailable' });
    assert.deepEqual((await presence.get(['a'])).get('a'), { online: false, lastSeenMs: h.clock.now() - 2000 });
  });
});
