import { type DeviceId, type UserId, userOf } from '../protocol/ids.ts';
import type { FaultSwitch } from '../faults/port-faults.ts';
import type { FetchedBundle, Keys, PublishedBundle } from './keys.ts';

export interface MemoryKeysOptions {
  /** Test hook: arm failures per method name ('publish', 'fetch', 'remaining'). */
  faults?: FaultSwitch;
}

interface DeviceKeys {
  identityKey: string;
  signedPreKey: { id: number; key: string; signature: string };
  /** One-time keys not yet handed out, oldest first (a device uploads at most ~100): ids and keys side by side, no object per key. */
  oneTimeIds: number[];
  oneTimeKeys: string[];
}

/**
 * Pre-key bundles in one process, shared by every node of it. Handing out a
 * one-time key is a synchronous step, so two concurrent fetches can never get
 * the same one.
 */
export class MemoryKeys implements Keys {
  private readonly faults?: FaultSwitch;
  private readonly byUser = new Map<UserId, Map<DeviceId, DeviceKeys>>();

  constructor(options: MemoryKeysOptions = {}) {
    this.faults = options.faults;
  }

  /** Replaces the device's whole bundle, one-time keys included (as Signal's key upload does). */
  async publish(device: DeviceId, bundle: PublishedBundle): Promise<void> {
    this.faults?.check('publish');
    const user = userOf(device);
    let devices = this.byUser.get(user);
    if (!devices) this.byUser.set(user, (devices = new Map()));
    devices.set(device, {
      identityKey: bundle.identityKey,
      signedPreKey: { ...bundle.signedPreKey },
      oneTimeIds: bundle.oneTimePreKeys.map((k) => k.id),
      oneTimeKeys: bundle.oneTimePreKeys.map((k) => k.key),
    });
  }

  async fetch(user: UserId, except?: DeviceId): Promise<FetchedBundle[]> {
    this.faults?.check('fetch');
    const bundles: FetchedBundle[] = [];
    for (const [device, keys] of this.byUser.get(user) ?? []) {
      if (device === except) continue;
      const bundle: FetchedBundle = { device, identityKey: keys.identityKey, signedPreKey: { ...keys.signedPreKey } };
      const id = keys.oneTimeIds.shift();
      const key = keys.oneTimeKeys.shift();
      if (id !== undefined && key !== undefined) bundle.oneTimePreKey = { id, key };
      bundles.push(bundle);
    }
    return bundles;
  }

  async identities(devices: readonly DeviceId[]): Promise<Map<DeviceId, string>> {
    this.faults?.check('identities');
    const found = new Map<DeviceId, string>();
    for (const d of devices) {
      const keys = this.byUser.get(userOf(d))?.get(d);
      if (keys) found.set(d, keys.identityKey);
    }
    return found;
  }

  async remaining(device: DeviceId): Promise<number> {
    this.faults?.check('remaining');
    const keys = this.byUser.get(userOf(device))?.get(device);
    return keys?.oneTimeIds.length ?? 0;
  }
}
