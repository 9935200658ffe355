/**
 * The cryptographic primitives of the end-to-end layer, one place for each
 * choice of implementation.
 *
 * Why the curves are native (node:crypto, i.e. OpenSSL) and not
 * @noble/curves, measured on this 2-core machine (Node 20, OpenSSL 3.0):
 *
 *   X25519 shared secret   node 35 µs     noble 1010 µs
 *   Ed25519 sign           node 37 µs     noble ~530 µs
 *   Ed25519 verify         node 106 µs    noble ~1170 µs
 *   X25519 key generation  node 37 µs     (random bytes imported, see generateKeyPair)
 *
 * A load driver takes a DH ratchet step (two DHs and a key pair) per turn
 * of a conversation, for thousands of messages a second: noble would cost a
 * core by itself. @noble/curves stays for one thing OpenSSL cannot do, the
 * Ed25519 → X25519 (birational) conversion of identity keys, and as the
 * independent implementation the tests cross-check against.
 *
 * How raw keys become KeyObjects matters as much as the curve: importing
 * through the fixed DER prefixes goes through OpenSSL 3's decoder framework
 * (PKCS#8 private ~350 µs, SPKI public ~73 µs), JWK does not (public ~7 µs,
 * private ~36 µs). So public keys are imported as JWK, and a private key is
 * made from raw bytes as JWK too (see `privateFromRaw`), with the DER form as
 * the fallback that is always right.
 *
 * The symmetric parts, measured the same way (@noble vs node:crypto):
 *
 *   HMAC-SHA256, 33 B / 300 B      noble 7.0 / 6.1 µs      node 2.3 / 2.4 µs
 *   HMAC-SHA256, 100 KiB           noble 682 µs            node 72 µs
 *   HKDF-SHA256, 80 B out          noble 12.9 µs           node 10.9 µs
 *   AES-256-CBC encrypt, 200 B     noble 5.7 µs            node 3.7 µs
 *   AES-256-CBC encrypt, 64 KiB    noble 690 µs            node 195 µs
 *   SHA-256, 100 KiB               noble 686 µs            node 58 µs
 *
 * HKDF is within 20%, so it is @noble/hashes' (which also keeps the tests'
 * own HKDF, `crypto.hkdfSync`, an independent computation). HMAC, AES-CBC and
 * SHA-256 are node:crypto's: 1.6× to 12× faster at the sizes used (a chain
 * step is two HMACs; an attachment is up to hundreds of KiB).
 */
import crypto, { type KeyObject } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import type { Random } from '../../../system/random/random.ts';
import { E2eeError } from './contract.ts';

/** Where every key, IV and id comes from: `n` fresh bytes. Tests pass a seeded one. */
export type RandomSource = (n: number) => Uint8Array;

export const secureRandom: RandomSource = (n) => new Uint8Array(crypto.randomBytes(n));

/** Bytes from the project's seeded `Random` (4 per draw): reproducible keys, for simulations and tests only. */
export function seededRandomSource(random: Random): RandomSource {
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 4) {
      const v = random.int(2 ** 32);
      for (let j = 0; j < 4 && i + j < n; j++) out[i + j] = (v >>> (8 * j)) & 0xff;
    }
    return out;
  };
}

export interface KeyPair {
  /** The raw 32-byte public key, as the wire carries it. */
  publicKey: Uint8Array;
  privateKey: KeyObject;
}

type Curve = 'X25519' | 'Ed25519';

/**
 * The fixed DER prefixes of RFC 8410 for 32-byte keys (an SPKI or a PKCS#8
 * structure with an OID 1.3.101.110 for X25519, 1.3.101.112 for Ed25519);
 * the raw key is appended. The tests check them against what OpenSSL exports.
 */
export const DerPrefix = {
  X25519: { spki: hex('302a300506032b656e032100'), pkcs8: hex('302e020100300506032b656e04220420') },
  Ed25519: { spki: hex('302a300506032b6570032100'), pkcs8: hex('302e020100300506032b657004220420') },
} as const;

/** A key that cannot be a real public key: the neutral element, which no clamped scalar gives. */
const PLACEHOLDER_X = Buffer.alloc(32).toString('base64url');

