import assert from 'node:assert/strict';
import { SeededRandom } from '../../../system/random/random.ts';
import { E2eeError, type FetchedBundleData, type PublishedBundleData } from './contract.ts';
import { createDeviceCrypto, E2eeDeviceCrypto } from './device-crypto.ts';
import { fromB64, seededRandomSource } from './primitives.ts';
import { MessageType } from './wire.ts';

const refusedWith = (reason: string) => (err: unknown) => err instanceof E2eeError && err.reason === reason;

/** What the key service hands out for `device`: the bundle with its `otk`-th one-time pre-key, if any. */
function fetched(device: string, bundle: PublishedBundleData, otk: number | undefined = 0): FetchedBundleData {
  const oneTimePreKey = otk === undefined ? undefined : bundle.oneTimePreKeys[otk];
  return { device, identityKey: bundle.identityKey, signedPreKey: bundle.signedPreKey, ...(oneTimePreKey ? { oneTimePreKey } : {}) };
}

const typeOf = (ciphertext: string) => fromB64(ciphertext)[0];

/** alice.1 and bob.1 with a session Alice started from Bob's bundle and Bob has taken up. */
function connected() {
  const alice = createDeviceCrypto();
  const bob = createDeviceCrypto();
  alice.startSession('bob.1', fetched('bob.1', bob.bundle(2)));
  bob.decrypt('alice.1', alice.encrypt('bob.1', 'hello'));
  return { alice, bob };
}

