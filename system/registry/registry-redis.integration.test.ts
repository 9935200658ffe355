import assert from 'node:assert/strict';
import { useRedisServer } from '../testing/redis-test-server.ts';
import { RedisRegistry } from './registry-redis.ts';
import { runRegistrySuite } from './registry.suite.ts';

describe('RedisRegistry on a real redis-server', () => {
  const redis = useRedisServer('registry-redis');

  runRegistrySuite('redis', async () => {
    const h = redis.harness();
    const registry = new RedisRegistry({ client: await h.connect() });
    return { ...h, registry, peer: async () => new RedisRegistry({ client: await h.connect() }) };
  });

  it('looks up many devices in two round trips', async () => {
    const h = redis.harness();
    const client = await h.connect();
    const registry = new RedisRegistry({ client, prefix: 'rt-test:' });
    try {
      const nodes = ['n1', 'n2', 'n3'];
      for (const n of nodes) await registry.heartbeat(n, 5000);
      const devices = Array.from({ length: 500 }, (_, i) => `u${i}.1`);
      await Promise.all(devices.map((d, i) => registry.put(d, nodes[i % 3]!)));
      let commands = 0;
      const count = () => commands++;
      const monitor = await client.duplicate().monitor();
      monitor.on('monitor', count);
      await registry.lookup(devices);
      await new Promise((r) => setTimeout(r, 100));
      monitor.disconnect();
      assert.equal(commands, 2, 'one MGET of devices, one MGET of alive keys');
    } finally {
      await h.close();
    }
  });

  it('fails with a PortError (unavailable) while Redis is down, and works again after a restart', async () => {
    const h = redis.harness();
    const registry = new RedisRegistry({ client: await h.connect() });
    try {
      await registry.heartbeat('n-restart', 60_000);
      await registry.put('a-restart.1', 'n-restart');
      await redis.server.stop();
      await assert.rejects(registry.lookup(['a-restart.1']), { code: 'unavailable', name: 'PortError' });
      await redis.server.restart();
      await waitUntil(async () => (await registry.lookup(['a-restart.1']).catch(() => new Map())).size === 1);
    } finally {
      await h.close();
    }
  });
});

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}