export function publicFromRaw(curve: Curve, raw: Uint8Array): KeyObject {
  if (raw.length !== 32) throw new RangeError(`${curve} public key must be 32 bytes, got ${raw.length}`);
  return crypto.createPublicKey({ key: { kty: 'OKP', crv: curve, x: b64(raw) }, format: 'jwk' });
}

/**
 * A private KeyObject from its raw 32 bytes (an X25519 scalar or an Ed25519
 * seed). Node's JWK import wants an `x` but derives the public key from `d`
 * (10× faster than the PKCS#8 decoder); a placeholder `x` is passed, and if a
 * Node ever took it as given (the export shows it back), or refused it, the
 * DER import is used instead.
 */
export function privateFromRaw(curve: Curve, raw: Uint8Array): KeyObject {
  if (raw.length !== 32) throw new RangeError(`${curve} private key must be 32 bytes, got ${raw.length}`);
  try {
    const key = crypto.createPrivateKey({ key: { kty: 'OKP', crv: curve, d: b64(raw), x: PLACEHOLDER_X }, format: 'jwk' });
    if (key.export({ format: 'jwk' }).x !== PLACEHOLDER_X) return key;
  } catch {
    // fall through to the DER form
  }
  return crypto.createPrivateKey({ key: Buffer.concat([DerPrefix[curve].pkcs8, raw]), format: 'der', type: 'pkcs8' });
}

/** The raw public key of a private KeyObject. */
export function rawPublicOf(privateKey: KeyObject): Uint8Array {
  return fromB64(crypto.createPublicKey(privateKey).export({ format: 'jwk' }).x!);
}

/** The raw private bytes (X25519 scalar or Ed25519 seed) of a private KeyObject. */
export function rawPrivateOf(privateKey: KeyObject): Uint8Array {
  return fromB64(privateKey.export({ format: 'jwk' }).d!);
}

/**
 * A fresh key pair from 32 random bytes (`random`, or the system's CSPRNG):
 * any 32 bytes are an X25519 private key (RFC 7748 clamps them on use) and
 * an Ed25519 seed (RFC 8032 §5.1.5).
 *
 * Not `crypto.generateKeyPairSync`: in Node 20 the key-generation job it
 * leaves behind locks its key's mutex when the garbage collector destroys
 * it, and exporting that key (as `rawPublicOf` does) holds the same mutex
 * while it allocates. A collection at that moment blocks the process for
 * good: no timer, no socket, no signal handler runs again. Under a load
 * driver's allocation rate that happened within minutes; the test
 * "makes key pairs through garbage collections without hanging" reproduces
 * it. Importing raw bytes creates no such job and costs the same (~37 µs).
 */
export function generateKeyPair(curve: Curve, random: RandomSource = secureRandom): KeyPair {
  const privateKey = privateFromRaw(curve, random(32));
  return { privateKey, publicKey: rawPublicOf(privateKey) };
}

/** X25519 (RFC 7748). OpenSSL refuses an all-zero result (a small-order public key): that throws. */
export function x25519(privateKey: KeyObject, publicKey: Uint8Array | KeyObject): Uint8Array {
  const pub = publicKey instanceof Uint8Array ? publicFromRaw('X25519', publicKey) : publicKey;
  return new Uint8Array(crypto.diffieHellman({ privateKey, publicKey: pub }));
}

/** A public key from a peer: refused as `malformed` when it is not one. */
export function peerPublicKey(curve: Curve, raw: Uint8Array): KeyObject {
  try {
    return publicFromRaw(curve, raw);
  } catch {
    throw new E2eeError('malformed', `not an ${curve} public key`);
  }
}

/** X25519 with a peer's key: a small-order key (no shared secret) is `malformed`. */
export function peerDh(privateKey: KeyObject, publicKey: KeyObject): Uint8Array {
  try {
    return x25519(privateKey, publicKey);
  } catch {
    throw new E2eeError('malformed', 'the key gives no shared secret (a small-order point)');
  }
}

/** Ed25519 (RFC 8032), pure: the message itself is signed, no pre-hash. */
export function sign(privateKey: KeyObject, message: Uint8Array): Uint8Array {
  return new Uint8Array(crypto.sign(null, message, privateKey));
}

