import type { GroupInfo } from '../groups/groups.ts';
import type { DeviceId, UserId } from '../protocol/ids.ts';
import type { Ports } from './ports.ts';
import { TtlCache } from '../cache/ttl-cache.ts';

const MAX_CACHED = 200_000;
/** `peek`'s answer for a group not cached (a cached undefined is a group known not to exist). */
const MISSING = Symbol('missing');

/**
 * Read-through caches of device lists and group membership, valid for
 * `ttlMs` (the bounded staleness the Accounts and Groups ports allow) and
 * dropped at once when a membership envelope says a group changed.
 */
export class Directory {
  private readonly devicesCache: TtlCache<UserId, DeviceId[]>;
  private readonly groupCache: TtlCache<string, { info: GroupInfo; members: Set<UserId>; list: UserId[] } | undefined>;

  constructor(private readonly ports: Ports, ttlMs: number) {
    this.devicesCache = new TtlCache(ttlMs, MAX_CACHED);
    this.groupCache = new TtlCache(ttlMs, MAX_CACHED);
  }

  /** The cached device list of `user`, or undefined when it must be read (`devicesOf`): lets hot paths skip a promise. */
  cachedDevices(user: UserId): DeviceId[] | undefined {
    return this.devicesCache.peek(user, this.ports.clock.now());
  }

  async devicesOf(users: readonly UserId[]): Promise<Map<UserId, DeviceId[]>> {
    const now = this.ports.clock.now();
    const out = new Map<UserId, DeviceId[]>();
    const missing: UserId[] = [];
    for (const u of users) {
      const list = this.devicesCache.peek(u, now);
      if (list) out.set(u, list);
      else missing.push(u);
    }
    if (missing.length > 0) {
      const fetched = await this.ports.accounts.devicesOf(missing);
      for (const u of missing) {
        const list = fetched.get(u) ?? [];
        out.set(u, list);
        // An empty list is not cached: a user's first device is then seen at once by every node (newDeviceFence).
        if (list.length > 0) this.devicesCache.set(u, list, now);
      }
    }
    return out;
  }

  /** A device just signed in: make sure it is in its user's list here without waiting for the TTL. */
  noteDevice(user: UserId, device: DeviceId): void {
    const now = this.ports.clock.now();
    const list = this.devicesCache.peek(user, now);
    if (list && !list.includes(device)) this.devicesCache.replace(user, [...list, device], now);
  }


  async group(gid: string): Promise<{ info: GroupInfo; members: Set<UserId>; list: UserId[] } | undefined> {
    const now = this.ports.clock.now();
    const cached = this.groupCache.peek(gid, now, MISSING);
    if (cached !== MISSING) return cached;
    const info = await this.ports.groups.get(gid);
    const value = info ? await this.ports.groups.members(gid).then((list) => ({ info, members: new Set(list), list })) : undefined;
    this.groupCache.set(gid, value, now);
    return value;
  }

  forgetGroup(gid: string): void {
    this.groupCache.delete(gid);
  }
}
