import assert from 'node:assert/strict';
import type { Cluster } from 'ioredis';
import { RedisBus } from '../bus/bus-redis.ts';
import { runBusSuite } from '../bus/bus.suite.ts';
import { RedisCalls } from '../calls/calls-redis.ts';
import { runCallsSuite } from '../calls/calls.suite.ts';
import { RedisDedup } from '../dedup/dedup-redis.ts';
import { runDedupSuite } from '../dedup/dedup.suite.ts';
import { RedisPresence } from '../presence/presence-redis.ts';
import { runPresenceSuite } from '../presence/presence.suite.ts';
import { RedisRegistry } from '../registry/registry-redis.ts';
import { runRegistrySuite } from '../registry/registry.suite.ts';
import { RedisSequencer } from '../sequencer/sequencer-redis.ts';
import { runSequencerSuite } from '../sequencer/sequencer.suite.ts';
import { RedisStories } from '../stories/stories-redis.ts';
import { runStoriesSuite } from '../stories/stories.suite.ts';
import { useRedisCluster } from '../testing/redis-test-server.ts';
import { clusterSeeds, isCluster, keySlot } from './redis-client.ts';

/**
 * Every Redis-backed port's conformance suite on one real 3-master Redis
 * Cluster: a multi-key step whose keys span slots fails there (CROSSSLOT,
 * or a script reaching a key of another master), so passing these is what
 * shows the key scheme holds.
 */
describe('Redis adapters on a 3-master Redis Cluster', () => {
  const redis = useRedisCluster('redis-cluster', 3);

  describe('the cluster and its client', () => {
    it('is a cluster of 3 masters sharing the 16384 slots, reached through a redis-cluster:// URL', async () => {
      const h = redis.harness();
      try {
        assert.equal(clusterSeeds(redis.cluster.url)?.length, 3);
        const client = await h.connect();
        assert.ok(isCluster(client));
        const slots = (await client.cluster('SLOTS')) as [number, number, ...unknown[]][];
        assert.equal(slots.length, 3);
        assert.equal(slots.reduce((n, [from, to]) => n + to - from + 1, 0), 16384);
        assert.equal((client as Cluster).nodes('master').length, 3);
      } finally {
        await h.close();
      }
    });

    it('computes the slot of a key, hash tags included, as the cluster does', async () => {
      const h = redis.harness();
      try {
        const client = await h.connect();
        const keys = ['', 'a', 'chatlab:seq:d:alice:bob', 'chatlab:pres:on:{alice}', 'chatlab:{calls}:call:x', 'x{}y', '{}{a}', 'a{b', 'é{ü}', 'chatlab:reg:{nodes}:alive:node-1'];
        for (const key of keys) assert.equal(keySlot(key), await client.cluster('KEYSLOT', key), key);
      } finally {
        await h.close();
      }
    });
  });

  runBusSuite('redis-cluster', async () => {
    const h = redis.harness();
    const buses: RedisBus[] = [];
    const open = async () => {
      const bus = new RedisBus({ client: await h.connect() });
      buses.push(bus);
      return bus;
    };
    const bus = await open();
    return {
      ...h,
      bus,
      peer: open,
      async close() {
        await Promise.all(buses.map((b) => b.close()));
        await h.close();
      },
    };
  });

  runRegistrySuite('redis-cluster', async () => {
    const h = redis.harness();
    const registry = new RedisRegistry({ client: await h.connect() });
    return { ...h, registry, peer: async () => new RedisRegistry({ client: await h.connect() }) };
  });

  runSequencerSuite('redis-cluster', async () => {
    const h = redis.harness();
    const sequencer = new RedisSequencer({ client: await h.connect() });
    return { ...h, sequencer, peer: async () => new RedisSequencer({ client: await h.connect() }) };
  });

  runDedupSuite('redis-cluster', async () => {
    const h = redis.harness();
    const dedup = new RedisDedup({ client: await h.connect() });
    return { ...h, dedup, peer: async () => new RedisDedup({ client: await h.connect() }) };
  });

  runPresenceSuite('redis-cluster', async () => {
    const h = redis.harness();
    return { ...h, presence: new RedisPresence({ client: await h.connect(), clock: h.clock }) };
  });

  runStoriesSuite('redis-cluster', async () => {
    const h = redis.harness();
    const maxLive = 5;
    return {
      ...h,
      stories: new RedisStories({ client: await h.connect(), maxLive }),
      maxLive,
      peer: async () => new RedisStories({ client: await h.connect(), maxLive }),
    };
  });

  runCallsSuite('redis-cluster', async () => {
    const h = redis.harness();
    const endedKeepMs = 300;
    return {
      ...h,
      calls: new RedisCalls({ client: await h.connect(), endedKeepMs }),
      endedKeepMs,
      peer: async () => new RedisCalls({ client: await h.connect(), endedKeepMs }),
    };
  });
});
