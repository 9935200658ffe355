import type { Clock } from '../clock/clock.ts';
import type { DeviceId, UserId } from '../protocol/ids.ts';
import type { FaultSwitch } from '../faults/port-faults.ts';
import type { Presence, PresenceState } from './presence.ts';

export interface MemoryPresenceOptions {
  /** Decides which heartbeats are fresh and stamps last seen. */
  clock: Clock;
  /** Test hook: arm failures per method name ('heartbeat', 'get', ...). */
  faults?: FaultSwitch;
}

interface Seen {
  onlineUntilMs: number;
  lastSeenMs: number;
}

/**
 * Presence in one process, shared by every node of it.
 *
 * Online is computed on read (`now < onlineUntilMs`), so an expired
 * heartbeat needs no cleanup; the record itself is kept for last seen, one
 * per user ever seen, as the Redis adapter keeps its hash.
 */
export class MemoryPresence implements Presence {
  private readonly clock: Clock;
  private readonly faults?: FaultSwitch;
  private readonly seen = new Map<UserId, Seen>();
  private readonly watching = new Map<DeviceId, Set<UserId>>();
  private readonly watchers = new Map<UserId, Set<DeviceId>>();

  constructor(options: MemoryPresenceOptions) {
    this.clock = options.clock;
    this.faults = options.faults;
  }

  async heartbeat(users: readonly UserId[], ttlMs: number): Promise<void> {
    this.faults?.check('heartbeat');
    const now = this.clock.now();
    for (const user of users) {
      // Updated in place: a node refreshes every local user at once, and a new record per user each time is churn.
      const s = this.seen.get(user);
      if (!s) this.seen.set(user, { onlineUntilMs: now + ttlMs, lastSeenMs: now });
      else {
        s.onlineUntilMs = now + ttlMs;
        s.lastSeenMs = now;
      }
    }
  }

  async offline(user: UserId): Promise<void> {
    this.faults?.check('offline');
    this.seen.set(user, { onlineUntilMs: 0, lastSeenMs: this.clock.now() });
  }

  /** Users never seen are left out of the result. */
  async get(users: readonly UserId[]): Promise<Map<UserId, PresenceState>> {
    this.faults?.check('get');
    const now = this.clock.now();
    const out = new Map<UserId, PresenceState>();
    for (const user of users) {
      const s = this.seen.get(user);
      if (s) out.set(user, { online: now < s.onlineUntilMs, lastSeenMs: s.lastSeenMs });
    }
    return out;
  }

  async subscribe(device: DeviceId, users: readonly UserId[]): Promise<void> {
    this.faults?.check('subscribe');
    let mine = this.watching.get(device);
    if (!mine) this.watching.set(device, (mine = new Set()));
    for (const user of users) {
      mine.add(user);
      let theirs = this.watchers.get(user);
      if (!theirs) this.watchers.set(user, (theirs = new Set()));
      theirs.add(device);
    }
    if (mine.size === 0) this.watching.delete(device);
  }

  async unsubscribeAll(device: DeviceId): Promise<void> {
    this.faults?.check('unsubscribeAll');
    for (const user of this.watching.get(device) ?? []) {
      const theirs = this.watchers.get(user)!;
      theirs.delete(device);
      if (theirs.size === 0) this.watchers.delete(user);
    }
    this.watching.delete(device);
  }

  async subscribers(user: UserId): Promise<DeviceId[]> {
    this.faults?.check('subscribers');
    return [...(this.watchers.get(user) ?? [])];
  }
}
