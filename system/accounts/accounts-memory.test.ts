import assert from 'node:assert/strict';
import { FaultSwitch } from '../faults/port-faults.ts';
import { virtualHarness } from '../testing/harness.ts';
import { MemoryAccounts } from './accounts-memory.ts';
import { runAccountsSuite } from './accounts.suite.ts';

runAccountsSuite('memory', async () => {
  const accounts = new MemoryAccounts();
  return { ...virtualHarness(), accounts, peer: async () => accounts };
});

describe('MemoryAccounts', () => {
  it('adds no device when an armed addDevice fails', async () => {
    const faults = new FaultSwitch();
    const accounts = new MemoryAccounts({ faults });
    faults.failNext('addDevice');
    await assert.rejects(accounts.addDevice('a', 'a.1'), { code: 'unavailable' });
    assert.deepEqual(await accounts.devices('a'), []);
    await accounts.addDevice('a', 'a.1');
    assert.deepEqual(await accounts.devices('a'), ['a.1']);
  });
});
