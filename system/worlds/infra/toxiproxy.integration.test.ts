import assert from 'node:assert/strict';
import { connectCassandra } from '../../drivers/cassandra-client.ts';
import { scratchDir } from './provisioning.ts';
import { closeRedis, connectRedis } from '../../drivers/redis-client.ts';
import { startRedis, type RedisServer } from './redis-server.ts';
import { sharedCassandra } from '../../testing/shared-cassandra.ts';
import { startToxiproxy, type ToxiproxyServer } from './toxiproxy.ts';

async function timed(op: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await op();
  return performance.now() - t;
}

async function median(n: number, op: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) times.push(await timed(op));
  return times.sort((a, b) => a - b)[Math.floor(n / 2)]!;
}

// Toxiproxy (provisioned by scripts/provision.sh) between a client and a real
// server: the proxy must really carry the traffic, or a network fault would
// silently do nothing.
describe('Toxiproxy launcher', function () {
  this.timeout(240_000);
  let toxiproxy: ToxiproxyServer;
  let redis: RedisServer;

  before(async () => {
    toxiproxy = await startToxiproxy({ dir: scratchDir('toxiproxy') });
    redis = await startRedis({ dir: scratchDir('redis-toxi'), persistence: 'none' });
  });

  after(async () => {
    await redis?.stop();
    await toxiproxy?.stop();
  });

  it('slows Redis round trips by the added latency and fails commands while the link is cut', async () => {
    const link = await toxiproxy.proxy('test:redis', `127.0.0.1:${redis.port}`);
    const client = await connectRedis(`redis://${link.listen}`, { commandTimeoutMs: 1000 });
    try {
      const before = await median(5, () => client.ping());
      const remove = await link.addToxic({ type: 'latency', stream: 'downstream', attributes: { latency: 150, jitter: 0 } });
      const during = await median(5, () => client.ping());
      await remove();
      assert.ok(before < 50, `ping before ${before.toFixed(1)} ms`);
      assert.ok(during >= 145, `ping with 150 ms of latency took ${during.toFixed(1)} ms`);

      const heal = await link.cut();
      await assert.rejects(() => client.set('k', 'v'));
      await heal();
      const deadline = Date.now() + 10_000;
      for (;;) {
        const ok = await client.set('k', 'v').then(() => true, () => false);
        if (ok) break;
        assert.ok(Date.now() < deadline, 'client did not reconnect through the healed proxy');
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      await closeRedis(client);
    }
  });

  it('carries every Cassandra connection through the proxy (address map) and slows queries by the added latency', async () => {
    const { contactPoint } = await sharedCassandra();
    const link = await toxiproxy.proxy('test:cassandra', contactPoint);
    const session = await connectCassandra({ contactPoints: [link.listen], keyspace: 'chatlab_toxi', addressMap: { [contactPoint]: link.listen } });
    try {
      const query = () => session.client.execute('SELECT release_version FROM system.local');
      const hosts = session.client.hosts.keys();
      assert.deepEqual(hosts, [link.listen], 'the driver knows the node only by its proxy address');
      const before = await median(5, query);
      const remove = await link.addToxic({ type: 'latency', stream: 'downstream', attributes: { latency: 200, jitter: 0 } });
      const during = await median(5, query);
      await remove();
      assert.ok(during >= before + 180, `query ${before.toFixed(1)} ms before, ${during.toFixed(1)} ms with 200 ms added`);
    } finally {
      await session.close();
    }
  });
});
