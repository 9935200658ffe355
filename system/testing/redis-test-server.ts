import { rmSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { wallHarness, type Harness } from './harness.ts';
import { closeRedis, connectRedis, type RedisClient } from '../drivers/redis-client.ts';
import { scratchDir } from '../worlds/infra/provisioning.ts';
import { startRedisCluster, type RedisCluster } from '../worlds/infra/redis-cluster.ts';
import { startRedis, type RedisServer } from '../worlds/infra/redis-server.ts';

export interface RedisForTests {
  /** The running server (after `before`). */
  readonly server: RedisServer;
  /**
   * A wall-clock harness whose `close` disconnects every client opened
   * through its `connect`, for a conformance suite's factory.
   */
  harness(): Harness & { connect(): Promise<Redis> };
}

/**
 * Starts one real redis-server for the enclosing `describe` (in `before`) and
 * stops it in `after`; its folder is removed when it stopped cleanly. Call it
 * inside a `describe` so the server's life is that block's, not the whole run's.
 * Not provisioned: `before` fails with what to install (never a skip).
 */
export function useRedisServer(name: string): RedisForTests {
  let server: RedisServer | undefined;
  let dir: string | undefined;

  before(async function () {
    this.timeout(30_000);
    dir = scratchDir(name);
    server = await startRedis({ dir });
  });

  after(async () => {
    await server?.stop();
    if (dir && server && !server.running) rmSync(dir, { recursive: true, force: true });
  });

  return {
    get server() {
      if (!server) throw new Error('redis-server not started: use it inside tests, after before()');
      return server;
    },
    harness() {
      const url = this.server.url;
      const clients: Redis[] = [];
      return {
        ...wallHarness(),
        async connect() {
          // A redis:// URL gives a single Redis (not a Cluster).
          const client = (await connectRedis(url, { name })) as Redis;
          clients.push(client);
          return client;
        },
        async close() {
          await Promise.all(clients.map(closeRedis));
        },
      };
    },
  };
}

export interface RedisClusterForTests {
  /** The running cluster (after `before`). */
  readonly cluster: RedisCluster;
  /** As `RedisForTests.harness`, with Cluster clients. */
  harness(): Harness & { connect(): Promise<RedisClient> };
}

/**
 * `useRedisServer` for a Redis Cluster of `masters` masters (no replicas),
 * started once for the enclosing `describe`, so the conformance suites can
 * run on it. Its folder is removed when every master stopped cleanly.
 */
export function useRedisCluster(name: string, masters = 3): RedisClusterForTests {
  let cluster: RedisCluster | undefined;
  let dir: string | undefined;

  before(async function () {
    this.timeout(60_000);
    dir = scratchDir(name);
    cluster = await startRedisCluster({ dir, masters });
  });

  after(async () => {
    await cluster?.stop();
    if (dir && cluster && !cluster.running) rmSync(dir, { recursive: true, force: true });
  });

  return {
    get cluster() {
      if (!cluster) throw new Error('Redis Cluster not started: use it inside tests, after before()');
      return cluster;
    },
    harness() {
      const url = this.cluster.url;
      const clients: RedisClient[] = [];
      return {
        ...wallHarness(),
        async connect() {
          const client = await connectRedis(url, { name });
          clients.push(client);
          return client;
        },
        async close() {
          await Promise.all(clients.map(closeRedis));
        },
      };
    },
  };
}
