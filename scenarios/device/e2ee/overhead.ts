/**
 * What encryption adds to a message, measured by encrypting one: for each
 * message type, its binary size and its base64url length (what a frame
 * carries) beyond the plaintext's UTF-8 bytes. For reports and sizing frames.
 */
import { E2eeDeviceCrypto } from './device-crypto.ts';

export interface Overhead {
  bytes: number;
  base64url: number;
}

export interface CiphertextOverhead {
  plaintextBytes: number;
  /** The first messages of a session: X3DH header + ratchet message. */
  preKey: Overhead;
  /** A ratchet message (header, CBC padding, MAC). */
  ratchet: Overhead;
  /** A group message (key id, iteration, CBC padding, signature). */
  senderKey: Overhead;
}

export function ciphertextOverhead(plaintextBytes = 200): CiphertextOverhead {
  const alice = new E2eeDeviceCrypto();
  const bob = new E2eeDeviceCrypto();
  const bundle = bob.bundle(1);
  alice.startSession('bob.1', { device: 'bob.1', identityKey: bundle.identityKey, signedPreKey: bundle.signedPreKey, oneTimePreKey: bundle.oneTimePreKeys[0] });
  const plaintext = 'x'.repeat(plaintextBytes);
  const preKey = alice.encrypt('bob.1', plaintext);
  bob.decrypt('alice.1', preKey);
  const ratchet = bob.encrypt('alice.1', plaintext);
  const senderKey = alice.groupEncrypt('g', plaintext);
  const extra = (s: string): Overhead => ({ bytes: Buffer.from(s, 'base64url').length - plaintextBytes, base64url: s.length - plaintextBytes });
  return { plaintextBytes, preKey: extra(preKey), ratchet: extra(ratchet), senderKey: extra(senderKey) };
}
