import type { DeviceId, UserId } from '../protocol/ids.ts';

/**
 * Signal-style pre-key bundles: public keys only, never private material.
 *
 * Guarantee: each one-time pre-key is handed out at most once; when a
 * device's one-time keys run out, bundles still carry the signed pre-key.
 */
export interface Keys {
  publish(device: DeviceId, bundle: PublishedBundle): Promise<void>;
  /**
   * One bundle per device of `user`, each consuming one one-time pre-key if
   * any is left. `except` (the asking device) is left out: a device starts
   * no session with itself, and must not spend its own one-time pre-keys.
   */
  fetch(user: UserId, except?: DeviceId): Promise<FetchedBundle[]>;
  /** One-time pre-keys left for a device. */
  remaining(device: DeviceId): Promise<number>;
  /** The identity key each of `devices` last published (devices that published nothing are absent). A read only. */
  identities(devices: readonly DeviceId[]): Promise<Map<DeviceId, string>>;
}

/** Keys as base64url strings. */
export interface PublishedBundle {
  identityKey: string;
  signedPreKey: { id: number; key: string; signature: string };
  oneTimePreKeys: { id: number; key: string }[];
}

export interface FetchedBundle {
  device: DeviceId;
  identityKey: string;
  signedPreKey: { id: number; key: string; signature: string };
  oneTimePreKey?: { id: number; key: string };
}
