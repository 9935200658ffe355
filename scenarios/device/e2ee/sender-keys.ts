/**
 * Group messages under sender keys, Signal's scheme for groups (described in
 * the WhatsApp security whitepaper, "Group Messages"): each sender
 * has, per group, a chain key and an Ed25519 signature key, and sends both
 * to every member pairwise in a distribution message. A group message is
 * encrypted once under the next key of that chain and signed:
 *
 *   chain step      HMAC-SHA256(ck, 0x01) the message seed, HMAC-SHA256(ck, 0x02) the next chain key
 *                   (the Double Ratchet's KDF_CK, "The Double Ratchet Algorithm" §5.2)
 *   message keys    HKDF-SHA256(seed, zero salt, "chatlab-e2ee sender key") → 16-byte IV, 32-byte AES key
 *   cipher          AES-256-CBC (PKCS#7), the whole message signed with the sender's signature key
 *
 * The chain only goes forward: a distribution gives a member the chain from
 * its current iteration on, so a member added later cannot read what was sent
 * before. A member leaving makes the remaining ones rotate (`rotateSenderKey`):
 * a new key id, chain and signature key the leaver never gets.
 */
import type { KeyObject } from 'node:crypto';
import { E2eeError } from './contract.ts';
import { kdfCk } from './ratchet.ts';
import {
  aesCbcDecrypt,
  aesCbcEncrypt,
  generateKeyPair,
  hkdfSha256,
  type KeyPair,
  peerPublicKey,
  type RandomSource,
  secureRandom,
  sign,
  verify,
} from './primitives.ts';
import { type SkippedKeyBudget, SkippedKeys } from './skipped-keys.ts';
import { decodeDistribution, decodeSenderKeyMessage, encodeDistribution, encodeSenderKeyMessage, type SenderKeyDistribution, type SenderKeyMessage } from './wire.ts';

const INFO = new TextEncoder().encode('chatlab-e2ee sender key');
const ZERO_SALT = new Uint8Array(32);
/** Sender-key states kept per sender and group: the current one and the one before a rotation, for messages still in flight. */
const STATES_PER_SENDER = 2;

function messageKeys(seed: Uint8Array): { iv: Uint8Array; key: Uint8Array } {
  const out = hkdfSha256(seed, ZERO_SALT, INFO, 48);
  return { iv: out.subarray(0, 16), key: out.subarray(16) };
}

/** This device's sender key for one group. */
export class OwnSenderKey {
  private constructor(
    readonly keyId: number,
    private iteration: number,
    private chainKey: Uint8Array,
    private readonly signing: KeyPair,
  ) {}

  static create(random: RandomSource = secureRandom): OwnSenderKey {
    const id = random(4);
    const keyId = ((id[0]! << 24) | (id[1]! << 16) | (id[2]! << 8) | id[3]!) >>> 1;
    return new OwnSenderKey(keyId, 0, random(32), generateKeyPair('Ed25519', random));
  }

  /** The distribution message: the chain from the next iteration on, and the key that verifies it. */
  distribution(): Uint8Array {
    return encodeDistribution({ keyId: this.keyId, iteration: this.iteration, chainKey: this.chainKey, signatureKey: this.signing.publicKey });
  }

  encrypt(plaintext: Uint8Array): Uint8Array {
    const { chainKey, messageKey } = kdfCk(this.chainKey);
    const iteration = this.iteration;
    this.chainKey = chainKey;
    this.iteration++;
    const { iv, key } = messageKeys(messageKey);
    const ciphertext = aesCbcEncrypt(key, iv, plaintext);
    return encodeSenderKeyMessage(this.keyId, iteration, ciphertext, (signed) => sign(this.signing.privateKey, signed));
  }
}

/** Another member's sender key for one group, from its distribution message. */
export class ReceivedSenderKey {
  readonly keyId: number;
  /** The distribution's iteration: messages before it were never this member's to read. */
  private readonly first: number;
  private iteration: number;
  private chainKey: Uint8Array;
  private readonly signatureKey: KeyObject;

  constructor(
    d: SenderKeyDistribution,
    private readonly skipped: SkippedKeys,
    private readonly maxSkip: number,
  ) {
    this.keyId = d.keyId;
    this.first = this.iteration = d.iteration;
    this.chainKey = d.chainKey;
    this.signatureKey = peerPublicKey('Ed25519', d.signatureKey);
  }

