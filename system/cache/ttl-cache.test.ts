import assert from 'node:assert/strict';
import { TtlCache } from './ttl-cache.ts';

describe('TtlCache', () => {
  it('serves an entry for its TTL and never after', () => {
    const c = new TtlCache<string, number>(1000, 100);
    c.set('a', 1, 0);
    assert.equal(c.get('a', 999)?.value, 1);
    assert.equal(c.get('a', 1000), undefined);
  });

  it('keeps a cached undefined apart from a miss, and forgets on delete', () => {
    const c = new TtlCache<string, number | undefined>(1000, 100);
    c.set('g', undefined, 0);
    assert.deepEqual(c.get('g', 10), { value: undefined, expiresMs: 1000 });
    c.delete('g');
    assert.equal(c.get('g', 10), undefined);
  });

  it('stays within max entries and within two TTLs of entries, keeping every live entry of the last TTL', () => {
    const c = new TtlCache<number, number>(1000, 10);
    for (let i = 0; i < 100; i++) c.set(i, i, 0);
    assert.ok(c.size <= 10);
    assert.equal(c.get(99, 1)?.value, 99);
    const t = new TtlCache<number, number>(1000, 1_000_000);
    for (let i = 0; i < 50; i++) t.set(i, i, i * 100);
    // set at 2000..4900: entries younger than one TTL are all still there
    for (let i = 41; i < 50; i++) assert.equal(t.get(i, 4950)?.value, i);
    assert.ok(t.size <= 30, `size ${t.size}`);
  });

  it('a refreshed key is served with its new value and expiry', () => {
    const c = new TtlCache<string, number>(1000, 100);
    c.set('a', 1, 0);
    c.set('b', 2, 1000);
    c.set('a', 3, 1500);
    assert.equal(c.get('a', 2400)?.value, 3);
  });
});
