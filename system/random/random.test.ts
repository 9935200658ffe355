import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import { hash32, hash32Pair } from './random.ts';

describe('hash32Pair', () => {
  it('is hash32 of "a:b" for every pair, with any seed', () => {
    const values = [0, 1, 7, 9, 10, 11, 99, 100, 101, 999, 1000, 12_345, 99_999, 100_000, 999_999, 1_000_000, 2_147_483_647, 4_294_967_295];
    for (const seed of [0, 1, 42, 0xdeadbeef])
      for (const a of values) for (const b of values) assert.equal(hash32Pair(a, b, seed), hash32(`${a}:${b}`, seed), `${a}:${b} seed ${seed}`);
  });
});
