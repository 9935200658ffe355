import assert from 'node:assert/strict';
import { MidIndex } from './sim-devices.ts';

describe('MidIndex', () => {
  it('keeps every mid across growth past a million keys', () => {
    const index = new MidIndex();
    const mid = (k: number) => (0x18c00000000 + k).toString(16).padStart(11, '0') + (k % 0xfffffff).toString(16).padStart(7, '0');
    const keys = [0, 1023, 1024, 1_048_575, 1_048_576, 1_179_649, 1_500_000, 2_000_001];
    for (const k of keys) index.set(k, mid(k));
    for (const k of keys) assert.equal(index.get(k), mid(k));
    assert.equal(index.get(1_500_001), undefined);
    assert.equal(index.get(5_000_000), undefined);
  });
});
