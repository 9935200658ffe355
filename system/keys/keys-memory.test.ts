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

  it('hands out one-time keys oldest first, each once, whether their ids run on or not and their keys differ or not', async () => {
    const keys = new MemoryKeys();
    const shapes = {
      'a.1': [{ id: 3, key: 'k' }, { id: 4, key: 'k' }, { id: 5, key: 'k' }],
      'b.1': [{ id: 9, key: 'x' }, { id: 2, key: 'y' }, { id: 40, key: 'z' }],
      'c.1': [{ id: 1, key: 'p' }, { id: 2, key: 'q' }, { id: 3, key: 'p' }],
      'd.1': [{ id: 8, key: 'k' }, { id: 6, key: 'k' }, { id: 7, key: 'k' }],
    };
    for (const [device, oneTimePreKeys] of Object.entries(shapes)) await keys.publish(device, { ...bundle, oneTimePreKeys });
    for (const [device, published] of Object.entries(shapes)) {
      const user = device.slice(0, 1);
      const got = [];
      for (let i = 0; i < published.length + 1; i++) {
        assert.equal(await keys.remaining(device), published.length - i);
        got.push((await keys.fetch(user))[0]!.oneTimePreKey);
      }
      assert.deepEqual(got, [...published, undefined], device);
    }
  });
});
