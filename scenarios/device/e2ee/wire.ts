/**
 * Compact binary forms of the end-to-end messages (the contract carries them
 * as base64url without padding). Every message starts with one byte: the
 * version in the high nibble, the type in the low one. Integers are unsigned
 * LEB128 varints (message numbers and ids are small, so mostly one byte);
 * keys are raw 32 bytes; a ciphertext is what is left between the fixed
 * fields and the trailing MAC or signature, so it carries no length.
 *
 *   ratchet      tag | ratchet key 32 | pn | n | ciphertext | MAC 32
 *   pre-key      tag | identity key 32 | base key 32 | signed pre-key id | one-time id + 1 (0: none) | ratchet message
 *   sender key   tag | key id | iteration | ciphertext | signature 64
 *   distribution tag | key id | iteration | chain key 32 | signature key 32
 */
import { E2eeError } from './contract.ts';

const VERSION = 1;

export const MessageType = {
  ratchet: (VERSION << 4) | 1,
  preKey: (VERSION << 4) | 2,
  senderKey: (VERSION << 4) | 3,
  distribution: (VERSION << 4) | 4,
} as const;

export const KEY_BYTES = 32;
export const MAC_BYTES = 32;
export const SIGNATURE_BYTES = 64;
const AES_BLOCK = 16;

/** "The Double Ratchet Algorithm" §3.1 HEADER: the sender's ratchet key, the previous sending chain's length, the message number. */
export interface RatchetHeader {
  dh: Uint8Array;
  pn: number;
  n: number;
}

export interface RatchetMessage {
  header: RatchetHeader;
  ciphertext: Uint8Array;
  /** Everything the MAC covers after the associated data: the message up to its MAC. */
  authenticated: Uint8Array;
  mac: Uint8Array;
}

/** The X3DH initial message ("The X3DH Key Agreement Protocol" §3.3) around the first ratchet message(s). */
export interface PreKeyMessage {
  identityKey: Uint8Array;
  baseKey: Uint8Array;
  signedPreKeyId: number;
  oneTimePreKeyId?: number;
  /** The encoded inner ratchet message. */
  message: Uint8Array;
}

export interface SenderKeyMessage {
  keyId: number;
  iteration: number;
  ciphertext: Uint8Array;
  /** The message up to its signature: what the signature covers. */
  signed: Uint8Array;
  signature: Uint8Array;
}

export interface SenderKeyDistribution {
  keyId: number;
  iteration: number;
  chainKey: Uint8Array;
  signatureKey: Uint8Array;
}

/** The type byte of an encoded message, or `malformed`. */
export function messageTypeOf(bytes: Uint8Array): number {
  const t = bytes[0];
  if (t === undefined || !Object.values(MessageType).includes(t as never)) throw malformed('unknown message type or version');
  return t;
}

/** The ratchet message without its MAC; the caller appends `mac(authenticated)`. */
export function encodeRatchetMessage(header: RatchetHeader, ciphertext: Uint8Array, mac: (authenticated: Uint8Array) => Uint8Array): Uint8Array {
  const w = new Writer(1 + KEY_BYTES + 10 + ciphertext.length + MAC_BYTES);
  w.byte(MessageType.ratchet).bytes(header.dh).varint(header.pn).varint(header.n).bytes(ciphertext);
  const authenticated = w.done();
  return w.bytes(mac(authenticated)).done();
}

export function decodeRatchetMessage(bytes: Uint8Array): RatchetMessage {
  const r = new Reader(bytes);
  r.expectType(MessageType.ratchet);
  const header = { dh: r.bytes(KEY_BYTES), pn: r.varint(), n: r.varint() };
  const ciphertext = r.bytes(r.remaining - MAC_BYTES);
  checkCiphertext(ciphertext);
  const authenticated = bytes.subarray(0, r.offset);
  return { header, ciphertext, authenticated, mac: r.bytes(MAC_BYTES) };
}

export function encodePreKeyMessage(m: PreKeyMessage): Uint8Array {
  const w = new Writer(1 + 2 * KEY_BYTES + 10 + m.message.length);
  w.byte(MessageType.preKey).bytes(m.identityKey).bytes(m.baseKey).varint(m.signedPreKeyId);
  return w.varint(m.oneTimePreKeyId === undefined ? 0 : m.oneTimePreKeyId + 1).bytes(m.message).done();
}

