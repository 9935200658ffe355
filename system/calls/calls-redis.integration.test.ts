import assert from 'node:assert/strict';
import { useRedisServer } from '../testing/redis-test-server.ts';
import { RedisCalls } from './calls-redis.ts';
import { runCallsSuite } from './calls.suite.ts';

describe('RedisCalls on a real redis-server', () => {
  const redis = useRedisServer('calls-redis');

  runCallsSuite('redis', async () => {
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

describe('RedisCalls keys', () => {
  const redis = useRedisServer('calls-redis-keys');

  it('gives every key of a call, its users and their rings an expiry, so Redis drops them by itself', async () => {
    const h = redis.harness();
    try {
      const client = await h.connect();
      const calls = new RedisCalls({ client, prefix: 'ttl-test:', endedKeepMs: 30_000 });
      const at = Date.now();
      const id = '0000000000000000a1';
      await calls.place({ id, caller: 'alice', device: 'alice.1', media: 'video', sdp: 'v=0', startedAt: at, ringUntil: at + 45_000, expiresAt: at + 60_000, callees: ['bob', 'carol'] }, at);
      await calls.answer(id, 'bob', 'bob.2', at + 1);
      const keys = (await client.keys('ttl-test:*')).sort();
      assert.deepEqual(keys, ['ttl-test:{calls}:call-ring:carol', 'ttl-test:{calls}:call-user:alice', 'ttl-test:{calls}:call-user:bob', `ttl-test:{calls}:call:${id}`]);
      const ttls = Object.fromEntries(await Promise.all(keys.map(async (k) => [k, await client.pttl(k)] as const)));
      assert.ok(ttls['ttl-test:{calls}:call-ring:carol']! > 40_000 && ttls['ttl-test:{calls}:call-ring:carol']! <= 45_000, 'a ring lasts until its deadline');
      for (const k of keys.slice(1)) assert.ok(ttls[k]! > 55_000 && ttls[k]! <= 60_000, `${k} expires in ${ttls[k]} ms`);
      await calls.hangup(id, 'alice', 'alice.1', at + 2);
      assert.deepEqual(await client.keys('ttl-test:*'), [`ttl-test:{calls}:call:${id}`], 'ended: the marks and rings are gone');
      const left = await client.pttl(`ttl-test:{calls}:call:${id}`);
      assert.ok(left > 25_000 && left <= 30_000, `an ended call is kept endedKeepMs (${left} ms)`);
    } finally {
      await h.close();
    }
  });
});
