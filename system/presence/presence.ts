import type { DeviceId, UserId } from '../protocol/ids.ts';

/**
 * Online state and last seen, with subscriptions.
 *
 * Guarantees: a user is online while a heartbeat is fresh (within its TTL);
 * `lastSeenMs` is the time of the last heartbeat or explicit offline.
 * Best effort: presence may lag by one heartbeat interval and changes may be
 * coalesced or shed under load; it never affects message delivery.
 */
export interface Presence {
  heartbeat(users: readonly UserId[], ttlMs: number): Promise<void>;
  offline(user: UserId): Promise<void>;
  get(users: readonly UserId[]): Promise<Map<UserId, PresenceState>>;
  subscribe(device: DeviceId, users: readonly UserId[]): Promise<void>;
  unsubscribeAll(device: DeviceId): Promise<void>;
  /** Devices subscribed to `user`. */
  subscribers(user: UserId): Promise<DeviceId[]>;
}

export interface PresenceState {
  online: boolean;
  lastSeenMs: number;
}
