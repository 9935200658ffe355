import type { GroupInfo } from '../groups/groups.ts';
import type { DeviceId, UserId } from '../protocol/ids.ts';
import type { Ports } from './ports.ts';
import { TtlCache } from '../clock/ttl-cache.ts';

const MAX_CACHED = 200_000;

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
    return this.devicesCache.get(user, this.ports.clock.now())?.value;
  }

  async devicesOf(users: readonly UserId[]): Promise<Map<UserId, DeviceId[]>> {
    const now = this.ports.clock.now();
    const out = new Map<UserId, DeviceId[]>();
    const missing: UserId[] = [];
    for (const u of users) {
      const c = this.devicesCache.get(u, now);
      if (c) out.set(u, c.value);
      else missing.push(u);
    }
    if (missing.length > 0) {
      const fetched = await this.ports.accounts.devicesOf(missing);
      for (const u of missing) {
        const list = fetched.get(u) ?? [];
        out.set(u, list);
        this.devicesCache.set(u, list, now);
      }
    }
    return out;
  }

  /** A device just signed in: make sure it is in its user's list here without waiting for the TTL. */
  noteDevice(user: UserId, device: DeviceId): void {
    const c = this.devicesCache.get(user, this.ports.clock.now());
    if (c && !c.value.includes(device)) c.value = [...c.value, device];
  }


  async group(gid: string): Promise<{ info: GroupInfo; members: Set<UserId>; list: UserId[] } | undefined> {
    const now = this.ports.clock.now();
    const c = this.groupCache.get(gid, now);
    if (c) return c.value;
    const info = await this.ports.groups.get(gid);
    const value = info ? await this.ports.groups.members(gid).then((list) => ({ info, members: new Set(list), list })) : undefined;
    this.groupCache.set(gid, value, now);
    return value;
  }

  forgetGroup(gid: string): void {
    this.groupCache.delete(gid);
  }
}