export function verify(publicKey: Uint8Array | KeyObject, message: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== 64) return false;
  const pub = publicKey instanceof Uint8Array ? publicFromRaw('Ed25519', publicKey) : publicKey;
  return crypto.verify(null, message, pub, signature);
}

/**
 * The X25519 form of an Ed25519 public key: u = (1 + y) / (1 - y), the
 * birational map of RFC 7748 §4.1. Throws when the bytes are not a point.
 */
export function edPublicToX25519(edPublic: Uint8Array): Uint8Array {
  return ed25519.utils.toMontgomery(edPublic);
}

/** The X25519 scalar of an Ed25519 seed: the clamped first half of SHA-512(seed), the scalar Ed25519 itself signs with. */
export function edSeedToX25519(seed: Uint8Array): Uint8Array {
  return ed25519.utils.toMontgomerySecret(seed);
}

/** HKDF-SHA256 (RFC 5869). A missing salt is HashLen zero bytes, as RFC 5869 §2.2 says. */
export function hkdfSha256(ikm: Uint8Array, salt: Uint8Array | undefined, info: Uint8Array, length: number): Uint8Array {
  return hkdf(nobleSha256, ikm, salt, info, length);
}

/**
 * SHA-256 in one call (`crypto.hash`, Node ≥ 20.12) where it exists. Unlike
 * `createHash` and `createHmac` it builds no native object a call: a driver
 * worker hashing thousands of times a second otherwise leaves the collector
 * a weak handle to finalize for each, in every young-generation pause
 * (measured: 300,000 HMACs cost 79 ms of scavenges with createHmac, 51 of
 * them finalizing handles, and 15 ms this way, at the same speed).
 */
const hashOnce = (crypto as { hash?: (algorithm: string, data: Uint8Array, encoding: 'buffer') => Buffer }).hash;
const BLOCK = 64;

/** HMAC-SHA256 (RFC 2104): H((K ⊕ opad) ‖ H((K ⊕ ipad) ‖ text)), the key zero-padded to the block (hashed first when longer). */
export function hmacSha256(key: Uint8Array, ...data: Uint8Array[]): Uint8Array {
  if (!hashOnce) {
    const h = crypto.createHmac('sha256', key);
    for (const d of data) h.update(d);
    return new Uint8Array(h.digest());
  }
  const k = key.length > BLOCK ? sha256(key) : key;
  let length = BLOCK;
  for (const d of data) length += d.length;
  // allocUnsafe: small sizes come from Node's shared pool, not a buffer of their own each.
  const inner = Buffer.allocUnsafe(length);
  const outer = Buffer.allocUnsafe(BLOCK + 32);
  for (let i = 0; i < BLOCK; i++) {
    const b = i < k.length ? k[i]! : 0;
    inner[i] = b ^ 0x36;
    outer[i] = b ^ 0x5c;
  }
  let at = BLOCK;
  for (const d of data) {
    inner.set(d, at);
    at += d.length;
  }
  outer.set(hashOnce('sha256', inner, 'buffer'), BLOCK);
  return new Uint8Array(hashOnce('sha256', outer, 'buffer'));
}

export function sha256(data: Uint8Array): Uint8Array {
  return new Uint8Array(hashOnce ? hashOnce('sha256', data, 'buffer') : crypto.createHash('sha256').update(data).digest());
}

/** AES-256-CBC with PKCS#7 padding. */
export function aesCbcEncrypt(key: Uint8Array, iv: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const c = crypto.createCipheriv('aes-256-cbc', key, iv);
  return concat(c.update(plaintext), c.final());
}

/** Throws when the padding is wrong (callers check a MAC or signature first, so that is a malformed message). */
export function aesCbcDecrypt(key: Uint8Array, iv: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  const d = crypto.createDecipheriv('aes-256-cbc', key, iv);
  return concat(d.update(ciphertext), d.final());
}

/** Constant-time equality (for MACs and digests). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** base64url without padding, the wire's encoding. */
export function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64url');
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** Strict: Buffer's decoder skips characters it does not know, this refuses them (RangeError). */
export function fromB64(s: string): Uint8Array {
  if (s.length % 4 === 1 || !BASE64URL.test(s)) throw new RangeError('not base64url without padding');
  return new Uint8Array(Buffer.from(s, 'base64url'));
}

function hex(s: string): Buffer {
  return Buffer.from(s, 'hex');
}
