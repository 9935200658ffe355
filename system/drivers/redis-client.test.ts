import assert from 'node:assert/strict';
import { clusterSeeds, clusterUrl, keySlot } from './redis-client.ts';

describe('redis-client: cluster addresses and hash slots', () => {
  it('reads the seed nodes of a redis-cluster:// URL, and none from a redis:// URL', () => {
    assert.deepEqual(clusterSeeds('redis-cluster://127.0.0.1:7001,127.0.0.1:7002/'), [{ host: '127.0.0.1', port: 7001 }, { host: '127.0.0.1', port: 7002 }]);
    assert.equal(clusterSeeds('redis://127.0.0.1:6379'), undefined);
    assert.throws(() => clusterSeeds('redis-cluster://127.0.0.1'), /host:port/);
    assert.throws(() => clusterSeeds('redis-cluster://'), /no seed/);
    const seeds = [{ host: '127.0.0.1', port: 1 }, { host: '127.0.0.1', port: 2 }];
    assert.deepEqual(clusterSeeds(clusterUrl(seeds)), seeds);
  });

  it('computes slots as Redis documents them (CLUSTER KEYSLOT), hash tags included', () => {
    assert.equal(keySlot('somekey'), 11058);
    assert.equal(keySlot('foo{hash_tag}'), 2515);
    assert.equal(keySlot('{user1000}.following'), keySlot('{user1000}.followers'));
    assert.notEqual(keySlot('foo{}{bar}'), keySlot('bar'), 'an empty first tag: the whole key counts');
  });
});
