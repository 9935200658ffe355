import assert from 'node:assert/strict';
import { waitFor } from '../testing/harness.ts';
import { useRedisServer } from '../testing/redis-test-server.ts';
import { RedisBus } from './bus-redis.ts';
import { runBusSuite } from './bus.suite.ts';
import type { Envelope, TypingEnvelope } from './envelope.ts';

describe('RedisBus on a real redis-server', () => {
  const redis = useRedisServer('bus-redis');

  runBusSuite('redis', async () => {
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

  const typing = (frame: string): TypingEnvelope => ({ k: 'typing', devices: ['a.1'], frame });

  it('keeps only the channels of its own prefix apart', async () => {
    const h = redis.harness();
    const [a, b] = [new RedisBus({ client: await h.connect(), prefix: 'one:' }), new RedisBus({ client: await h.connect(), prefix: 'two:' })];
    try {
      const got: Envelope[] = [];
      await a.subscribe('n1', (e) => got.push(e));
      await b.publish('n1', typing('other prefix'));
      await a.publish('n1', typing('mine'));
      await waitFor(() => got.length >= 1, 'the envelope');
      assert.deepEqual(got, [typing('mine')]);
    } finally {
      await a.close();
      await b.close();
      await h.close();
    }
  });

  it('delivers again after Redis restarts (the subscriber resubscribes by itself)', async () => {
    const h = redis.harness();
    const bus = new RedisBus({ client: await h.connect() });
    try {
      const got: Envelope[] = [];
      await bus.subscribe('n-restart', (e) => got.push(e));
      await redis.server.restart();
      for (let i = 0; got.length === 0 && i < 100; i++) {
        await bus.publish('n-restart', typing('after restart')).catch(() => {});
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(got.length >= 1);
      assert.deepEqual(got[0], typing('after restart'));
    } finally {
      await bus.close();
      await h.close();
    }
  });
});
