import { Cluster, Redis, type ChainableCommander } from 'ioredis';
import { PortError } from '../protocol/errors.ts';

/** Every key chatlab writes starts with this, so one Redis can host other data too. */
export const DEFAULT_PREFIX = 'chatlab:';

/**
 * A single Redis or a Redis Cluster: ioredis gives both the same command
 * API. Adapters write for the cluster's rules (see docs/architecture.md,
 * "Redis keys"): the keys of one MULTI, script or atomic step share a hash
 * tag, and multi-key reads that need no atomicity go through `mgetAll` and
 * `pipelined`, which split them per slot on a cluster.
 */
export type RedisClient = Redis | Cluster;

/**
 * The URL form of a Redis Cluster: `redis-cluster://host:port,host:port,…`
 * (the seed nodes; any reachable one is enough, the client learns the rest).
 */
export const CLUSTER_SCHEME = 'redis-cluster:';

/** The seed nodes of a `redis-cluster://` URL, or undefined for a plain `redis://` URL. */
export function clusterSeeds(url: string): { host: string; port: number }[] | undefined {
  if (!url.startsWith(`${CLUSTER_SCHEME}//`)) return undefined;
  const seeds = url.slice(CLUSTER_SCHEME.length + 2).replace(/\/+$/, '').split(',').filter((s) => s !== '').map((hp) => {
    const i = hp.lastIndexOf(':');
    const port = Number(hp.slice(i + 1));
    if (i <= 0 || !Number.isInteger(port) || port <= 0) throw new Error(`bad Redis Cluster seed "${hp}" in ${url} (want host:port)`);
    return { host: hp.slice(0, i), port };
  });
  if (seeds.length === 0) throw new Error(`no seed node in ${url}`);
  return seeds;
}

/** The `redis-cluster://` URL of these seed nodes. */
export function clusterUrl(seeds: readonly { host: string; port: number }[]): string {
  return `${CLUSTER_SCHEME}//${seeds.map((s) => `${s.host}:${s.port}`).join(',')}`;
}

/** What every Redis adapter takes. */
export interface RedisAdapterOptions {
  /**
   * A connected client (see `connectRedis`), shared by the adapters of one
   * node process; the adapter does not close it. Auto-pipelining batches the
   * commands of one tick into one write.
   */
  client: RedisClient;
  /** Key prefix. Default `chatlab:`; must not hold `{` (hash tags come after it). */
  prefix?: string;
}

export interface ConnectOptions {
  /** Shown in `CLIENT LIST`, e.g. the node id. */
  name?: string;
  /** A command with no reply after this long fails (PortError). Default 5000. */
  commandTimeoutMs?: number;
  /** Give up connecting after this long. Default 5000. */
  connectTimeoutMs?: number;
}

/**
 * Opens an ioredis client to `url` and resolves once it is ready: a
 * `redis://` URL gives a Redis, a `redis-cluster://` URL (see
 * `clusterSeeds`) a Cluster that has fetched the slot map.
 *
 * Failure is fast and visible, never a silent wait: while Redis is
 * unreachable commands reject at once (no offline queue) and the adapters
 * turn that into a PortError (`unavailable`, outcome unknown); the client
 * keeps reconnecting in the background (50 ms backoff growing to 1 s) and a
 * subscriber connection resubscribes by itself. That is what a chaos drill
 * that stops Redis observes.
 */
export async function connectRedis(url: string, options: ConnectOptions = {}): Promise<RedisClient> {
  const seeds = clusterSeeds(url);
  if (seeds) return connectCluster(seeds, options);
  const client = new Redis(url, {
    connectionName: options.name,
    lazyConnect: true,
    enableAutoPipelining: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: options.commandTimeoutMs ?? 5000,
    connectTimeout: options.connectTimeoutMs ?? 5000,
    retryStrategy: (times) => Math.min(50 * times, 1000),
  });
  return connected(client);
}

/**
 * The Cluster form of `connectRedis`, with the same fail-fast behaviour:
 * no offline queue at the cluster level, and the slot map is fetched again
 * after a MOVED or a lost node (the cluster client's own reconnect).
 */
async function connectCluster(seeds: { host: string; port: number }[], options: ConnectOptions): Promise<Cluster> {
  const client = new Cluster(seeds, {
    lazyConnect: true,
    enableAutoPipelining: true,
    enableOfflineQueue: false,
    clusterRetryStrategy: (times) => Math.min(50 * times, 1000),
    slotsRefreshTimeout: options.connectTimeoutMs ?? 5000,
    redisOptions: {
      connectionName: options.name,
      maxRetriesPerRequest: 0,
      commandTimeout: options.commandTimeoutMs ?? 5000,
      connectTimeout: options.connectTimeoutMs ?? 5000,
    },
  });
  return connected(client);
}

/** Connects `client` or fails with a PortError (and leaves nothing connecting). */
async function connected<C extends Redis | Cluster>(client: C): Promise<C> {
  // Errors surface through the commands that fail; without a listener ioredis would print each reconnect error.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (error) {
    client.disconnect();
    throw new PortError('redis', error);
  }
  return client;
}

/** Whether `client` is a Redis Cluster client (whose multi-key commands must stay in one slot). */
export function isCluster(client: RedisClient): client is Cluster {
  return client instanceof Cluster;
}

/**
 * A second connection like `client` (same server or cluster, same options),
 * e.g. for a subscriber. `lazyConnect` applies to either; `shardedSubscribers`
 * (SSUBSCRIBE through a connection to each channel's master) to a cluster.
 */
