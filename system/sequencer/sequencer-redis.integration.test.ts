import assert from 'node:assert/strict';
import { useRedisServer } from '../testing/redis-test-server.ts';
import { RedisSequencer } from './sequencer-redis.ts';
import { runSequencerSuite } from './sequencer.suite.ts';

describe('RedisSequencer on a real redis-server', () => {
  const redis = useRedisServer('sequencer-redis');

  runSequencerSuite('redis', async () => {
    const h = redis.harness();
    const sequencer = new RedisSequencer({ client: await h.connect() });
    return { ...h, sequencer, peer: async () => new RedisSequencer({ client: await h.connect() }) };
  });

  it('continues a sequence after Redis restarts, never handing a number out twice', async () => {
    const h = redis.harness();
    const sequencer = new RedisSequencer({ client: await h.connect() });
    try {
      for (let i = 0; i < 5; i++) await sequencer.next('c-restart');
      await redis.server.restart();
      const after = new RedisSequencer({ client: await h.connect() });
      assert.equal(await after.next('c-restart'), 6);
    } finally {
      await h.close();
    }
  });
});
