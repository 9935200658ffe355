import type { GroupInfo } from '../groups/groups.ts';
import type { DeviceId, UserId } from '../protocol/ids.ts';
import type { Ports } from './ports.ts';

interface Cached<T> {
  value: T;
  expiresMs: number;
}

const MAX_CACHED = 200_000;

/**
 * Read-through caches of device lists and group membership, valid for
 * `ttlMs` (the bounded staleness the Accounts and Groups ports allow) and
 * dropped at once when a membership envelope says a group changed.
 */
export class Directory {
  private readonly devicesCache = new Map<UserId, Cached<DeviceId[]>>();
  private readonly groupCache = new Map<string, Cached<{ info: GroupInfo; members: Set<UserId>; list: UserId[] } | undefined>>();

  constructor(private readonly ports: Ports, private readonly ttlMs: number) {}

  async devicesOf(users: readonly UserId[]): Promise<Map<UserId, DeviceId[]>> {
    const now = this.ports.clock.now();
    const out = new Map<UserId, DeviceId[]>();
    const missing: UserId[] = [];
    for (const u of users) {
      const c = this.devicesCache.get(u);
      if (c && c.expiresMs > now) out.set(u, c.value);
      else missing.push(u);
    }
    if (missing.length > 0) {
      const fetched = await this.ports.accounts.devicesOf(missing);
      for (const u of missing) {
        const list = fetched.get(u) ?? [];
        out.set(u, list);
        if (this.ttlMs > 0) remember(this.devicesCache, u, { value: list, expiresMs: now + this.ttlMs }, now);
      }
    }
    return out;
  }

  /** A device just signed in: make sure it is in its user's list here without waiting for the TTL. */
  noteDevice(user: UserId, device: DeviceId): void {
    const c = this.devicesCache.get(user);
    if (c && !c.value.includes(device)) c.value = [...c.value, device];
  }


  async group(gid: string): Promise<{ info: GroupInfo; members: Set<UserId>; list: UserId[] } | undefined> {
    const now = this.ports.clock.now();
    const c = this.groupCache.get(gid);
    if (c && c.expiresMs > now) return c.value;
    const info = await this.ports.groups.get(gid);
    const value = info ? await this.ports.groups.members(gid).then((list) => ({ info, members: new Set(list), list })) : undefined;
    if (this.ttlMs > 0) remember(this.groupCache, gid, { value, expiresMs: now + this.ttlMs }, now);
    return value;
  }

  forgetGroup(gid: string): void {
    this.groupCache.delete(gid);
  }
}

/** Expired entries dropped per insert at most, so one insert never stalls on a backlog. */
const SWEEP_MAX = 4;

/**
 * Entries are re-inserted on refresh, so insertion order is expiry order
 * (one TTL): expired entries sit at the head and are dropped a few per
 * insert. Expired entries are never served, so this only bounds memory to
 * the entries of the last TTL (a node signing in millions of devices would
 * otherwise keep one per device up to MAX_CACHED).
 */
function remember<K, V extends { expiresMs: number }>(map: Map<K, V>, key: K, value: V, nowMs: number): void {
  let n = 0;
  for (const [k, v] of map) {
    if (n++ >= SWEEP_MAX || v.expiresMs > nowMs) break;
    map.delete(k);
  }
  if (map.size >= MAX_CACHED) map.delete(map.keys().next().value as K);
  map.delete(key);
  map.set(key, value);
}