export function duplicateClient(client: RedisClient, overrides: { lazyConnect?: boolean; shardedSubscribers?: boolean } = {}): RedisClient {
  if (isCluster(client)) return client.duplicate(undefined, overrides);
  const { shardedSubscribers: _, ...rest } = overrides;
  return client.duplicate(rest);
}

/**
 * The hash slot of `key` (CRC16/XMODEM mod 16384 of the key, or of its hash
 * tag: the text between the first `{` and the next `}`, when not empty),
 * as Redis Cluster computes it.
 */
export function keySlot(key: string): number {
  const bytes = Buffer.from(key, 'utf8');
  let start = 0;
  let end = bytes.length;
  const open = bytes.indexOf(0x7b);
  if (open >= 0) {
    const close = bytes.indexOf(0x7d, open + 1);
    if (close > open + 1) {
      start = open + 1;
      end = close;
    }
  }
  let crc = 0;
  for (let i = start; i < end; i++) {
    crc ^= bytes[i]! << 8;
    for (let b = 0; b < 8; b++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc & 0x3fff;
}

/**
 * `items` grouped so each group can go into one multi-key command: one
 * group on a single Redis, one per hash slot on a cluster. Each entry keeps
 * its index in `items`.
 */
export function bySlot<T>(client: RedisClient, items: readonly T[], keyOf: (item: T) => string): { item: T; index: number }[][] {
  const all = items.map((item, index) => ({ item, index }));
  if (!isCluster(client)) return all.length === 0 ? [] : [all];
  const groups = new Map<number, { item: T; index: number }[]>();
  for (const e of all) {
    const slot = keySlot(keyOf(e.item));
    const group = groups.get(slot);
    if (group) group.push(e);
    else groups.set(slot, [e]);
  }
  return [...groups.values()];
}

/**
 * MGET of any keys, replies in their order: one MGET on a single Redis, one
 * per slot (sent together) on a cluster. Not atomic across slots, which its
 * callers do not need.
 */
export async function mgetAll(client: RedisClient, keys: readonly string[]): Promise<(string | null)[]> {
  const out: (string | null)[] = new Array(keys.length).fill(null);
  await Promise.all(
    bySlot(client, keys, (k) => k).map(async (group) => {
      const values = await client.mget(group.map((e) => e.item));
      group.forEach((e, i) => (out[e.index] = values[i] ?? null));
    }),
  );
  return out;
}

/** A command for `pipelined`: name, then its key, then the other arguments. */
export type Cmd = [command: string, key: string, ...args: (string | number)[]];

/**
 * Runs independent commands (each on one key, or on keys of one slot) and
 * returns their replies in order, throwing the first error: one pipeline on
 * a single Redis; on a cluster one pipeline per slot of the commands' first
 * key, as a cluster pipeline must stay on one node. Not atomic: for
 * atomic steps use MULTI or a script on keys sharing a hash tag.
 */
export async function pipelined(client: RedisClient, commands: readonly Cmd[]): Promise<unknown[]> {
  const out: unknown[] = new Array(commands.length);
  await Promise.all(
    bySlot(client, commands, (c) => c[1]).map(async (group) => {
      const replies = await execAll(client.pipeline(group.map((e) => [...e.item])));
      group.forEach((e, i) => (out[e.index] = replies[i]));
    }),
  );
  return out;
}

/** Runs a store operation, turning any failure into a PortError of `port` (outcome unknown). */
export { guardPort as guard } from '../protocol/errors.ts';

export type ScriptFn = (...args: (string | number)[]) => Promise<unknown>;

/**
 * A Lua script bound to `client` as a custom command (EVALSHA, falling back
 * to EVAL after a Redis restart emptied the script cache). Defined once per
 * client and name; the name is namespaced so adapters sharing a client
 * cannot clash. `numberOfKeys` undefined: the call passes the number of
 * keys first (scripts over a varying number of keys). A script names every
 * key it touches in KEYS, so a cluster client can route it, and on a
 * cluster they must share one slot.
 */
export function script(client: RedisClient, name: string, numberOfKeys: number | undefined, lua: string): ScriptFn {
  const command = `chatlab_${name}`;
  const commands = client as unknown as Record<string, ScriptFn | undefined>;
  if (typeof commands[command] !== 'function') {
    client.defineCommand(command, numberOfKeys === undefined ? { lua } : { numberOfKeys, lua });
    // A cluster's auto-pipelining groups a custom command by its first argument, here the key
    // count, not a key: calls on different slots would share one pipeline and fail. Sent alone.
    if (numberOfKeys === undefined && isCluster(client)) {
      client.options.autoPipeliningIgnoredCommands = [...(client.options.autoPipeliningIgnoredCommands ?? []), command];
    }
  }
  return (...args) => commands[command]!.call(client, ...args);
}

/** Closes a client the caller owns, without waiting on a dead server. */
export async function closeRedis(client: RedisClient): Promise<void> {
  if (client.status === 'end') return;
  try {
    await Promise.race([client.quit(), new Promise((r) => setTimeout(r, 1000))]);
  } catch {
    // already gone
  }
  client.disconnect();
}

/** Runs a pipeline or MULTI and returns its replies, throwing the first command error (ioredis only reports them per command). */
export async function execAll(chain: ChainableCommander): Promise<unknown[]> {
  const replies = await chain.exec();
  if (replies === null) throw new Error('transaction aborted');
  for (const [error] of replies) if (error) throw error;
  return replies.map(([, value]) => value);
}
