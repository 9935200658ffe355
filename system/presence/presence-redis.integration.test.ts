import { useRedisServer } from '../testing/redis-test-server.ts';
import { RedisPresence } from './presence-redis.ts';
import { runPresenceSuite } from './presence.suite.ts';

describe('RedisPresence on a real redis-server', () => {
  const redis = useRedisServer('presence-redis');

  runPresenceSuite('redis', async () => {
    const h = redis.harness();
    return { ...h, presence: new RedisPresence({ client: await h.connect(), clock: h.clock }) };
  });
});
