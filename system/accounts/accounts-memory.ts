import type { DeviceId, UserId } from '../protocol/ids.ts';
import type { FaultSwitch } from '../faults/port-faults.ts';
import type { Accounts } from './accounts.ts';

export interface MemoryAccountsOptions {
  /** Test hook: arm failures per method name ('addDevice', 'devicesOf', ...). */
  faults?: FaultSwitch;
}

/**
 * Users, devices and phone numbers in one process, shared by every node of
 * it, so a device added on one node is visible to all at once.
 */
export class MemoryAccounts implements Accounts {
  private readonly faults?: FaultSwitch;
  /** user -> devices in the order they were added (an array: a user has a few devices, and a Set per user is not free at millions). */
  private readonly users = new Map<UserId, DeviceId[]>();
  private readonly phones = new Map<string, UserId>();

  constructor(options: MemoryAccountsOptions = {}) {
    this.faults = options.faults;
  }

  /** Adding a device the user already has is a no-op. */
  async addDevice(user: UserId, device: DeviceId): Promise<void> {
    this.faults?.check('addDevice');
    const devices = this.users.get(user);
    if (!devices) this.users.set(user, [device]);
    else if (!devices.includes(device)) devices.push(device);
  }

  async devices(user: UserId): Promise<DeviceId[]> {
    this.faults?.check('devices');
    return [...(this.users.get(user) ?? [])];
  }

  /** Every user asked for is in the result; unknown users map to no devices. */
  async devicesOf(users: readonly UserId[]): Promise<Map<UserId, DeviceId[]>> {
    this.faults?.check('devicesOf');
    const out = new Map<UserId, DeviceId[]>();
    for (const user of users) out.set(user, [...(this.users.get(user) ?? [])]);
    return out;
  }

  /** Binding a phone already bound moves it to `user` (a number changed hands). */
  async bindPhone(phone: string, user: UserId): Promise<void> {
    this.faults?.check('bindPhone');
    this.phones.set(phone, user);
  }

  async userByPhone(phone: string): Promise<UserId | undefined> {
    this.faults?.check('userByPhone');
    return this.phones.get(phone);
  }
}
