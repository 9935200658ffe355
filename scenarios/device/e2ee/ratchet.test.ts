import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { SeededRandom } from '../../../system/random/random.ts';
import { E2eeError } from './contract.ts';
import { generateKeyPair, privateFromRaw, rawPublicOf, seededRandomSource } from './primitives.ts';
import { DoubleRatchet, kdfCk, kdfRk, messageKeyMaterial } from './ratchet.ts';
import { SkippedKeyBudget, SkippedKeys } from './skipped-keys.ts';
import { decodeRatchetMessage } from './wire.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const refusedWith = (reason: string) => (err: unknown) => err instanceof E2eeError && err.reason === reason;

function pair(maxSkip = 1000, budget?: SkippedKeyBudget) {
  const sk = new Uint8Array(crypto.randomBytes(32));
  const ad = new Uint8Array(crypto.randomBytes(66));
  const bobKey = generateKeyPair('X25519');
  return {
    alice: DoubleRatchet.initiator(sk, bobKey.publicKey, ad, new SkippedKeys(maxSkip, budget), { maxSkip }),
    bob: DoubleRatchet.responder(sk, bobKey, ad, new SkippedKeys(maxSkip, budget), { maxSkip }),
  };
}

/** Sends `n` numbered messages. */
function send(from: DoubleRatchet, n: number, tag: string): { text: string; bytes: Uint8Array }[] {
  return Array.from({ length: n }, (_, i) => ({ text: `${tag} ${i}`, bytes: from.encrypt(enc(`${tag} ${i}`)) }));
}

