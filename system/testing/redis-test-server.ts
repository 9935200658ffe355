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
  const server = startedFor(name, 30_000, (dir) => startRedis({ dir }), 'redis-server');
  return {
    get server() {
      return server();
    },
    harness() {
      // A redis:// URL gives a single Redis (not a Cluster).
      return harnessOn(server().url, name) as Harness & { connect(): Promise<Redis> };
    },
  };
}

/**
 * A server started in `before` of the enclosing `describe` (in a fresh
 * scratch folder) and stopped in `after`, the folder removed when it stopped
 * cleanly; the getter throws when called outside the block's tests.
 */
function startedFor<S extends { running: boolean; stop(): Promise<void> }>(name: string, timeoutMs: number, start: (dir: string) => Promise<S>, what: string): () => S {
  let server: S | undefined;
  let dir: string | undefined;
  before(async function () {
    this.timeout(timeoutMs);
    dir = scratchDir(name);
    server = await start(dir);
  });
  after(async () => {
    await server?.stop();
    if (dir && server && !server.running) rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    if (!server) throw new Error(`${what} not started: use it inside tests, after before()`);
    return server;
  };
}

/** A wall-clock harness whose `close` disconnects every client its `connect` opened to `url`. */
function harnessOn(url: string, name: string): Harness & { connect(): Promise<RedisClient> } {
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
  const cluster = startedFor(name, 60_000, (dir) => startRedisCluster({ dir, masters }), 'Redis Cluster');
  return {
    get cluster() {
      return cluster();
    },
    harness() {
      return harnessOn(cluster().url, name);
    },
  };
}
