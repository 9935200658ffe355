import assert from 'node:assert/strict';
import { useRedisServer } from '../testing/redis-test-server.ts';
import { RedisStories } from './stories-redis.ts';
import { runStoriesSuite } from './stories.suite.ts';

describe('RedisStories on a real redis-server', () => {
  const redis = useRedisServer('stories-redis');

  runStoriesSuite('redis', async () => {
    const h = redis.harness();
    const maxLive = 5;
    return {
      ...h,
      stories: new RedisStories({ client: await h.connect(), maxLive }),
      maxLive,
      peer: async () => new RedisStories({ client: await h.connect(), maxLive }),
    };
  });
});

describe('RedisStories keys', () => {
  const redis = useRedisServer('stories-redis-keys');

  it('gives every key of a story, its views and its poster an expiry, so Redis drops them by itself', async () => {
    const h = redis.harness();
    try {
      const client = await h.connect();
      const stories = new RedisStories({ client, prefix: 'ttl-test:' });
      const at = Date.now();
      const sid = `${at.toString(16).padStart(11, '0')}${'1'.padStart(18, '0')}`;
      await stories.post({ sid, user: 'poster', device: 'poster.1', at, expiresAt: at + 60_000, audience: ['viewer'], body: 'b' });
      await stories.view(sid, 'viewer', at + 1);
      const keys = (await client.keys('ttl-test:*')).sort();
      assert.deepEqual(keys, ['ttl-test:stories:{poster}', `ttl-test:story:{${sid}}`, `ttl-test:story:{${sid}}:views`]);
      for (const key of keys) {
        const ttl = await client.pttl(key);
        assert.ok(ttl > 50_000 && ttl <= 60_000, `${key} expires in ${ttl} ms`);
      }
    } finally {
      await h.close();
    }
  });
});
