import assert from 'node:assert/strict';
import { FaultSwitch } from '../faults/port-faults.ts';
import { virtualHarness } from '../testing/harness.ts';
import { MemoryKeys } from './keys-memory.ts';
import { runKeysSuite } from './keys.suite.ts';

runKeysSuite('memory', async () => {
  const keys = new MemoryKeys();
  return { ...virtualHarness(), keys, peer: async () => keys };
});

const bundle = {
  identityKey: 'aWQ',
  signedPreKey: { id: 1, key: 'c3A', signature: 'c2ln' },
  oneTimePreKeys: [{ id: 7, key: 'b3Q' }],
};

describe('MemoryKeys', () => {
  it('consumes no one-time key when an armed fetch fails', async () => {
    const faults = new FaultSwitch();
    const keys = new MemoryKeys({ faults });
    await keys.publish('a.1', bundle);
    faults.failNext('fetch');
    await assert.rejects(keys.fetch('a'), { code: 'unavailable' });
    assert.equal(await keys.remaining('a.1'), 1);
  });

  it('is not changed by a caller mutating the bundle it published', async () => {
    const keys = new MemoryKeys();
    const mine = structuredClone(bundle);
    await keys.publish('a.1', mine);
    mine.signedPreKey.key = 'changed';
    mine.oneTimePreKeys[0]!.key = 'changed';
    const [got] = await keys.fetch('a');
    assert.equal(got!.signedPreKey.key, 'c3A');
    assert.equal(got!.oneTimePreKey!.key, 'b3Q');
  });
});
