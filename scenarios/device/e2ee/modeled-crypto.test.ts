import assert from 'node:assert/strict';
import type { DeviceId } from '../../../system/protocol/ids.ts';
import { DEFAULT_E2EE_COST } from '../../../system/worlds/sim/e2ee-cost.ts';
import { ModeledCrypto, type ModeledClock } from './modeled-crypto.ts';

describe('ModeledCrypto (the sim\'s devices\' crypto: the protocol\'s shape at the measured cost)', () => {
  const cost = DEFAULT_E2EE_COST;
  const pair = () => {
    const clocks = { alice: { spentMs: 0 } as ModeledClock, bob: { spentMs: 0 } as ModeledClock };
    const alice = new ModeledCrypto(cost, clocks.alice, 1);
    const bob = new ModeledCrypto(cost, clocks.bob, 2);
    const bundle = bob.bundle(1);
    const start = () => alice.startSession('bob.1' as DeviceId, { device: 'bob.1' as DeviceId, identityKey: bundle.identityKey, signedPreKey: bundle.signedPreKey, oneTimePreKey: bundle.oneTimePreKeys[0] });
    return { alice, bob, clocks, start };
  };
  const spent = (clock: ModeledClock, f: () => void) => {
    const before = clock.spentMs;
    f();
    return Math.round((clock.spentMs - before) * 1000);
  };

  it('starts the responder\'s session from a pre-key message once: the next pre-key messages of that session are its next messages, as the real crypto reads them', () => {
    const { alice, bob, clocks, start } = pair();
    start();
    const first = alice.encrypt('bob.1' as DeviceId, 'hello');
    const second = alice.encrypt('bob.1' as DeviceId, 'again');
    assert.equal(second.length, first.length);
    assert.ok(first.startsWith('P') && second.startsWith('P'), 'no reply yet: both are pre-key messages');
    let d = bob.decrypt('alice.1' as DeviceId, first);
    assert.equal(d.startedSession, true);
    const length = d.plaintext.length;
    assert.equal(spent(clocks.bob, () => (d = bob.decrypt('alice.1' as DeviceId, second))), cost.decryptUs, 'the session\'s next message: a decryption, no X3DH');
    assert.equal(d.startedSession, false, 'not another session: it is not counted as one accepted');
    assert.equal(d.usedOneTimePreKey, undefined, 'no one-time pre-key used (none counted toward the stock)');
    assert.equal(d.plaintext.length, length, 'read the same as the first');
  });

  it('starts another session from a pre-key message of a new base key (the initiator started again), and costs X3DH for it', () => {
    const { alice, bob, clocks, start } = pair();
    start();
    bob.decrypt('alice.1' as DeviceId, alice.encrypt('bob.1' as DeviceId, 'hello'));
    alice.forget('bob.1' as DeviceId);
    start();
    const again = alice.encrypt('bob.1' as DeviceId, 'hello');
    let d: ReturnType<ModeledCrypto['decrypt']> | undefined;
    assert.equal(spent(clocks.bob, () => (d = bob.decrypt('alice.1' as DeviceId, again))), cost.decryptUs + cost.sessionAcceptUs);
    assert.equal(d!.startedSession, true);
  });

  it('stops sending pre-key messages once a reply comes, and keeps a pre-key message\'s size', () => {
    const { alice, bob, start } = pair();
    start();
    const first = alice.encrypt('bob.1' as DeviceId, 'x'.repeat(40));
    assert.equal(first.length, 1 + 43 + cost.preKeyMessageOverheadBytes + 40 + (((1 + 43 + cost.preKeyMessageOverheadBytes + 40) % 4 === 1) ? 1 : 0), 'the base key sits inside the measured overhead');
    bob.decrypt('alice.1' as DeviceId, first);
    const reply = bob.encrypt('alice.1' as DeviceId, 'hi');
    assert.ok(reply.startsWith('M'), 'the responder\'s session is confirmed');
    assert.equal(alice.decrypt('bob.1' as DeviceId, reply).startedSession, false);
    assert.ok(alice.encrypt('bob.1' as DeviceId, 'and now').startsWith('M'), 'a reply came: ordinary messages');
  });
});