function shuffle<T>(xs: T[], random: SeededRandom): T[] {
  const out = xs.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe('e2ee Double Ratchet', () => {
  it('round trips in both directions over many turns of varying length', () => {
    const { alice, bob } = pair();
    const random = new SeededRandom(5);
    for (let turn = 0; turn < 60; turn++) {
      const [from, to] = turn % 2 === 0 ? [alice, bob] : [bob, alice];
      for (const m of send(from, 1 + random.int(4), `turn ${turn}`)) assert.equal(dec(to.decrypt(m.bytes)), m.text);
    }
    assert.equal(alice.skippedCount + bob.skippedCount, 0);
  });

  it('decrypts a shuffled window, across a DH ratchet step', () => {
    const { alice, bob } = pair();
    bob.decrypt(alice.encrypt(enc('hello')));
    const window = send(alice, 10, 'chain 1');
    alice.decrypt(bob.encrypt(enc('reply')));
    window.push(...send(alice, 10, 'chain 2'));
    for (const m of shuffle(window, new SeededRandom(9))) assert.equal(dec(bob.decrypt(m.bytes)), m.text);
    assert.equal(bob.skippedCount, 0);
  });

  it('lost messages stay lost; the conversation goes on', () => {
    const { alice, bob } = pair();
    const sent = send(alice, 10, 'a');
    for (const m of sent.filter((_, i) => i % 2 === 0)) assert.equal(dec(bob.decrypt(m.bytes)), m.text);
    assert.equal(bob.skippedCount, 4);
    for (let turn = 0; turn < 6; turn++) {
      const [from, to] = turn % 2 === 0 ? [bob, alice] : [alice, bob];
      send(from, 3, `lost ${turn}`);
      const m = send(from, 1, `turn ${turn}`)[0]!;
      assert.equal(dec(to.decrypt(m.bytes)), m.text);
    }
    // 'a 9' is skipped too once Alice's next chain arrives (its header says the chain had 10).
    assert.equal(alice.skippedCount + bob.skippedCount, 4 + 1 + 6 * 3);
  });

  it("a duplicate fails with 'duplicate' and leaves the session working: same chain, a kept key, a finished chain", () => {
    const { alice, bob } = pair();
    const [m0, m1, m2] = send(alice, 3, 'a');
    bob.decrypt(m0!.bytes);
    assert.throws(() => bob.decrypt(m0!.bytes), refusedWith('duplicate'));
    bob.decrypt(m2!.bytes);
    bob.decrypt(m1!.bytes);
    assert.throws(() => bob.decrypt(m1!.bytes), refusedWith('duplicate'));
    assert.equal(dec(alice.decrypt(bob.encrypt(enc('reply')))), 'reply');
    const next = send(alice, 1, 'next')[0]!;
    assert.equal(dec(bob.decrypt(next.bytes)), next.text);
    assert.throws(() => bob.decrypt(m2!.bytes), refusedWith('duplicate'));
    assert.throws(() => bob.decrypt(next.bytes), refusedWith('duplicate'));
    assert.equal(dec(alice.decrypt(bob.encrypt(enc('still')))), 'still');
  });

  it("a gap beyond MAX_SKIP fails with 'too_many_skipped'; in-range messages still decrypt", () => {
    const { alice, bob } = pair(10);
    const sent = send(alice, 40, 'a');
    assert.throws(() => bob.decrypt(sent[11]!.bytes), refusedWith('too_many_skipped'));
    assert.equal(bob.skippedCount, 0);
    assert.equal(dec(bob.decrypt(sent[10]!.bytes)), 'a 10');
    assert.equal(dec(bob.decrypt(sent[3]!.bytes)), 'a 3');
    assert.equal(dec(bob.decrypt(sent[21]!.bytes)), 'a 21');
    assert.throws(() => bob.decrypt(sent[33]!.bytes), refusedWith('too_many_skipped'));
    assert.equal(dec(bob.decrypt(sent[32]!.bytes)), 'a 32');
    // At most 10 keys kept per session: 22..31 pushed out the older ones.
    assert.equal(bob.skippedCount, 10);
    assert.equal(dec(bob.decrypt(sent[25]!.bytes)), 'a 25');
    assert.throws(() => bob.decrypt(sent[15]!.bytes), refusedWith('duplicate'));
    assert.equal(dec(alice.decrypt(bob.encrypt(enc('reply')))), 'reply');
  });

  it("a new chain whose previous one would skip beyond MAX_SKIP fails with 'too_many_skipped'", () => {
    const { alice, bob } = pair(10);
    bob.decrypt(alice.encrypt(enc('hello')));
    send(alice, 12, 'never delivered');
    alice.decrypt(bob.encrypt(enc('reply')));
    const after = send(alice, 1, 'new chain')[0]!;
    assert.throws(() => bob.decrypt(after.bytes), refusedWith('too_many_skipped'));
    assert.equal(dec(alice.decrypt(bob.encrypt(enc('still on the old chain')))), 'still on the old chain');
  });

  it("a tampered message fails with 'bad_mac' and changes nothing (the genuine one still decrypts)", () => {
    const { alice, bob } = pair();
    bob.decrypt(alice.encrypt(enc('hello')));
    alice.decrypt(bob.encrypt(enc('reply')));
    send(alice, 2, 'skipped');
    const genuine = alice.encrypt(enc('the one'));
    const header = decodeRatchetMessage(genuine);
    const atCiphertext = genuine.length - 32 - header.ciphertext.length;
    for (const at of [atCiphertext, genuine.length - 1, atCiphertext - 1, 5]) {
      const tampered = genuine.slice();
      tampered[at]! ^= 0x01;
      assert.throws(() => bob.decrypt(tampered), refusedWith('bad_mac'));
      assert.equal(bob.skippedCount, 0);
    }
    const renumbered = genuine.slice();
    renumbered[1 + 32 + 1]! = 0; // n 2 → 0: the header is authenticated too
    assert.throws(() => bob.decrypt(renumbered), refusedWith('bad_mac'));
    assert.equal(dec(bob.decrypt(genuine)), 'the one');
    assert.equal(bob.skippedCount, 2);
  });

  it('KDF_RK, KDF_CK and the message keys are HKDF and HMAC as the spec recommends (checked with node:crypto)', () => {
    const random = seededRandomSource(new SeededRandom(21));
    const [rk, dhOut, ck, mk] = [random(32), random(32), random(32), random(32)];
    const rkOut = Buffer.from(crypto.hkdfSync('sha256', dhOut, rk, 'chatlab-e2ee ratchet', 64));
    const step = kdfRk(rk, dhOut);
    assert.deepEqual(Buffer.from(step.rootKey), rkOut.subarray(0, 32));
    assert.deepEqual(Buffer.from(step.chainKey), rkOut.subarray(32));
    const chain = kdfCk(ck);
    assert.deepEqual(Buffer.from(chain.messageKey), crypto.createHmac('sha256', ck).update(Buffer.of(1)).digest());
    assert.deepEqual(Buffer.from(chain.chainKey), crypto.createHmac('sha256', ck).update(Buffer.of(2)).digest());
    const keys = Buffer.from(crypto.hkdfSync('sha256', mk, Buffer.alloc(32), 'chatlab-e2ee message keys', 80));
    const material = messageKeyMaterial(mk);
    assert.deepEqual(Buffer.concat([material.encKey, material.macKey, material.iv]), keys);
  });

  it("the initiator's first message, from fixed keys, opens with keys derived independently", () => {
    const sk = new Uint8Array(32).fill(1);
    const ad = new Uint8Array(66).fill(2);
    const bobPrivate = new Uint8Array(32).fill(3);
    const alicePrivate = new Uint8Array(32).fill(4);
    const bobPublic = rawPublicOf(privateFromRaw('X25519', bobPrivate));
    const alice = DoubleRatchet.initiator(sk, bobPublic, ad, new SkippedKeys(10), { maxSkip: 10, random: () => alicePrivate });
    const bytes = alice.encrypt(enc('fixed'));

    const shared = crypto.diffieHellman({
      privateKey: crypto.createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b656e04220420', 'hex'), alicePrivate]), format: 'der', type: 'pkcs8' }),
      publicKey: crypto.createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b656e032100', 'hex'), bobPublic]), format: 'der', type: 'spki' }),
    });
    const chainKey = Buffer.from(crypto.hkdfSync('sha256', shared, sk, 'chatlab-e2ee ratchet', 64)).subarray(32);
    const messageKey = crypto.createHmac('sha256', chainKey).update(Buffer.of(1)).digest();
    const keys = Buffer.from(crypto.hkdfSync('sha256', messageKey, Buffer.alloc(32), 'chatlab-e2ee message keys', 80));
    const m = decodeRatchetMessage(bytes);
    assert.deepEqual(m.header, { dh: rawPublicOf(privateFromRaw('X25519', alicePrivate)), pn: 0, n: 0 });
    const mac = crypto.createHmac('sha256', keys.subarray(32, 64)).update(ad).update(m.authenticated).digest();
    assert.deepEqual(Buffer.from(m.mac), mac);
    const d = crypto.createDecipheriv('aes-256-cbc', keys.subarray(0, 32), keys.subarray(64));
    assert.equal(Buffer.concat([d.update(m.ciphertext), d.final()]).toString(), 'fixed');
  });

  it('skipped keys are bounded per session and in total, oldest first', () => {
    const budget = new SkippedKeyBudget(15);
    const one = pair(10, budget);
    const two = pair(10, budget);
    const sentOne = send(one.alice, 11, 'one');
    one.bob.decrypt(sentOne[10]!.bytes);
    assert.equal(budget.size, 10);
    const sentTwo = send(two.alice, 11, 'two');
    two.bob.decrypt(sentTwo[10]!.bytes);
    assert.equal(budget.size, 15);
    assert.equal(one.bob.skippedCount, 5);
    assert.throws(() => one.bob.decrypt(sentOne[0]!.bytes), refusedWith('duplicate'));
    assert.equal(dec(one.bob.decrypt(sentOne[9]!.bytes)), 'one 9');
    assert.equal(dec(two.bob.decrypt(sentTwo[0]!.bytes)), 'two 0');
    assert.equal(budget.size, 13);
    one.bob.dispose();
    assert.equal(budget.size, 9);
  });
});