describe('e2ee DeviceCrypto', () => {
  it('two devices via bundles: pre-key messages until the first reply, then ratchet messages, both ways', () => {
    const alice = createDeviceCrypto();
    const bob = createDeviceCrypto();
    const bundle = bob.bundle(5);
    assert.equal(bundle.oneTimePreKeys.length, 5);
    assert.deepEqual(alice.startSession('bob.1', fetched('bob.1', bundle)), { identityChanged: false, usedOneTimePreKey: true });
    assert.ok(alice.hasSession('bob.1'));

    const early = [alice.encrypt('bob.1', 'one'), alice.encrypt('bob.1', 'two'), alice.encrypt('bob.1', 'three')];
    for (const c of early) assert.equal(typeOf(c), MessageType.preKey);
    // Any of them may arrive first; only the first starts the session.
    const first = bob.decrypt('alice.1', early[2]!);
    assert.deepEqual(first, { plaintext: 'three', startedSession: true, identityChanged: false, usedOneTimePreKey: bundle.oneTimePreKeys[0]!.id });
    assert.deepEqual(bob.decrypt('alice.1', early[0]!), { plaintext: 'one', startedSession: false, identityChanged: false });
    assert.equal(bob.decrypt('alice.1', early[1]!).plaintext, 'two');

    const reply = bob.encrypt('alice.1', 'hi alice');
    assert.equal(typeOf(reply), MessageType.ratchet);
    assert.equal(alice.decrypt('bob.1', reply).plaintext, 'hi alice');
    for (let i = 0; i < 10; i++) {
      const c = alice.encrypt('bob.1', `a${i} ✓`);
      assert.equal(typeOf(c), MessageType.ratchet);
      assert.equal(bob.decrypt('alice.1', c).plaintext, `a${i} ✓`);
      assert.equal(alice.decrypt('bob.1', bob.encrypt('alice.1', `b${i}`)).plaintext, `b${i}`);
    }
  });

  it('the one-time pre-key is deleted once used: a replay is a duplicate, and after forget it is unknown', () => {
    const alice = createDeviceCrypto();
    const bob = createDeviceCrypto();
    const bundle = bob.bundle(3);
    const used = bundle.oneTimePreKeys[1]!.id;
    alice.startSession('bob.1', fetched('bob.1', bundle, 1));
    const message = alice.encrypt('bob.1', 'once');
    assert.equal(bob.decrypt('alice.1', message).usedOneTimePreKey, used);
    assert.equal(bob.stats().oneTimePreKeys, 2);
    assert.ok(!bob.bundle(0).oneTimePreKeys.some((k) => k.id === used));
    assert.throws(() => bob.decrypt('alice.1', message), refusedWith('duplicate'));
    bob.forget('alice.1');
    assert.ok(!bob.hasSession('alice.1'));
    assert.throws(() => bob.decrypt('alice.1', message), refusedWith('unknown_pre_key'));
    assert.ok(!bob.hasSession('alice.1'));
  });

  it('a session from a bundle without a one-time pre-key works', () => {
    const alice = createDeviceCrypto();
    const bob = createDeviceCrypto();
    assert.deepEqual(alice.startSession('bob.1', fetched('bob.1', bob.bundle(0), undefined)), { identityChanged: false, usedOneTimePreKey: false });
    assert.deepEqual(bob.decrypt('alice.1', alice.encrypt('bob.1', 'no otk')), { plaintext: 'no otk', startedSession: true, identityChanged: false });
    assert.equal(alice.decrypt('bob.1', bob.encrypt('alice.1', 'fine')).plaintext, 'fine');
  });

  it('a bundle with a bad signature is refused and changes nothing', () => {
    const alice = createDeviceCrypto();
    const bob = createDeviceCrypto();
    const mallory = createDeviceCrypto();
    const forged = { ...fetched('bob.1', bob.bundle(1)), identityKey: mallory.identityKey };
    assert.throws(() => alice.startSession('bob.1', forged), refusedWith('bad_signature'));
    assert.ok(!alice.hasSession('bob.1'));
    const pair = connected();
    assert.throws(() => pair.alice.startSession('bob.1', { ...forged, signedPreKey: pair.bob.bundle(0).signedPreKey }), refusedWith('bad_signature'));
    assert.equal(pair.alice.decrypt('bob.1', pair.bob.encrypt('alice.1', 'the session stands')).plaintext, 'the session stands');
  });

  it('a reinstalled remote: startSession reports identityChanged and the new session works', () => {
    const { alice, bob } = connected();
    const reinstalled = createDeviceCrypto();
    assert.notEqual(reinstalled.identityKey, bob.identityKey);
    assert.deepEqual(alice.startSession('bob.1', fetched('bob.1', reinstalled.bundle(1))), { identityChanged: true, usedOneTimePreKey: true });
    const got = reinstalled.decrypt('alice.1', alice.encrypt('bob.1', 'hello again'));
    assert.equal(got.plaintext, 'hello again');
    assert.equal(alice.decrypt('bob.1', reinstalled.encrypt('alice.1', 'back')).plaintext, 'back');
    // The old device's session is gone with its identity.
    assert.throws(() => alice.decrypt('bob.1', bob.encrypt('alice.1', 'old')), refusedWith('bad_mac'));
    // Same identity again: no change.
    assert.equal(alice.startSession('bob.1', fetched('bob.1', reinstalled.bundle(1))).identityChanged, false);
  });

  it('a pre-key message from a new identity reports identityChanged', () => {
    const { bob } = connected();
    const reinstalled = createDeviceCrypto();
    const bundle = bob.bundle(2);
    reinstalled.startSession('bob.1', fetched('bob.1', bundle));
    const got = bob.decrypt('alice.1', reinstalled.encrypt('bob.1', 'new phone'));
    assert.deepEqual(got, { plaintext: 'new phone', startedSession: true, identityChanged: true, usedOneTimePreKey: bundle.oneTimePreKeys[0]!.id });
    assert.equal(reinstalled.decrypt('bob.1', bob.encrypt('alice.1', 'welcome')).plaintext, 'welcome');
  });

  it('the previous signed pre-key still answers after one rotation, not after two', () => {
    const alice = createDeviceCrypto();
    const carol = createDeviceCrypto();
    const bob = createDeviceCrypto();
    const old = bob.bundle(0);
    bob.rotateSignedPreKey();
    assert.notEqual(bob.bundle(0).signedPreKey.id, old.signedPreKey.id);
    alice.startSession('bob.1', fetched('bob.1', old, undefined));
    assert.equal(bob.decrypt('alice.1', alice.encrypt('bob.1', 'still fine')).plaintext, 'still fine');
    bob.rotateSignedPreKey();
    carol.startSession('bob.1', fetched('bob.1', old, undefined));
    assert.throws(() => bob.decrypt('carol.1', carol.encrypt('bob.1', 'too late')), refusedWith('unknown_pre_key'));
  });

  it('two devices that start sessions with each other at once converge on one (Sesame)', () => {
    const alice = createDeviceCrypto();
    const bob = createDeviceCrypto();
    alice.startSession('bob.1', fetched('bob.1', bob.bundle(1)));
    bob.startSession('alice.1', fetched('alice.1', alice.bundle(1)));
    const fromAlice = alice.encrypt('bob.1', 'from alice');
    const fromBob = bob.encrypt('alice.1', 'from bob');
    assert.equal(bob.decrypt('alice.1', fromAlice).plaintext, 'from alice');
    assert.equal(alice.decrypt('bob.1', fromBob).plaintext, 'from bob');
    for (let i = 0; i < 4; i++) {
      assert.equal(bob.decrypt('alice.1', alice.encrypt('bob.1', `a${i}`)).plaintext, `a${i}`);
      assert.equal(alice.decrypt('bob.1', bob.encrypt('alice.1', `b${i}`)).plaintext, `b${i}`);
    }
    assert.equal(typeOf(alice.encrypt('bob.1', 'settled')), MessageType.ratchet);
  });

  it("refusals: no session, garbage, a sender key that was never distributed", () => {
    assert.throws(() => createDeviceCrypto().encrypt('bob.1', 'x'), refusedWith('no_session'));
    const { alice, bob } = connected();
    const ratchetMessage = bob.encrypt('alice.1', 'to alice');
    assert.throws(() => createDeviceCrypto().decrypt('bob.1', ratchetMessage), refusedWith('no_session'));
    assert.throws(() => alice.decrypt('bob.1', 'not+base64'), refusedWith('malformed'));
    assert.throws(() => alice.decrypt('bob.1', 'AAAA'), refusedWith('malformed'));
    assert.throws(() => alice.decrypt('bob.1', ratchetMessage.slice(0, 40)), refusedWith('malformed'));
    assert.throws(() => alice.groupDecrypt('bob.1', 'g', bob.groupEncrypt('g', 'x')), refusedWith('no_sender_key'));
    assert.equal(alice.decrypt('bob.1', ratchetMessage).plaintext, 'to alice');
  });

  describe('bounded memory', () => {
    it('the one-time pre-key stock: at most 100 per bundle, ids distinct and 24-bit, only fresh ones published', () => {
      const bob = createDeviceCrypto();
      const full = bob.bundle(150);
      assert.equal(full.oneTimePreKeys.length, 100);
      const ids = full.oneTimePreKeys.map((k) => k.id);
      assert.equal(new Set([...ids, full.signedPreKey.id]).size, 101);
      for (const id of ids) assert.ok(Number.isInteger(id) && id >= 0 && id < 2 ** 24);
      // A publish replaces the server's stock: a key once published (maybe handed out) is never published again.
      const next = bob.bundle(10).oneTimePreKeys.map((k) => k.id);
      assert.equal(next.length, 10);
      assert.ok(!next.some((id) => ids.includes(id)));
      assert.equal(createDeviceCrypto({ maxOneTimePreKeys: 20 }).bundle(100).oneTimePreKeys.length, 20);
    });

    it('a key of an earlier stock still opens its session after a replenishment', () => {
      const alice = createDeviceCrypto();
      const bob = createDeviceCrypto();
      const first = bob.bundle(3);
      bob.bundle(3);
      alice.startSession('bob.1', fetched('bob.1', first));
      const d = bob.decrypt('alice.1', alice.encrypt('bob.1', 'x'));
      assert.equal(d.plaintext, 'x');
      assert.equal(d.usedOneTimePreKey, first.oneTimePreKeys[0]!.id);
    });

    it('skipped message keys: per session and in total', () => {
      const bob = createDeviceCrypto({ maxSkipped: 50, maxSkippedTotal: 120 });
      const senders = ['a', 'b', 'c'].map((u) => ({ id: `${u}.1`, crypto: createDeviceCrypto() }));
      for (const s of senders) {
        s.crypto.startSession('bob.1', fetched('bob.1', bob.bundle(3)));
        for (let i = 0; i < 50; i++) s.crypto.encrypt('bob.1', 'lost');
        bob.decrypt(s.id, s.crypto.encrypt('bob.1', 'arrives'));
      }
      assert.equal(bob.stats().skippedKeys, 120);
      bob.forget('c.1');
      assert.equal(bob.stats().skippedKeys, 70);
    });
  });

  it('a seeded random source makes a device reproducible', () => {
    const a = new E2eeDeviceCrypto({ random: seededRandomSource(new SeededRandom(99)) });
    const b = new E2eeDeviceCrypto({ random: seededRandomSource(new SeededRandom(99)) });
    assert.equal(a.identityKey, b.identityKey);
    assert.deepEqual(a.bundle(3), b.bundle(3));
  });
});
