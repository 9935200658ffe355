import { useRedisServer } from '../testing/redis-test-server.ts';
import { RedisDedup } from './dedup-redis.ts';
import { runDedupSuite } from './dedup.suite.ts';

describe('RedisDedup on a real redis-server', () => {
  const redis = useRedisServer('dedup-redis');

  runDedupSuite('redis', async () => {
    const h = redis.harness();
    const dedup = new RedisDedup({ client: await h.connect() });
    return { ...h, dedup, peer: async () => new RedisDedup({ client: await h.connect() }) };
  });
});
