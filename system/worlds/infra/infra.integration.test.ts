import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { Redis } from 'ioredis';
import { queryReleaseVersion, startCassandra, type CassandraServer } from './cassandra-server.ts';
import { isPortFree } from './tcp-ports.ts';
import { liveProcesses, pidAlive } from './processes.ts';
import { CASSANDRA_VERSION, scratchDir } from './provisioning.ts';
import { startRedis, type RedisServer } from './redis-server.ts';

// Not provisioned = these tests FAIL with NotProvisionedError's message (what
// to install, or --world containers / --redis / --cassandra): never a skip.

async function withClient<T>(url: string, fn: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis(url, { maxRetriesPerRequest: 1, retryStrategy: () => null });
  try {
    return await fn(client);
  } finally {
    client.disconnect();
  }
}

describe('Local infrastructure launchers', () => {
  describe('startRedis', () => {
    let redis: RedisServer | undefined;
    const dirs: string[] = [];

    afterEach(async () => {
      await redis?.stop();
      redis = undefined;
    });
    after(() => {
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    });

    it('starts a real redis-server on a free loopback port that answers commands, and stops it', async () => {
      const dir = scratchDir('redis');
      dirs.push(dir);
      const started = performance.now();
      redis = await startRedis({ dir });
      const readyMs = performance.now() - started;
      assert.match(redis.url, /^redis:\/\/127\.0\.0\.1:\d+$/);
      await withClient(redis.url, async (c) => {
        await c.set('greeting', 'hello');
        assert.equal(await c.get('greeting'), 'hello');
      });
      const { pid, port } = redis;
      assert.ok(pidAlive(pid));
      await redis.stop();
      assert.equal(redis.running, false);
      assert.equal(pidAlive(pid), false, 'the redis-server process is gone');
      assert.equal(await isPortFree(port), true, 'its port is free again');
      assert.ok(readyMs < 5000, `ready in ${readyMs.toFixed(0)} ms`);
    });

    it('restarts on the same port and keeps acknowledged writes (AOF) across a graceful stop', async () => {
      const dir = scratchDir('redis');
      dirs.push(dir);
      redis = await startRedis({ dir });
      const { url, port } = redis;
      await withClient(url, (c) => c.incrby('seq', 41));
      const oldPid = redis.pid;
      await redis.restart();
      assert.equal(redis.port, port);
      assert.notEqual(redis.pid, oldPid);
      assert.equal(pidAlive(oldPid), false);
      assert.equal(await withClient(url, (c) => c.incr('seq')), 42);
    });

    it('can be crashed with SIGKILL, paused with SIGSTOP, and started again', async () => {
      const dir = scratchDir('redis');
      dirs.push(dir);
      redis = await startRedis({ dir });
      const crashed = redis.pid;
      await redis.kill('SIGKILL');
      assert.equal(redis.running, false);
      assert.equal(pidAlive(crashed), false);
      await redis.restart();
      const url = redis.url;
      await redis.kill('SIGSTOP');
      const paused = withClient(url, (c) => c.ping());
      const outcome = await Promise.race([paused.then(() => 'answered'), new Promise((r) => setTimeout(() => r('silent'), 300))]);
      assert.equal(outcome, 'silent', 'a paused server does not answer');
      await redis.kill('SIGCONT');
      assert.equal(await paused, 'PONG');
    });

    it('fails with the log when the port is taken', async () => {
      const dir = scratchDir('redis');
      dirs.push(dir);
      redis = await startRedis({ dir });
      const clash = scratchDir('redis-clash');
      dirs.push(clash);
      await assert.rejects(startRedis({ dir: clash, port: redis.port, readyTimeoutMs: 3000 }), /redis-server/);
    });
  });

  describe('startCassandra', function () {
    this.timeout(240_000);
    let cassandra: CassandraServer | undefined;

    after(async () => {
      await cassandra?.stop();
    });

    it('starts a real Cassandra that answers CQL, and stops its whole process group', async () => {
      const dir = scratchDir('cassandra');
      const started = performance.now();
      cassandra = await startCassandra({ dir });
      const readySec = (performance.now() - started) / 1000;
      console.log(`      cassandra ready in ${readySec.toFixed(1)} s`);
      assert.match(cassandra.contactPoint, /^127\.0\.0\.1:\d+$/);
      assert.equal(await queryReleaseVersion(cassandra.contactPoint), CASSANDRA_VERSION);
      const { pid, nativePort } = cassandra;
      assert.ok(pidAlive(pid));
      await cassandra.stop();
      assert.equal(pidAlive(pid), false, 'the JVM is gone');
      assert.equal(await isPortFree(nativePort), true, 'its CQL port is free again');
      assert.ok(!liveProcesses().some((p) => p.pid === pid), 'not tracked as running any more');
      rmSync(dir, { recursive: true, force: true });
    });
  });
});
