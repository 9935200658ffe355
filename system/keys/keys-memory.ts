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
  /** One-time keys not yet handed out, oldest first (a device uploads at most ~100). */
  oneTime: OneTimeKeys;
}

/**
 * A device's one-time keys, held with no object per key: the ids as a run
 * [next, end) while they are consecutive (as devices number them), else as a
 * list; the keys as one string while they are all the same (the sim's
 * modeled keys), else as a list beside the ids. A million sim devices with
 * 20 keys each held ~0.8 KB apiece as two arrays.
 */
class OneTimeKeys {
  private next = 0;
  private end = 0;
  private ids?: number[];
  private keys: string | string[];
  /** Index of the next key in `keys` (a list), so handing one out is not a shift. */
  private at = 0;

  constructor(published: readonly { id: number; key: string }[]) {
    const first = published[0];
    const run = published.every((k, i) => k.id === first!.id + i);
    if (run && first) [this.next, this.end] = [first.id, first.id + published.length];
    else this.ids = published.map((k) => k.id);
    this.keys = published.every((k) => k.key === first!.key) ? (first?.key ?? '') : published.map((k) => k.key);
  }

  get size(): number {
    return this.ids ? this.ids.length - this.at : this.end - this.next;
  }

  /** The oldest key not yet handed out, now handed out. */
  take(): { id: number; key: string } | undefined {
    if (this.size === 0) return undefined;
    const key = typeof this.keys === 'string' ? this.keys : this.keys[this.at]!;
    const id = this.ids ? this.ids[this.at]! : this.next++;
    this.at++;
    return { id, key };
  }
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
      oneTime: new OneTimeKeys(bundle.oneTimePreKeys),
    });
  }

  async fetch(user: UserId, except?: DeviceId): Promise<FetchedBundle[]> {
    this.faults?.check('fetch');
    const bundles: FetchedBundle[] = [];
    for (const [device, keys] of this.byUser.get(user) ?? []) {
      if (device === except) continue;
      const bundle: FetchedBundle = { device, identityKey: keys.identityKey, signedPreKey: { ...keys.signedPreKey } };
      const oneTime = keys.oneTime.take();
      if (oneTime) bundle.oneTimePreKey = oneTime;
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
    return keys?.oneTime.size ?? 0;
  }
}
