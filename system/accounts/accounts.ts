import type { DeviceId, UserId } from '../protocol/ids.ts';

/**
 * Users, their devices and phone numbers.
 *
 * Guarantee: once `addDevice` resolves, every node sees the device in
 * `devices(user)` (nodes may cache for a bounded time), so a message sent
 * afterwards gets an inbox entry for it.
 */
export interface Accounts {
  addDevice(user: UserId, device: DeviceId): Promise<void>;
  devices(user: UserId): Promise<DeviceId[]>;
  /** Many users' devices in one round trip. */
  devicesOf(users: readonly UserId[]): Promise<Map<UserId, DeviceId[]>>;
  bindPhone(phone: string, user: UserId): Promise<void>;
  userByPhone(phone: string): Promise<UserId | undefined>;
}
