/**
 * X3DH, as "The X3DH Key Agreement Protocol" (Marlinspike, Perrin, 2016)
 * specifies it, with curve X25519, hash SHA-256 and info
 * "chatlab-e2ee X3DH" (§2.1).
 *
 * Identity keys (a deviation from §2.1, which has XEdDSA): the identity is an
 * Ed25519 key pair, used as it is to sign the signed pre-key, and as its
 * birational X25519 form (RFC 7748 §4.1; the private scalar is the clamped
 * half of SHA-512(seed) Ed25519 itself uses) for DH1 and DH2. XEdDSA goes
 * the other way (an X25519 identity that can sign), which needs Edwards
 * arithmetic on an arbitrary scalar for every signature — OpenSSL does not
 * offer that, noble does at ~0.5 ms. Using one key pair for both signing and
 * DH is what XEdDSA does as well; only the conversion's direction differs.
 */
import type { KeyObject } from 'node:crypto';
import { E2eeError, type FetchedBundleData } from './contract.ts';
import {
  concat,
  edPublicToX25519,
  edSeedToX25519,
  generateKeyPair,
  hkdfSha256,
  type KeyPair,
  privateFromRaw,
  peerDh,
  peerPublicKey,
  type RandomSource,
  rawPublicOf,
  secureRandom,
  sign,
  verify,
} from './primitives.ts';

const INFO = new TextEncoder().encode('chatlab-e2ee X3DH');
/** §2.2: F is 32 0xFF bytes for X25519, so the first 32 bytes of input can never be a valid DH output. */
const F = new Uint8Array(32).fill(0xff);
const ZERO_SALT = new Uint8Array(32);

/** §2.2 Encode(PK): a byte naming the key type, then the key (0x05 as Signal names Curve25519; 0x06 here for an Ed25519 identity). */
const KeyType = { x25519: 0x05, ed25519: 0x06 } as const;

export function encodeKey(type: keyof typeof KeyType, raw: Uint8Array): Uint8Array {
  return concat(Uint8Array.of(KeyType[type]), raw);
}

export interface Identity {
  /** Ed25519: the public key published as `identityKey`, and the signing key. */
  signing: KeyPair;
  /** Its X25519 form, for DH1 (initiator) and DH2 (responder). */
  dhPrivate: KeyObject;
}

export function generateIdentity(random: RandomSource = secureRandom): Identity {
  const seed = random(32);
  const privateKey = privateFromRaw('Ed25519', seed);
  return { signing: { privateKey, publicKey: rawPublicOf(privateKey) }, dhPrivate: privateFromRaw('X25519', edSeedToX25519(seed)) };
}

/** §3.2: Sig(IK_B, Encode(SPK_B)). */
export function signPreKey(identity: Identity, preKey: Uint8Array): Uint8Array {
  return sign(identity.signing.privateKey, encodeKey('x25519', preKey));
}

/** The same shape with its base64url strings decoded. */
type Decoded<T> = { [K in keyof T]: T[K] extends string ? Uint8Array : T[K] extends object | undefined ? Decoded<T[K]> : T[K] };

/** A fetched bundle, decoded. */
export type Bundle = Decoded<Omit<FetchedBundleData, 'device'>>;

export interface Agreement {
  /** §3.3 SK, the Double Ratchet's first root key. */
  sk: Uint8Array;
  /** §3.3 AD = Encode(IK_A) ‖ Encode(IK_B). */
  ad: Uint8Array;
}

export interface InitiatorAgreement extends Agreement {
  /** EK_A's public key, sent in the initial message. */
  baseKey: Uint8Array;
}

/** §2.2 KDF(KM) = HKDF(F ‖ KM), zero salt, 32 bytes. */
export function x3dhKdf(km: Uint8Array): Uint8Array {
  return hkdfSha256(concat(F, km), ZERO_SALT, INFO, 32);
}

/** §3.3, Alice's side. Throws `bad_signature` before anything else is computed. */
export function x3dhInitiate(identity: Identity, bundle: Bundle, random?: RandomSource): InitiatorAgreement {
  const { signedPreKey: spk, oneTimePreKey: opk } = bundle;
  if (!verifiedSignedPreKey(bundle.identityKey, spk.key, spk.signature)) {
    throw new E2eeError('bad_signature', "the signed pre-key's signature does not verify under the identity key");
  }
  const remoteIdentityDh = identityDhKey(bundle.identityKey);
  const spkKey = peerPublicKey('X25519', spk.key);
  const ek: KeyPair = generateKeyPair('X25519', random);
  const km = [peerDh(identity.dhPrivate, spkKey), peerDh(ek.privateKey, remoteIdentityDh), peerDh(ek.privateKey, spkKey)];
  if (opk) km.push(peerDh(ek.privateKey, peerPublicKey('X25519', opk.key)));
  return { sk: x3dhKdf(concat(...km)), ad: associatedData(identity.signing.publicKey, bundle.identityKey), baseKey: ek.publicKey };
}

/** §3.3, Bob's side, from the initial message's identity and base keys and the pre-key privates they name. */
export function x3dhRespond(
  identity: Identity,
  signedPreKey: KeyObject,
  oneTimePreKey: KeyObject | undefined,
  remoteIdentityKey: Uint8Array,
  baseKey: Uint8Array,
): Agreement {
  const ek = peerPublicKey('X25519', baseKey);
  const km = [peerDh(signedPreKey, identityDhKey(remoteIdentityKey)), peerDh(identity.dhPrivate, ek), peerDh(signedPreKey, ek)];
  if (oneTimePreKey) km.push(peerDh(oneTimePreKey, ek));
  return { sk: x3dhKdf(concat(...km)), ad: associatedData(remoteIdentityKey, identity.signing.publicKey) };
}

function associatedData(initiatorIdentity: Uint8Array, responderIdentity: Uint8Array): Uint8Array {
  return concat(encodeKey('ed25519', initiatorIdentity), encodeKey('ed25519', responderIdentity));
}

/**
 * Results worth remembering across sessions of one process: every device of
 * a driver worker that talks to the same contact device converts its
 * identity key and checks its signed pre-key's signature again. Measured on
 * the main job: the Edwards→Montgomery conversion (field arithmetic in
 * @noble/curves) and Ed25519 verification were ~4% of a worker's CPU.
 * Bounded; the oldest entry goes first.
 */
const MEMO_MAX = 16_384;
const identityDhKeys = new Map<string, KeyObject>();
const verifiedSignatures = new Set<string>();

function remember<T>(m: Map<string, T> | Set<string>, key: string, value?: T): void {
  if (m.size >= MEMO_MAX) m.delete(m.keys().next().value!);
  if (m instanceof Map) m.set(key, value as T);
  else m.add(key);
}

function verifiedSignedPreKey(identityKey: Uint8Array, spk: Uint8Array, signature: Uint8Array): boolean {
  const key = Buffer.concat([identityKey, spk, signature]).toString('base64');
  if (verifiedSignatures.has(key)) return true;
  if (!verify(peerPublicKey('Ed25519', identityKey), encodeKey('x25519', spk), signature)) return false;
  remember(verifiedSignatures, key);
  return true;
}

function identityDhKey(edPublic: Uint8Array): KeyObject {
  const key = Buffer.from(edPublic).toString('base64');
  const known = identityDhKeys.get(key);
  if (known) return known;
  let u: Uint8Array;
  try {
    u = edPublicToX25519(edPublic);
  } catch {
    throw new E2eeError('malformed', 'the identity key is not an Ed25519 point');
  }
  const k = peerPublicKey('X25519', u);
  remember(identityDhKeys, key, k);
  return k;
}
