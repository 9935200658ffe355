import assert from 'node:assert/strict';
import { SmallMap } from './small-map.ts';

function entries<V>(m: SmallMap<V>): [string, V][] {
  const out: [string, V][] = [];
  m.forEach((v, k) => out.push([k, v]));
  return out;
}

describe('SmallMap', () => {
  it('answers like a Map, in insertion order, below and past the flat limit', () => {
    const m = new SmallMap<number>();
    const ref = new Map<string, number>();
    for (let i = 0; i < 200; i++) {
      // Keys are fresh strings each time, as they come from decoded frames.
      const key = `d:u${(i * 7) % 41}:${'x'.repeat(i % 3)}`.slice(0);
      assert.equal(m.get(key), ref.get(key));
      m.set(key, i);
      ref.set(key, i);
      assert.equal(m.size, ref.size);
      assert.deepEqual(entries(m), [...ref]);
    }
    assert.equal(m.get('nope'), undefined);
    m.clear();
    assert.equal(m.size, 0);
    assert.deepEqual(entries(m), []);
  });

  it('lets forEach update the entries it visits', () => {
    for (const n of [3, 80]) {
      const m = new SmallMap<number>();
      for (let i = 0; i < n; i++) m.set(`c${i}`, i);
      m.forEach((v, k) => m.set(k, v * 2));
      assert.deepEqual(entries(m), Array.from({ length: n }, (_, i) => [`c${i}`, i * 2]));
    }
  });
});
