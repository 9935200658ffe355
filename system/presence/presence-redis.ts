import type { Clock } from '../clock/clock.ts';
import type { DeviceId, UserId } from '../protocol/ids.ts';
import { DEFAULT_PREFIX, guard, mgetAll, pipelined, type Cmd, type RedisAdapterOptions, type RedisClient } from '../drivers/redis-client.ts';
import type { Presence, PresenceState } from './presence.ts';

export interface RedisPresenceOptions extends RedisAdapterOptions {
  /** Stamps last seen (the node's clock, so every adapter reads time the same way). */
  clock: Clock;
  /**
   * Subscription sets expire this long after their last change, so the
   * subscriptions of devices on a node that crashed (and never called
   * `unsubscribeAll`) do not pile up; devices subscribe again on every
   * connect. Default 1 day.
   */
  subscriptionTtlMs?: number;
}

/**
 * Presence in Redis, shared by every node process. Keys (under the prefix),
 * hash-tagged by user (by device for the watch set), so a Redis Cluster
 * spreads them over its masters:
 * - `pres:on:{<user>}` -> '1' with the heartbeat's TTL (PX): online while it exists;
 * - `pres:seen:{<user>}` -> last seen (ms), one key per user ever seen (a
 *   single hash of every user would put all heartbeats on one master);
 * - `pres:subs:{<user>}` -> set of devices subscribed to that user;
 * - `pres:watch:{<device>}` -> set of users that device watches (so
 *   `unsubscribeAll` is a read and one batch, not a scan).
 *
 * Every call is one round trip (pipelines and MGET; on a cluster one per
 * slot, sent together), whatever the number of users, but `unsubscribeAll`
 * (two). Nothing here needs atomicity across users: best effort as the port
 * says, a heartbeat that fails leaves the previous state, which expires by
 * itself.
 */
export class RedisPresence implements Presence {
  private readonly client: RedisClient;
  private readonly prefix: string;
  private readonly clock: Clock;
  private readonly subscriptionTtlMs: number;

  constructor(options: RedisPresenceOptions) {
    this.client = options.client;
    this.prefix = options.prefix ?? DEFAULT_PREFIX;
    this.clock = options.clock;
    this.subscriptionTtlMs = options.subscriptionTtlMs ?? 24 * 3600 * 1000;
  }

  heartbeat(users: readonly UserId[], ttlMs: number): Promise<void> {
    return guard('presence', async () => {
      if (users.length === 0) return;
      const now = String(this.clock.now());
      const ms = Math.max(1, Math.round(ttlMs));
      await pipelined(this.client, users.flatMap((u): Cmd[] => [['set', this.onKey(u), '1', 'PX', ms], ['set', this.seenKey(u), now]]));
    });
  }

  offline(user: UserId): Promise<void> {
    return guard('presence', async () => {
      await pipelined(this.client, [['del', this.onKey(user)], ['set', this.seenKey(user), String(this.clock.now())]]);
    });
  }

  get(users: readonly UserId[]): Promise<Map<UserId, PresenceState>> {
    return guard('presence', async () => {
      const out = new Map<UserId, PresenceState>();
      if (users.length === 0) return out;
      const both = await mgetAll(this.client, users.flatMap((u) => [this.onKey(u), this.seenKey(u)]));
      const on = users.map((_, i) => both[2 * i]);
      const seen = users.map((_, i) => both[2 * i + 1]);
      users.forEach((user, i) => {
        const lastSeen = seen[i];
        if (lastSeen != null) out.set(user, { online: on[i] != null, lastSeenMs: Number(lastSeen) });
      });
      return out;
    });
  }

  subscribe(device: DeviceId, users: readonly UserId[]): Promise<void> {
    return guard('presence', async () => {
      if (users.length === 0) return;
      const ttl = this.subscriptionTtlMs;
      const commands = users.flatMap((u): Cmd[] => [['sadd', this.subsKey(u), device], ['pexpire', this.subsKey(u), ttl]]);
      commands.push(['sadd', this.watchKey(device), ...users], ['pexpire', this.watchKey(device), ttl]);
      await pipelined(this.client, commands);
    });
  }

  unsubscribeAll(device: DeviceId): Promise<void> {
    return guard('presence', async () => {
      // Two steps, not one script: the subscriber sets live in their users' slots. Only what was
      // read is removed from the watch set, so a subscribe racing this call keeps its entries.
      const users = await this.client.smembers(this.watchKey(device));
      if (users.length === 0) return;
      await pipelined(this.client, [...users.map((u): Cmd => ['srem', this.subsKey(u), device]), ['srem', this.watchKey(device), ...users]]);
    });
  }

  subscribers(user: UserId): Promise<DeviceId[]> {
    return guard('presence', () => this.client.smembers(this.subsKey(user)));
  }

  private onKey(user: UserId): string {
    return `${this.prefix}pres:on:{${user}}`;
  }

  private seenKey(user: UserId): string {
    return `${this.prefix}pres:seen:{${user}}`;
  }

  private subsKey(user: UserId): string {
    return `${this.prefix}pres:subs:{${user}}`;
  }

  private watchKey(device: DeviceId): string {
    return `${this.prefix}pres:watch:{${device}}`;
  }
}
