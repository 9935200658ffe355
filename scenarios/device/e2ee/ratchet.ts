/**
 * The Double Ratchet, as "The Double Ratchet Algorithm" (Perrin, Marlinspike,
 * 2016, revision 1) specifies it, with the functions its §5.2 recommends:
 *
 *   KDF_RK(rk, dh_out)  HKDF-SHA256, salt rk, input dh_out, 64 bytes → (rk, ck)
 *   KDF_CK(ck)          HMAC-SHA256(ck, 0x01) the message key, HMAC-SHA256(ck, 0x02) the next chain key
 *   ENCRYPT(mk, pt, ad) HKDF-SHA256(mk, zero salt) → 32-byte AES key, 32-byte MAC key, 16-byte IV;
 *                       AES-256-CBC (PKCS#7), then HMAC-SHA256 over ad ‖ header ‖ ciphertext
 *
 * The associated data is X3DH's AD (identity keys of initiator and
 * responder, "The X3DH Key Agreement Protocol" §3.3) and the header is the
 * message as encoded up to its MAC (wire.ts), so the MAC covers the header
 * as §3.4's CONCAT(AD, header) asks.
 *
 * Decryption is all or nothing (§3.5: a message that raises an exception,
 * e.g. failing authentication, leaves the state as it was): the steps run on a copy of the state and the
 * keys skipped on the way are staged; both are committed only when the MAC
 * verifies. So a forged, tampered or replayed message changes nothing.
 */
import type { KeyObject } from 'node:crypto';
import { E2eeError } from './contract.ts';
import {
  aesCbcDecrypt,
  aesCbcEncrypt,
  b64,
  equalBytes,
  generateKeyPair,
  hkdfSha256,
  hmacSha256,
  type KeyPair,
  peerDh,
  peerPublicKey,
  type RandomSource,
} from './primitives.ts';
import type { SkippedKeys } from './skipped-keys.ts';
import { decodeRatchetMessage, encodeRatchetMessage, type RatchetHeader, type RatchetMessage } from './wire.ts';

const RATCHET_INFO = new TextEncoder().encode('chatlab-e2ee ratchet');
const MESSAGE_KEYS_INFO = new TextEncoder().encode('chatlab-e2ee message keys');
const MESSAGE_KEY_SEED = Uint8Array.of(0x01);
const CHAIN_KEY_SEED = Uint8Array.of(0x02);
const ZERO_SALT = new Uint8Array(32);

/** How many earlier receiving ratchet keys are remembered, to tell a replay of their messages from garbage. */
const REMEMBERED_REMOTE_KEYS = 4;

/** §5.2 KDF_RK. */
export function kdfRk(rootKey: Uint8Array, dhOut: Uint8Array): { rootKey: Uint8Array; chainKey: Uint8Array } {
  const out = hkdfSha256(dhOut, rootKey, RATCHET_INFO, 64);
  return { rootKey: out.subarray(0, 32), chainKey: out.subarray(32) };
}

/** §5.2 KDF_CK. */
export function kdfCk(chainKey: Uint8Array): { chainKey: Uint8Array; messageKey: Uint8Array } {
  return { chainKey: hmacSha256(chainKey, CHAIN_KEY_SEED), messageKey: hmacSha256(chainKey, MESSAGE_KEY_SEED) };
}

/** §5.2 ENCRYPT's key derivation: an AES key, a MAC key and an IV from one message key. */
export function messageKeyMaterial(messageKey: Uint8Array): { encKey: Uint8Array; macKey: Uint8Array; iv: Uint8Array } {
  const out = hkdfSha256(messageKey, ZERO_SALT, MESSAGE_KEYS_INFO, 80);
  return { encKey: out.subarray(0, 32), macKey: out.subarray(32, 64), iv: out.subarray(64) };
}

/** §3.2's state variables (MKSKIPPED lives in `SkippedKeys`). Every field is replaced, never mutated, so a shallow copy is a snapshot. */
interface State {
  rk: Uint8Array;
  dhs: KeyPair;
  dhr?: Uint8Array;
  /** DHr as a KeyObject, imported once per ratchet step rather than once per DH. */
  dhrKey?: KeyObject;
  cks?: Uint8Array;
  ckr?: Uint8Array;
  ns: number;
  nr: number;
  pn: number;
}

