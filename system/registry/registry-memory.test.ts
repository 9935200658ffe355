import assert from 'node:assert/strict';
import { FaultSwitch } from '../faults/port-faults.ts';
import { virtualHarness } from '../testing/harness.ts';
import { MemoryRegistry } from './registry-memory.ts';
import { runRegistrySuite } from './registry.suite.ts';

runRegistrySuite('memory', async () => {
  const h = virtualHarness();
  const registry = new MemoryRegistry({ clock: h.clock });
  return { ...h, registry, peer: async () => registry };
});

describe('MemoryRegistry', () => {
  it('fails the armed operation once, then works again', async () => {
    const h = virtualHarness();
    const faults = new FaultSwitch();
    const registry = new MemoryRegistry({ clock: h.clock, faults });
    await registry.heartbeat('n1', 1000);
    faults.failNext('put');
    await assert.rejects(registry.put('a.1', 'n1'), { code: 'unavailable' });
    assert.equal((await registry.lookup(['a.1'])).size, 0, 'a failed put stores nothing');
    await registry.put('a.1', 'n1');
    assert.equal((await registry.lookup(['a.1'])).get('a.1'), 'n1');
  });
});