  /** Verifies, then decrypts; all or nothing, like the ratchet's decrypt. */
  decrypt(message: SenderKeyMessage): Uint8Array {
    if (!verify(this.signatureKey, message.signed, message.signature)) throw new E2eeError('bad_signature', 'the group message is not signed by its sender key');
    const { iteration } = message;
    if (iteration < this.iteration) return this.decryptKept(iteration, message.ciphertext);
    if (iteration - this.iteration > this.maxSkip) {
      throw new E2eeError('too_many_skipped', `the group message skips ${iteration - this.iteration} keys, more than ${this.maxSkip}`);
    }
    const staged: [string, Uint8Array][] = [];
    let ck = this.chainKey;
    for (let i = this.iteration; i < iteration; i++) {
      const step = kdfCk(ck);
      staged.push([String(i), step.messageKey]);
      ck = step.chainKey;
    }
    const { chainKey, messageKey } = kdfCk(ck);
    const plaintext = open(messageKey, message.ciphertext);
    this.chainKey = chainKey;
    this.iteration = iteration + 1;
    for (const [id, key] of staged) this.skipped.put(id, key);
    return plaintext;
  }

  dispose(): void {
    this.skipped.clear();
  }

  private decryptKept(iteration: number, ciphertext: Uint8Array): Uint8Array {
    const id = String(iteration);
    const kept = this.skipped.get(id);
    if (!kept) {
      if (iteration < this.first) throw new E2eeError('no_sender_key', `iteration ${iteration} is before this member's distribution (${this.first})`);
      throw new E2eeError('duplicate', `iteration ${iteration} was already decrypted (or its key given up)`);
    }
    const plaintext = open(kept, ciphertext);
    this.skipped.evict(id);
    return plaintext;
  }
}

function open(seed: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  const { iv, key } = messageKeys(seed);
  try {
    return aesCbcDecrypt(key, iv, ciphertext);
  } catch {
    throw new E2eeError('malformed', 'bad padding in a signed group message');
  }
}

export interface SenderKeyStoreOptions {
  random: RandomSource;
  maxSkip: number;
  budget: SkippedKeyBudget;
}

/** A device's sender keys: its own per group, and every other member's per (group, sender). */
export class SenderKeyStore {
  private readonly own = new Map<string, OwnSenderKey>();
  private readonly received = new Map<string, ReceivedSenderKey[]>();

  constructor(private readonly options: SenderKeyStoreOptions) {}

  distribution(group: string): Uint8Array {
    return this.ownKey(group).distribution();
  }

  rotate(group: string): void {
    this.own.set(group, this.newOwnKey());
  }

  encrypt(group: string, plaintext: Uint8Array): Uint8Array {
    return this.ownKey(group).encrypt(plaintext);
  }

  /** A distribution for a key id already held changes nothing (a resend must not rewind the chain). */
  process(sender: string, group: string, bytes: Uint8Array): void {
    const d = decodeDistribution(bytes);
    const name = receivedName(sender, group);
    const states = this.received.get(name) ?? [];
    if (states.some((s) => s.keyId === d.keyId)) return;
    const { maxSkip, budget } = this.options;
    states.unshift(new ReceivedSenderKey(d, new SkippedKeys(maxSkip, budget), maxSkip));
    for (const old of states.splice(STATES_PER_SENDER)) old.dispose();
    this.received.set(name, states);
  }

  decrypt(sender: string, group: string, bytes: Uint8Array): Uint8Array {
    const message = decodeSenderKeyMessage(bytes);
    const state = this.received.get(receivedName(sender, group))?.find((s) => s.keyId === message.keyId);
    if (!state) throw new E2eeError('no_sender_key', `no sender key ${message.keyId} of ${sender} in ${group}`);
    return state.decrypt(message);
  }

  private ownKey(group: string): OwnSenderKey {
    let key = this.own.get(group);
    if (!key) this.own.set(group, (key = this.newOwnKey()));
    return key;
  }

  private newOwnKey(): OwnSenderKey {
    return OwnSenderKey.create(this.options.random);
  }
}

/** Device ids have no NUL: the pair is unambiguous. */
function receivedName(sender: string, group: string): string {
  return `${sender}\u0000${group}`;
}