export interface RatchetConfig {
  /** §3.5 MAX_SKIP: the most message keys one message may make the receiver skip. */
  maxSkip: number;
  random?: RandomSource;
}

export class DoubleRatchet {
  /** Receiving ratchet keys of finished chains (base64url), newest last. */
  private readonly earlierRemoteKeys: string[] = [];

  private constructor(
    private state: State,
    private readonly ad: Uint8Array,
    private readonly skipped: SkippedKeys,
    private readonly config: RatchetConfig,
  ) {}

  /** §3.3 RatchetInitAlice: the initiator knows the responder's ratchet key (its signed pre-key, X3DH §3.3) and can send at once. */
  static initiator(sk: Uint8Array, remoteRatchetKey: Uint8Array, ad: Uint8Array, skipped: SkippedKeys, config: RatchetConfig): DoubleRatchet {
    const dhs = generateKeyPair('X25519', config.random);
    const dhrKey = peerPublicKey('X25519', remoteRatchetKey);
    const { rootKey, chainKey } = kdfRk(sk, peerDh(dhs.privateKey, dhrKey));
    return new DoubleRatchet({ rk: rootKey, dhs, dhr: remoteRatchetKey, dhrKey, cks: chainKey, ns: 0, nr: 0, pn: 0 }, ad, skipped, config);
  }

  /** §3.3 RatchetInitBob: the responder's first ratchet key pair is its signed pre-key; it sends only after its first DH ratchet step. */
  static responder(sk: Uint8Array, ownRatchetKey: KeyPair, ad: Uint8Array, skipped: SkippedKeys, config: RatchetConfig): DoubleRatchet {
    return new DoubleRatchet({ rk: sk, dhs: ownRatchetKey, ns: 0, nr: 0, pn: 0 }, ad, skipped, config);
  }

  /** The keys this session holds for messages not arrived yet. */
  get skippedCount(): number {
    return this.skipped.size;
  }

  /** §3.4 RatchetEncrypt: the encoded ratchet message. */
  encrypt(plaintext: Uint8Array): Uint8Array {
    const s = this.state;
    if (!s.cks) throw new E2eeError('no_session', 'the session has no sending chain before its first received message');
    const { chainKey, messageKey } = kdfCk(s.cks);
    const header: RatchetHeader = { dh: s.dhs.publicKey, pn: s.pn, n: s.ns };
    this.state = { ...s, cks: chainKey, ns: s.ns + 1 };
    const { encKey, macKey, iv } = messageKeyMaterial(messageKey);
    const ciphertext = aesCbcEncrypt(encKey, iv, plaintext);
    return encodeRatchetMessage(header, ciphertext, (authenticated) => hmacSha256(macKey, this.ad, authenticated));
  }

  /** §3.5 RatchetDecrypt. Throws `E2eeError` (malformed, duplicate, too_many_skipped, bad_mac) and then leaves the session as it was. */
  decrypt(bytes: Uint8Array): Uint8Array {
    const message = decodeRatchetMessage(bytes);
    const { header } = message;
    const late = this.openWithKeptKey(message);
    if (late) return late;
    const s: State = { ...this.state };
    const newChain = !s.dhr || !equalBytes(header.dh, s.dhr);
    this.refuseReplayOrFlood(s, header, newChain);

    const staged: [string, Uint8Array][] = [];
    if (newChain) {
      skipMessageKeys(s, header.pn, staged);
      dhRatchet(s, header, this.config.random);
    }
    skipMessageKeys(s, header.n, staged);
    const { chainKey, messageKey } = kdfCk(s.ckr!);
    s.ckr = chainKey;
    s.nr++;
    const plaintext = this.open(messageKey, message);

    if (newChain && this.state.dhr) this.rememberRemoteKey(this.state.dhr);
    this.state = s;
    for (const [id, key] of staged) this.skipped.put(id, key);
    return plaintext;
  }

