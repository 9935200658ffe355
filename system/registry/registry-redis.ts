import type { DeviceId, NodeId } from '../protocol/ids.ts';
import { DEFAULT_PREFIX, execAll, guard, mgetAll, script, type RedisAdapterOptions, type RedisClient, type ScriptFn } from '../drivers/redis-client.ts';
import type { Registry } from './registry.ts';

export interface RedisRegistryOptions extends RedisAdapterOptions {
  /**
   * How long a device entry lives without being put again. It is not what
   * makes a crashed node's devices disappear (its expiring heartbeat does
   * that at once); it only bounds memory for devices that never come back.
   * A connection held longer than this drops out of lookups, so keep it far
   * above any connection's life. Default 30 days.
   */
  deviceTtlMs?: number;
}

/** Deletes the device key only if it still names the node (a late disconnect must not hide a newer connection). */
const REMOVE_IF = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/** Removes from the node set (KEYS[1]) each node ARGV[i] whose alive key (KEYS[i + 1]) is still missing. */
const PRUNE_DEAD = `
for i = 1, #ARGV do
  if redis.call('EXISTS', KEYS[i + 1]) == 0 then redis.call('SREM', KEYS[1], ARGV[i]) end
end
return 0`;

/**
 * The Registry in Redis, shared by every node process.
 *
 * Keys (under the prefix):
 * - `reg:dev:<device>` -> node, long TTL, written with `SET ... GET` so a put
 *   is one atomic round trip that also returns the previous node;
 * - `reg:{nodes}:alive:<node>` -> '1' with the heartbeat's TTL (PX): the
 *   only thing that decides whether a node is alive, so a crashed node's
 *   devices vanish from lookups when it expires, with nobody cleaning up;
 * - `reg:{nodes}` -> set of nodes that ever sent a heartbeat (pruned of dead
 *   ones by `nodes()`);
 * - `reg:group:<group>` -> set of nodes holding online members of a large
 *   group. Not pruned, like the memory adapter: a dead node is filtered out
 *   by its alive key, and the set is bounded by the node ids ever used.
 *
 * `lookup` is two round trips for any number of devices: one MGET of the
 * device keys, one MGET of the distinct nodes' alive keys. On a Redis
 * Cluster the alive keys and the node set share the hash tag `{nodes}` (one
 * slot: they are few, and pruning checks them atomically), and the device
 * MGET is split per slot (the MGETs sent together, one round trip).
 */
export class RedisRegistry implements Registry {
  private readonly client: RedisClient;
  private readonly prefix: string;
  private readonly deviceTtlMs: number;
  private readonly removeIf: ScriptFn;
  private readonly pruneDead: ScriptFn;

  constructor(options: RedisRegistryOptions) {
    this.client = options.client;
    this.prefix = options.prefix ?? DEFAULT_PREFIX;
    this.deviceTtlMs = options.deviceTtlMs ?? 30 * 24 * 3600 * 1000;
    this.removeIf = script(this.client, 'registry_remove_if', 1, REMOVE_IF);
    this.pruneDead = script(this.client, 'registry_prune_dead', undefined, PRUNE_DEAD);
  }

  put(device: DeviceId, node: NodeId): Promise<NodeId | undefined> {
    return guard('registry', async () => {
      const before = await this.client.set(this.deviceKey(device), node, 'PX', this.deviceTtlMs, 'GET');
      return before ?? undefined;
    });
  }

  remove(device: DeviceId, node: NodeId): Promise<void> {
    return guard('registry', async () => {
      await this.removeIf(this.deviceKey(device), node);
    });
  }

  lookup(devices: readonly DeviceId[]): Promise<Map<DeviceId, NodeId>> {
    return guard('registry', async () => {
      const found = new Map<DeviceId, NodeId>();
      if (devices.length === 0) return found;
      const nodes = await mgetAll(this.client, devices.map((d) => this.deviceKey(d)));
      const alive = await this.aliveOf(nodes);
      devices.forEach((device, i) => {
        const node = nodes[i];
        if (node != null && alive.has(node)) found.set(device, node);
      });
      return found;
    });
  }

  heartbeat(node: NodeId, ttlMs: number): Promise<void> {
    return guard('registry', async () => {
      const ms = Math.max(1, Math.round(ttlMs));
      await execAll(this.client.pipeline().set(this.aliveKey(node), '1', 'PX', ms).sadd(this.nodesKey(), node));
    });
  }

  retire(node: NodeId): Promise<void> {
    return guard('registry', async () => {
      await execAll(this.client.pipeline().del(this.aliveKey(node)).srem(this.nodesKey(), node));
    });
  }

  nodes(): Promise<NodeId[]> {
    return guard('registry', async () => {
      const known = await this.client.smembers(this.nodesKey());
      const alive = await this.aliveOf(known);
      const dead = known.filter((n) => !alive.has(n));
      // Pruned in a script that checks again, so a heartbeat racing this call is never dropped from the set.
      if (dead.length > 0) await this.pruneDead(dead.length + 1, this.nodesKey(), ...dead.map((n) => this.aliveKey(n)), ...dead);
      return known.filter((n) => alive.has(n));
    });
  }

  joinGroup(group: string, node: NodeId): Promise<void> {
    return guard('registry', async () => {
      await this.client.sadd(this.groupKey(group), node);
    });
  }

  leaveGroup(group: string, node: NodeId): Promise<void> {
    return guard('registry', async () => {
      await this.client.srem(this.groupKey(group), node);
    });
  }

  groupNodes(group: string): Promise<NodeId[]> {
    return guard('registry', async () => {
      const nodes = await this.client.smembers(this.groupKey(group));
      const alive = await this.aliveOf(nodes);
      return nodes.filter((n) => alive.has(n));
    });
  }

  /** The alive ones among `nodes` (nulls and repeats allowed): one MGET of the distinct nodes' alive keys. */
  private async aliveOf(nodes: readonly (string | null)[]): Promise<Set<NodeId>> {
    const distinct = [...new Set(nodes.filter((n): n is string => n != null))];
    if (distinct.length === 0) return new Set();
    const flags = await this.client.mget(distinct.map((n) => this.aliveKey(n)));
    return new Set(distinct.filter((_, i) => flags[i] != null));
  }

  private deviceKey(device: DeviceId): string {
    return `${this.prefix}reg:dev:${device}`;
  }

  private aliveKey(node: NodeId): string {
    return `${this.prefix}reg:{nodes}:alive:${node}`;
  }

  private nodesKey(): string {
    return `${this.prefix}reg:{nodes}`;
  }

  private groupKey(group: string): string {
    return `${this.prefix}reg:group:${group}`;
  }
}
