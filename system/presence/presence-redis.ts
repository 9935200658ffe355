import type { Redis } from 'ioredis';
import type { Clock } from '../clock/clock.ts';
import type { DeviceId, UserId } from '../protocol/ids.ts';
import { DEFAULT_PREFIX, execAll, guard, script, type RedisAdapterOptions, type ScriptFn } from '../drivers/redis-client.ts';
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

/** Removes the device (ARGV[2]) from every user's subscriber set (prefix ARGV[1]) it watches, then its own set. */
const UNSUBSCRIBE_ALL = `
for _, user in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  redis.call('SREM', ARGV[1] .. user, ARGV[2])
end
return redis.call('DEL', KEYS[1])`;

/**
 * Presence in Redis, shared by every node process. Keys (under the prefix):
 * - `pres:on:<user>` -> '1' with the heartbeat's TTL (PX): online while it exists;
 * - `pres:seen` -> hash user -> last seen (ms), one field per user ever seen;
 * - `pres:subs:<user>` -> set of devices subscribed to that user;
 * - `pres:watch:<device>` -> set of users that device watches (so
 *   `unsubscribeAll` is one atomic script, not a scan).
 *
 * Every call is one round trip (pipelines and MGET/HMGET), whatever the
 * number of users. Best effort as the port says: a heartbeat that fails
 * leaves the previous state, which expires by itself.
 */
export class RedisPresence implements Presence {
  private readonly client: Redis;
  private readonly prefix: string;
  private readonly clock: Clock;
  private readonly subscriptionTtlMs: number;
  private readonly unsubscribeAllScript: ScriptFn;

  constructor(options: RedisPresenceOptions) {
    this.client = options.client;
    this.prefix = options.prefix ?? DEFAULT_PREFIX;
    this.clock = options.clock;
    this.subscriptionTtlMs = options.subscriptionTtlMs ?? 24 * 3600 * 1000;
    this.unsubscribeAllScript = script(this.client, 'presence_unsubscribe_all', 1, UNSUBSCRIBE_ALL);
  }

  heartbeat(users: readonly UserId[], ttlMs: number): Promise<void> {
    return guard('presence', async () => {
      if (users.length === 0) return;
      const now = String(this.clock.now());
      const ms = Math.max(1, Math.round(ttlMs));
      const pipe = this.client.pipeline();
      for (const user of users) pipe.set(this.onKey(user), '1', 'PX', ms);
      pipe.hset(this.seenKey(), ...users.flatMap((u) => [u, now]));
      await execAll(pipe);
    });
  }

  offline(user: UserId): Promise<void> {
    return guard('presence', async () => {
      await execAll(this.client.pipeline().del(this.onKey(user)).hset(this.seenKey(), user, String(this.clock.now())));
    });
  }

  get(users: readonly UserId[]): Promise<Map<UserId, PresenceState>> {
    return guard('presence', async () => {
      const out = new Map<UserId, PresenceState>();
      if (users.length === 0) return out;
      const [on, seen] = (await execAll(
        this.client
          .pipeline()
          .mget(users.map((u) => this.onKey(u)))
          .hmget(this.seenKey(), ...users),
      )) as [(string | null)[], (string | null)[]];
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
      const pipe = this.client.pipeline();
      for (const user of users) pipe.sadd(this.subsKey(user), device).pexpire(this.subsKey(user), ttl);
      pipe.sadd(this.watchKey(device), ...users).pexpire(this.watchKey(device), ttl);
      await execAll(pipe);
    });
  }

  unsubscribeAll(device: DeviceId): Promise<void> {
    return guard('presence', async () => {
      await this.unsubscribeAllScript(this.watchKey(device), `${this.prefix}pres:subs:`, device);
    });
  }

  subscribers(user: UserId): Promise<DeviceId[]> {
    return guard('presence', () => this.client.smembers(this.subsKey(user)));
  }

  private onKey(user: UserId): string {
    return `${this.prefix}pres:on:${user}`;
  }

  private seenKey(): string {
    return `${this.prefix}pres:seen`;
  }

  private subsKey(user: UserId): string {
    return `${this.prefix}pres:subs:${user}`;
  }

  private watchKey(device: DeviceId): string {
    return `${this.prefix}pres:watch:${device}`;
  }
}