  /** The session is dropped: its skipped keys stop counting against the device's total. */
  dispose(): void {
    this.skipped.clear();
  }

  private refuseReplayOrFlood(s: State, header: RatchetHeader, newChain: boolean): void {
    const { maxSkip } = this.config;
    if (!newChain) {
      // The responder's first ratchet key (its signed pre-key) never sends: no genuine message names it.
      if (!s.ckr) throw new E2eeError('malformed', 'a message under a ratchet key that has no receiving chain');
      // A message of the current chain below Nr whose key is not kept was decrypted already.
      if (header.n < s.nr) throw new E2eeError('duplicate', `message ${header.n} of this chain was already decrypted`);
      if (header.n - s.nr > maxSkip) throw tooMany(header.n - s.nr, maxSkip);
      return;
    }
    if (this.earlierRemoteKeys.includes(b64(header.dh))) {
      throw new E2eeError('duplicate', 'a message of a finished chain whose key is not kept (decrypted already, or given up)');
    }
    const behind = s.ckr ? header.pn - s.nr : 0;
    if (behind > maxSkip) throw tooMany(behind, maxSkip);
    if (header.n > maxSkip) throw tooMany(header.n, maxSkip);
  }

  /** A message whose key was kept when a later one arrived first (§3.5 TrySkippedMessageKeys); the key is used once. */
  private openWithKeptKey(message: RatchetMessage): Uint8Array | undefined {
    if (this.skipped.size === 0) return undefined; // the usual case: no key id to build
    const id = skippedKeyId(message.header.dh, message.header.n);
    const key = this.skipped.get(id);
    if (!key) return undefined;
    const plaintext = this.open(key, message);
    this.skipped.evict(id);
    return plaintext;
  }

  private open(messageKey: Uint8Array, message: RatchetMessage): Uint8Array {
    const { encKey, macKey, iv } = messageKeyMaterial(messageKey);
    const mac = hmacSha256(macKey, this.ad, message.authenticated);
    if (!equalBytes(mac, message.mac)) throw new E2eeError('bad_mac', 'the message does not authenticate');
    try {
      return aesCbcDecrypt(encKey, iv, message.ciphertext);
    } catch {
      throw new E2eeError('malformed', 'bad padding under a valid MAC');
    }
  }

  private rememberRemoteKey(key: Uint8Array): void {
    this.earlierRemoteKeys.push(b64(key));
    if (this.earlierRemoteKeys.length > REMEMBERED_REMOTE_KEYS) this.earlierRemoteKeys.shift();
  }
}

/** §3.5 SkipMessageKeys, into `staged` (the bound was checked by `refuseReplayOrFlood`). */
function skipMessageKeys(s: State, until: number, staged: [string, Uint8Array][]): void {
  if (!s.ckr) return;
  let ck = s.ckr;
  while (s.nr < until) {
    const step = kdfCk(ck);
    staged.push([skippedKeyId(s.dhr!, s.nr), step.messageKey]);
    ck = step.chainKey;
    s.nr++;
  }
  s.ckr = ck;
}

/** §3.5 DHRatchet. */
function dhRatchet(s: State, header: RatchetHeader, random?: RandomSource): void {
  s.pn = s.ns;
  s.ns = 0;
  s.nr = 0;
  s.dhr = header.dh;
  s.dhrKey = peerPublicKey('X25519', header.dh);
  const receiving = kdfRk(s.rk, peerDh(s.dhs.privateKey, s.dhrKey));
  s.ckr = receiving.chainKey;
  s.dhs = generateKeyPair('X25519', random);
  const sending = kdfRk(receiving.rootKey, peerDh(s.dhs.privateKey, s.dhrKey));
  s.rk = sending.rootKey;
  s.cks = sending.chainKey;
}

function skippedKeyId(dhPublic: Uint8Array, n: number): string {
  return `${b64(dhPublic)}.${n}`;
}

function tooMany(gap: number, maxSkip: number): E2eeError {
  return new E2eeError('too_many_skipped', `the message skips ${gap} keys, more than ${maxSkip}`);
}
