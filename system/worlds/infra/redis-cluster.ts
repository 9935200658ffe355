import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { clusterUrl } from '../../drivers/redis-client.ts';
import { LOOPBACK, freePorts } from './tcp-ports.ts';
import { startRedis, type RedisServer } from './redis-server.ts';

/** Redis Cluster's slots: 0 … 16383, split over the masters. */
const SLOTS = 16384;

export interface RedisClusterOptions {
  /** Data and log folder; each master gets `<dir>/master-<i>`, emptied first. */
  dir: string;
  /** How many masters (no replicas). Default 3, Redis Cluster's minimum for a sane setup. */
  masters?: number;
  /** As in `startRedis`. Default 'none': the cluster is never restarted, so nothing needs to survive one. */
  persistence?: 'aof' | 'none';
  /** Default 'redis-server' on PATH. */
  binary?: string;
  /** How long to wait for `cluster_state:ok` once the masters run. Default 20 s. */
  readyTimeoutMs?: number;
}

/** A Redis Cluster started by chatlab (see `startRedisCluster`). */
export interface RedisCluster {
  /** `redis-cluster://127.0.0.1:<p1>,127.0.0.1:<p2>,…`, for `connectRedis` and CHATLAB_REDIS_URL. */
  readonly url: string;
  /** The masters' `host:port`, the seed nodes. */
  readonly seeds: readonly { host: string; port: number }[];
  /** The masters, in slot order (master 0 holds the first slots). */
  readonly masters: readonly RedisServer[];
  readonly running: boolean;
  /** Stops every master (SIGTERM, by pid); resolves once they are gone. */
  stop(): Promise<void>;
}

/**
 * Starts a Redis Cluster of `masters` redis-servers on 127.0.0.1 and
 * resolves once every master reports `cluster_state:ok`.
 *
 * Each master is a `startRedis` server (same readiness check, logs, stop by
 * pid) with `cluster-enabled` and both its ports picked free: the client
 * port and the cluster bus port (`cluster-port`, Redis 7+), since the
 * default bus port, client port + 10000, may be taken or out of range. The
 * cluster is then formed by hand, which is what `redis-cli --cluster
 * create` does: each master takes an even share of the slots (ADDSLOTS) and
 * master 0 meets the others (CLUSTER MEET); gossip does the rest in ~1-2 s.
 * Every master starts from an emptied folder, as a leftover nodes.conf
 * would make it rejoin an old cluster.
 */
export async function startRedisCluster(options: RedisClusterOptions): Promise<RedisCluster> {
  const count = options.masters ?? 3;
  if (!Number.isInteger(count) || count < 1) throw new Error(`masters must be a positive integer, not ${count}`);
  const dir = resolve(options.dir);
  const ports = await freePorts(2 * count);
  const masters: RedisServer[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const masterDir = join(dir, `master-${i}`);
      rmSync(masterDir, { recursive: true, force: true });
      mkdirSync(masterDir, { recursive: true });
      const args = ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-port', String(ports[count + i]!), '--cluster-node-timeout', '5000'];
      masters.push(await startRedis({ dir: masterDir, port: ports[i]!, persistence: options.persistence ?? 'none', binary: options.binary, args }));
    }
    await form(masters, ports.slice(count), options.readyTimeoutMs ?? 20_000);
  } catch (error) {
    await Promise.all(masters.map((m) => m.stop()));
    throw error;
  }
  const seeds = masters.map((m) => ({ host: m.host, port: m.port }));
  return {
    url: clusterUrl(seeds),
    seeds,
    masters,
    get running() {
      return masters.some((m) => m.running);
    },
    async stop() {
      await Promise.all(masters.map((m) => m.stop()));
    },
  };
}

/** Assigns the slots, joins the masters (each with its bus port) and waits for `cluster_state:ok` on each. */
async function form(masters: readonly RedisServer[], busPorts: readonly number[], timeoutMs: number): Promise<void> {
  const clients = masters.map((m) => new Redis({ host: m.host, port: m.port, lazyConnect: true, maxRetriesPerRequest: 1 }));
  try {
    for (const c of clients) c.on('error', () => {});
    await Promise.all(clients.map((c) => c.connect()));
    await Promise.all(
      clients.map((c, i) => {
        const from = Math.floor((i * SLOTS) / clients.length);
        const to = Math.floor(((i + 1) * SLOTS) / clients.length);
        return c.call('CLUSTER', 'ADDSLOTS', ...Array.from({ length: to - from }, (_, k) => String(from + k)));
      }),
    );
    // The bus port is named: without it a node would look for the others' buses at port + 10000.
    for (let i = 1; i < masters.length; i++) await clients[0]!.call('CLUSTER', 'MEET', LOOPBACK, String(masters[i]!.port), String(busPorts[i]!));
    const started = performance.now();
    let states: string[] = [];
    while (performance.now() - started < timeoutMs) {
      states = await Promise.all(clients.map(async (c) => /cluster_state:(\w+)/.exec(String(await c.call('CLUSTER', 'INFO')))?.[1] ?? '?'));
      if (states.every((s) => s === 'ok')) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`Redis Cluster not ok after ${timeoutMs} ms (cluster_state per master: ${states.join(', ')}); logs in ${masters.map((m) => m.logFile).join(', ')}`);
  } finally {
    for (const c of clients) c.disconnect();
  }
}
