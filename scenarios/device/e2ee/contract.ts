import type { DeviceId } from '../../../system/protocol/ids.ts';
import type { FetchedBundle as FetchedBundleData, PublishedBundle as PublishedBundleData } from '../../../system/keys/keys.ts';

/**
 * What a virtual device's end-to-end layer offers the device state machine.
 * One `DeviceCrypto` per device; it owns the device's identity, its pre-key
 * stock, its pairwise sessions (X3DH, then the Double Ratchet) and its group
 * sender keys. Keys and ciphertexts cross this boundary as base64url strings
 * without padding (the wire's encoding); plaintexts as strings (UTF-8).
 *
 * Nothing here does I/O: the device fetches bundles and publishes them with
 * `keys.fetch` / `keys.publish` frames and hands the answers in.
 */
export interface DeviceCrypto {
  /** This device's identity public key (base64url). A reinstall makes a new one. */
  readonly identityKey: string;

  /**
   * The bundle to publish: identity, the current signed pre-key and `stock` (at most 100) fresh one-time
   * pre-keys. Publishing replaces the server's whole bundle, so only fresh ones are named (one already
   * handed out must never be handed out again); the privates of earlier ones are kept (bounded) for
   * sessions still starting from them.
   */
  bundle(stock: number): PublishedBundleData;
  /** A new signed pre-key; the previous one is kept for sessions still starting from it (one generation). */
  rotateSignedPreKey(): void;

  /** A session exists with `remote` (a device id). */
  hasSession(remote: DeviceId): boolean;
  /**
   * X3DH as the initiator from a fetched bundle. Throws `E2eeError('bad_signature')` when the signed
   * pre-key's signature does not verify under the bundle's identity key.
   * `identityChanged`: a session or a known identity for `remote` existed with another identity key (the old session is gone).
   */
  startSession(remote: DeviceId, bundle: FetchedBundleData): { identityChanged: boolean; usedOneTimePreKey: boolean };
  /** The identity key (base64url) the session with `remote` was started with, or undefined without a session. */
  sessionIdentity(remote: DeviceId): string | undefined;
  /** Drops the session with `remote` (a device the server says is gone). */
  forget(remote: DeviceId): void;

  /** One pairwise message. Before the first reply arrives it is a pre-key message carrying the X3DH header. */
  encrypt(remote: DeviceId, plaintext: string): string;
  /** Decrypts a pairwise message (starting a responder session from a pre-key message). Throws `E2eeError` when it cannot. */
  decrypt(remote: DeviceId, ciphertext: string): Decrypted;

  /** Sender keys: this device's sender-key distribution message for `group` (creating the sender key on first use). Sent pairwise to each member device. */
  senderKeyDistribution(group: string): string;
  /** A new sender key for `group` (a member left): the next distribution and message use it. */
  rotateSenderKey(group: string): void;
  /** Takes a distribution message received (already decrypted pairwise) from `sender` for `group`. */
  processSenderKeyDistribution(sender: DeviceId, group: string, skdm: string): void;
  /** One group message under this device's sender key for `group`. */
  groupEncrypt(group: string, plaintext: string): string;
  /** Throws `E2eeError('no_sender_key' | …)` when it cannot. */
  groupDecrypt(sender: DeviceId, group: string, ciphertext: string): string;
}

export interface Decrypted {
  plaintext: string;
  /** The message started a session (X3DH responder). */
  startedSession: boolean;
  /** It came from an identity other than the one known for `remote` (a reinstalled device). */
  identityChanged: boolean;
  /** The one-time pre-key it used (now deleted), if any. */
  usedOneTimePreKey?: number;
}

export type E2eeFailure =
  | 'bad_signature'
  | 'bad_mac'
  | 'no_session'
  | 'unknown_pre_key'
  | 'too_many_skipped'
  | 'duplicate'
  | 'no_sender_key'
  | 'malformed';

export class E2eeError extends Error {
  constructor(readonly reason: E2eeFailure, message: string) {
    super(message);
    this.name = 'E2eeError';
  }
}

/** The `keys.publish` bundle and one entry of a `keys` answer: the Keys port's own shapes (base64url without padding). */
export type { FetchedBundleData, PublishedBundleData };

/** A media attachment sealed as Signal's attachment scheme: AES-256-CBC then HMAC-SHA256 over iv‖ciphertext, under a random 64-byte key. */
export interface SealedAttachment {
  /** iv ‖ AES-256-CBC ciphertext ‖ HMAC-SHA256 (32 bytes). What the object store (or the message body) holds. */
  blob: Uint8Array;
  /** AES key ‖ HMAC key (32 + 32 bytes), base64url: travels inside the encrypted message. */
  key: string;
  /** SHA-256 of `blob`, base64url: lets the receiver check what it downloaded. */
  digest: string;
}