export function decodePreKeyMessage(bytes: Uint8Array): PreKeyMessage {
  const r = new Reader(bytes);
  r.expectType(MessageType.preKey);
  const identityKey = r.bytes(KEY_BYTES);
  const baseKey = r.bytes(KEY_BYTES);
  const signedPreKeyId = r.varint();
  const oneTime = r.varint();
  const message = r.bytes(r.remaining);
  return { identityKey, baseKey, signedPreKeyId, ...(oneTime > 0 ? { oneTimePreKeyId: oneTime - 1 } : {}), message };
}

/** The sender-key message; the caller appends `sign(signed)`. */
export function encodeSenderKeyMessage(keyId: number, iteration: number, ciphertext: Uint8Array, sign: (signed: Uint8Array) => Uint8Array): Uint8Array {
  const w = new Writer(1 + 10 + ciphertext.length + SIGNATURE_BYTES);
  const signed = w.byte(MessageType.senderKey).varint(keyId).varint(iteration).bytes(ciphertext).done();
  return w.bytes(sign(signed)).done();
}

export function decodeSenderKeyMessage(bytes: Uint8Array): SenderKeyMessage {
  const r = new Reader(bytes);
  r.expectType(MessageType.senderKey);
  const keyId = r.varint();
  const iteration = r.varint();
  const ciphertext = r.bytes(r.remaining - SIGNATURE_BYTES);
  checkCiphertext(ciphertext);
  const signed = bytes.subarray(0, r.offset);
  return { keyId, iteration, ciphertext, signed, signature: r.bytes(SIGNATURE_BYTES) };
}

export function encodeDistribution(d: SenderKeyDistribution): Uint8Array {
  const w = new Writer(1 + 10 + 2 * KEY_BYTES);
  return w.byte(MessageType.distribution).varint(d.keyId).varint(d.iteration).bytes(d.chainKey).bytes(d.signatureKey).done();
}

export function decodeDistribution(bytes: Uint8Array): SenderKeyDistribution {
  const r = new Reader(bytes);
  r.expectType(MessageType.distribution);
  const d = { keyId: r.varint(), iteration: r.varint(), chainKey: r.bytes(KEY_BYTES), signatureKey: r.bytes(KEY_BYTES) };
  r.end();
  return d;
}

function checkCiphertext(c: Uint8Array): void {
  if (c.length === 0 || c.length % AES_BLOCK !== 0) throw malformed('ciphertext is not whole AES blocks');
}

function malformed(why: string): E2eeError {
  return new E2eeError('malformed', why);
}

/** Largest varint accepted: ids and counters stay exact numbers (and within 32 bits). */
const MAX_VARINT = 2 ** 32 - 1;

class Writer {
  private buf: Uint8Array;
  private at = 0;

  constructor(capacity: number) {
    this.buf = new Uint8Array(capacity);
  }

  byte(b: number): this {
    this.room(1);
    this.buf[this.at++] = b;
    return this;
  }

  varint(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > MAX_VARINT) throw new RangeError(`varint out of range: ${v}`);
    while (v >= 0x80) {
      this.byte((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    return this.byte(v);
  }

  bytes(b: Uint8Array): this {
    this.room(b.length);
    this.buf.set(b, this.at);
    this.at += b.length;
    return this;
  }

  /** What is written so far (a view: later writes past it do not change it). */
  done(): Uint8Array {
    return this.buf.subarray(0, this.at);
  }

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const bigger = new Uint8Array(Math.max(this.buf.length * 2, this.at + n));
    bigger.set(this.buf.subarray(0, this.at));
    this.buf = bigger;
  }
}

class Reader {
  offset = 0;

  constructor(private readonly buf: Uint8Array) {}

  get remaining(): number {
    return this.buf.length - this.offset;
  }

  expectType(t: number): void {
    if (this.buf[this.offset++] !== t) throw malformed('unexpected message type or version');
  }

  varint(): number {
    let v = 0;
    for (let shift = 1; ; shift *= 0x80) {
      const b = this.buf[this.offset++];
      if (b === undefined) throw malformed('truncated varint');
      v += (b & 0x7f) * shift;
      if (v > MAX_VARINT) throw malformed('varint out of range');
      if (b < 0x80) return v;
    }
  }

  bytes(n: number): Uint8Array {
    if (n < 0 || this.offset + n > this.buf.length) throw malformed('truncated message');
    const out = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  end(): void {
    if (this.remaining !== 0) throw malformed('trailing bytes');
  }
}
