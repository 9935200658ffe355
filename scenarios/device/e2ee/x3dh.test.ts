import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { E2eeError } from './contract.ts';
import { privateFromRaw, rawPublicOf } from './primitives.ts';
import { type Bundle, generateIdentity, type Identity, signPreKey, x3dhInitiate, x3dhRespond } from './x3dh.ts';

/*
 * The expected SK is computed here from "The X3DH Key Agreement Protocol"
 * §2.2/§3.3 with node:crypto only (DER-imported keys, crypto.diffieHellman,
 * crypto.hkdfSync) and the birational map worked out with BigInt, so none of
 * the library's own code paths produce the figure they are checked against.
 */
const P = 2n ** 255n - 19n;
const X_PUB = Buffer.from('302a300506032b656e032100', 'hex');
const X_PRIV = Buffer.from('302e020100300506032b656e04220420', 'hex');

const fixed = (byte: number) => new Uint8Array(32).fill(byte);
const once = (bytes: Uint8Array) => () => bytes;

function modPow(b: bigint, e: bigint): bigint {
  let r = 1n;
  for (b %= P; e > 0n; e >>= 1n, b = (b * b) % P) if (e & 1n) r = (r * b) % P;
  return r;
}

/** RFC 7748 §4.1: u = (1 + y) / (1 - y) of an Ed25519 public key. */
function montgomeryU(edPublic: Uint8Array): Buffer {
  const le = Buffer.from(edPublic);
  le[31]! &= 0x7f;
  const y = BigInt('0x' + Buffer.from(le).reverse().toString('hex'));
  const u = ((1n + y) * modPow((1n - y + P) % P, P - 2n)) % P;
  return Buffer.from(u.toString(16).padStart(64, '0'), 'hex').reverse();
}

/** The X25519 scalar Ed25519 signs with: the first half of SHA-512(seed) (clamped by X25519 itself). */
function edScalar(seed: Uint8Array): Buffer {
  return crypto.createHash('sha512').update(seed).digest().subarray(0, 32);
}

const priv = (raw: Uint8Array) => crypto.createPrivateKey({ key: Buffer.concat([X_PRIV, raw]), format: 'der', type: 'pkcs8' });
const pub = (raw: Uint8Array) => crypto.createPublicKey({ key: Buffer.concat([X_PUB, raw]), format: 'der', type: 'spki' });
const dh = (a: Uint8Array, b: Uint8Array) => crypto.diffieHellman({ privateKey: priv(a), publicKey: pub(b) });

function expectedSk(dhs: Buffer[]): Uint8Array {
  const ikm = Buffer.concat([Buffer.alloc(32, 0xff), ...dhs]);
  return new Uint8Array(crypto.hkdfSync('sha256', ikm, Buffer.alloc(32), 'chatlab-e2ee X3DH', 32));
}

describe('e2ee X3DH', () => {
  const aliceSeed = fixed(0x11);
  const bobSeed = fixed(0x22);
  const spkRaw = fixed(0x33);
  const opkRaw = fixed(0x44);
  const ekRaw = fixed(0x55);
  let alice: Identity;
  let bob: Identity;
  let bundle: Bundle;

  beforeEach(() => {
    alice = generateIdentity(once(aliceSeed));
    bob = generateIdentity(once(bobSeed));
    const spk = rawPublicOf(privateFromRaw('X25519', spkRaw));
    bundle = {
      identityKey: bob.signing.publicKey,
      signedPreKey: { id: 1, key: spk, signature: signPreKey(bob, spk) },
      oneTimePreKey: { id: 2, key: rawPublicOf(privateFromRaw('X25519', opkRaw)) },
    };
  });

  it('the signed pre-key is signed as Encode(SPK) = 0x05 ‖ SPK under the Ed25519 identity', () => {
    const message = Buffer.concat([Buffer.of(0x05), bundle.signedPreKey.key]);
    const identity = crypto.createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), bob.signing.publicKey]), format: 'der', type: 'spki' });
    assert.ok(crypto.verify(null, message, identity, bundle.signedPreKey.signature));
  });

  it('with a one-time pre-key: SK = HKDF(F ‖ DH1 ‖ DH2 ‖ DH3 ‖ DH4), and both sides agree', () => {
    const a = x3dhInitiate(alice, bundle, once(ekRaw));
    const spk = bundle.signedPreKey.key;
    const opk = bundle.oneTimePreKey!.key;
    const sk = expectedSk([dh(edScalar(aliceSeed), spk), dh(ekRaw, montgomeryU(bob.signing.publicKey)), dh(ekRaw, spk), dh(ekRaw, opk)]);
    assert.deepEqual(a.sk, sk);
    assert.deepEqual(a.baseKey, rawPublicOf(privateFromRaw('X25519', ekRaw)));
    assert.deepEqual(a.ad, new Uint8Array(Buffer.concat([Buffer.of(0x06), alice.signing.publicKey, Buffer.of(0x06), bob.signing.publicKey])));

    const b = x3dhRespond(bob, privateFromRaw('X25519', spkRaw), privateFromRaw('X25519', opkRaw), alice.signing.publicKey, a.baseKey);
    assert.deepEqual(b.sk, sk);
    assert.deepEqual(b.ad, a.ad);
  });

  it('without a one-time pre-key: SK = HKDF(F ‖ DH1 ‖ DH2 ‖ DH3), and both sides agree', () => {
    const { oneTimePreKey: _, ...noOpk } = bundle;
    const a = x3dhInitiate(alice, noOpk, once(ekRaw));
    const spk = bundle.signedPreKey.key;
    const sk = expectedSk([dh(edScalar(aliceSeed), spk), dh(ekRaw, montgomeryU(bob.signing.publicKey)), dh(ekRaw, spk)]);
    assert.deepEqual(a.sk, sk);
    const b = x3dhRespond(bob, privateFromRaw('X25519', spkRaw), undefined, alice.signing.publicKey, a.baseKey);
    assert.deepEqual(b.sk, sk);
  });

  it('a random ephemeral key gives another SK each time, still agreed', () => {
    const a1 = x3dhInitiate(alice, bundle);
    const a2 = x3dhInitiate(alice, bundle);
    assert.notDeepEqual(a1.sk, a2.sk);
    const b = x3dhRespond(bob, privateFromRaw('X25519', spkRaw), privateFromRaw('X25519', opkRaw), alice.signing.publicKey, a2.baseKey);
    assert.deepEqual(b.sk, a2.sk);
  });

  it('refuses a bad signature: a flipped bit, another identity, another pre-key', () => {
    const refused = (err: unknown) => err instanceof E2eeError && err.reason === 'bad_signature';
    const flipped = bundle.signedPreKey.signature.slice();
    flipped[5]! ^= 0x01;
    assert.throws(() => x3dhInitiate(alice, { ...bundle, signedPreKey: { ...bundle.signedPreKey, signature: flipped } }), refused);
    assert.throws(() => x3dhInitiate(alice, { ...bundle, identityKey: alice.signing.publicKey }), refused);
    const other = rawPublicOf(privateFromRaw('X25519', fixed(0x66)));
    assert.throws(() => x3dhInitiate(alice, { ...bundle, signedPreKey: { ...bundle.signedPreKey, key: other } }), refused);
  });
});
