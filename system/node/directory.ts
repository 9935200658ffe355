import { createHash } from 'node:crypto';
import type { GroupInfo } from '../groups/groups.ts';
import { ChatError } from '../protocol/errors.ts';
import type { DeviceId, UserId } from '../protocol/ids.ts';
import type { Ports } from './ports.ts';
import { TtlCache } from '../cache/ttl-cache.ts';

const MAX_CACHED = 200_000;
/** `peek`'s answer for a group not cached (a cached undefined is a group known not to exist). */
const MISSING = Symbol('missing');

/**
 * The version of a fan-out-on-write group's recipients, as `group.devices`
 * hands it to senders and a group e2e send must repeat it: 16 base64url
 * chars of the SHA-256 of the sorted member ids and the sorted devices of
 * them all, the same on every node whose directory lists the same devices.
 * A member joining or leaving changes it, and so does a member's device
 * added or removed: a sender key must reach every device that will get the
 * message (a new device would otherwise get messages it cannot read).
 */
export function recipientsVersion(members: Iterable<UserId>, devices: Iterable<DeviceId>): string {
  return createHash('sha256').update([...members].sort().join('\n')).update('\n\n').update([...devices].sort().join('\n')).digest('base64url').slice(0, 16);
}

/** A group as the directory caches it: its info, its members in join order and as a set, and their version. */
export class GroupEntry {
  readonly members: Set<UserId>;
  private digest?: string;

  constructor(readonly info: GroupInfo, readonly list: UserId[]) {
    this.members = new Set(list);
  }

  /**
   * The member set's version, the one a fan-out-on-read group (a channel,
   * no per-device recipients) hands out and checks: 16 base64url chars of
   * the SHA-256 of the sorted member ids, the same on every node. Made at
   * its first use and kept with the entry. Fan-out-on-write groups use
   * `recipientsVersion`, which covers their devices too.
   */
  get version(): string {
    return (this.digest ??= createHash('sha256').update([...this.members].sort().join('\n')).digest('base64url').slice(0, 16));
  }

  /** The device lists (in member order) and the recipients' version last made from them. */
  private recipients?: { lists: DeviceId[][]; version: string };

  /**
   * `recipientsVersion` of these members' devices (`devicesOf` of `list`).
   * The directory hands out the same cached list objects until one changes,
   * so the version is hashed again only when a list did: a group e2e send
   * compares list identities, not a hash of every device.
   */
  recipientsVersionOf(byUser: ReadonlyMap<UserId, DeviceId[]>): string {
    const lists = this.list.map((u) => byUser.get(u) ?? []);
    const last = this.recipients;
    if (last && last.lists.length === lists.length && last.lists.every((l, i) => l === lists[i])) return last.version;
    const version = recipientsVersion(this.list, lists.flat());
    this.recipients = { lists, version };
    return version;
  }
}

/**
 * Read-through caches of device lists and group membership, valid for
 * `ttlMs` (the bounded staleness the Accounts and Groups ports allow) and
 * dropped at once when a membership envelope says a group changed.
 */
export class Directory {
  private readonly devicesCache: TtlCache<UserId, DeviceId[]>;
  private readonly groupCache: TtlCache<string, GroupEntry | undefined>;
  /** Each device's last published identity key (undefined: none published), for the e2e send's `identities` check. */
  private readonly identityCache: TtlCache<DeviceId, string | undefined>;

  constructor(private readonly ports: Ports, ttlMs: number) {
    this.devicesCache = new TtlCache(ttlMs, MAX_CACHED);
    this.groupCache = new TtlCache(ttlMs, MAX_CACHED);
    this.identityCache = new TtlCache(ttlMs, MAX_CACHED);
  }

  /**
   * The identity key each device last published, as cached for the
   * directory's TTL (absent: none published). `fresh`: read the store, not
   * the cache (a device may have published through another node since).
   */
  async identitiesOf(devices: readonly DeviceId[], fresh = false): Promise<Map<DeviceId, string>> {
    const now = this.ports.clock.now();
    const out = new Map<DeviceId, string>();
    const missing: DeviceId[] = [];
    for (const d of devices) {
      const cached = fresh ? undefined : this.identityCache.get(d, now);
      if (!cached) missing.push(d);
      else if (cached.value !== undefined) out.set(d, cached.value);
    }
    if (missing.length > 0) {
      const read = await this.ports.keys.identities(missing);
      for (const d of missing) {
        const key = read.get(d);
        this.identityCache.set(d, key, now);
        if (key !== undefined) out.set(d, key);
      }
    }
    return out;
  }

  /** A device published a bundle through this node: its identity is known at once here (other nodes see it within the TTL). */
  published(device: DeviceId, identityKey: string): void {
    this.identityCache.set(device, identityKey, this.ports.clock.now());
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


  async group(gid: string): Promise<GroupEntry | undefined> {
    const now = this.ports.clock.now();
    const cached = this.groupCache.peek(gid, now, MISSING);
    if (cached !== MISSING) return cached;
    const info = await this.ports.groups.get(gid);
    const value = info ? new GroupEntry(info, await this.ports.groups.members(gid)) : undefined;
    this.groupCache.set(gid, value, now);
    return value;
  }

  /** The group `user` acts in: `not_found` when there is none, `forbidden` when they are not a member. */
  async memberGroup(gid: string, user: UserId): Promise<GroupEntry> {
    const g = await this.group(gid);
    if (!g) throw new ChatError('not_found', `no group ${gid}`);
    if (!g.members.has(user)) throw new ChatError('forbidden', `not a member of ${gid}`);
    return g;
  }

  forgetGroup(gid: string): void {
    this.groupCache.delete(gid);
  }
}
