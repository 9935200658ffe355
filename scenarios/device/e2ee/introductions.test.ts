import assert from 'node:assert/strict';
import { VirtualClock } from '../../../system/clock/clock-virtual.ts';
import type { ClientFrame } from '../../../system/protocol/frames.ts';
import type { DeviceCrypto } from './contract.ts';
import { E2eeStats } from './e2ee-stats.ts';
import { HELLO, HELLO_BACK, Introductions } from './introductions.ts';

type Introduce = Extract<ClientFrame, { t: 'keys.introduce' }>;

/** A device `alice.2` whose sessions are `sessions`, with a crypto whose ciphertext says what it was. */
function setup(devices: Record<string, string[]>, sessions: string[]) {
  const clock = new VirtualClock();
  const written: Introduce[] = [];
  let online = true;
  let settledCalls = 0;
  const crypto = {
    hasSession: (d: string) => sessions.includes(d),
    encrypt: (d: string, plaintext: string) => `${d}:${plaintext}`,
  } as unknown as DeviceCrypto;
  const stats = new E2eeStats();
  const intros = new Introductions({
    link: { id: 'alice.2', clock, online: () => online, write: (f) => written.push(f as Introduce) },
    stats,
    crypto: () => crypto,
    devicesOfUser: (u) => devices[u],
    settled: () => settledCalls++,
  });
  const take = () => written.splice(0);
  return { clock, intros, take, stats, setOnline: (v: boolean) => (online = v), settledCalls: () => settledCalls };
}

describe('Introductions (keys.introduce)', () => {
  it('introduces the device to the devices of the users named, its own user\'s only above its id, once their devices are known, and waits for each answer', () => {
    const devices: Record<string, string[]> = { alice: ['alice.1', 'alice.3'] };
    const t = setup(devices, ['alice.1', 'alice.3', 'bob.1', 'bob.2']);
    t.intros.plan(['bob', 'alice']);
    assert.deepEqual(t.take().map((f) => Object.keys(f.bodies)), [['alice.3']], 'bob\'s devices are not known yet');
    devices.bob = ['bob.1', 'bob.2', 'bob.3'];
    t.intros.advance();
    const [f] = t.take();
    assert.deepEqual(f!.bodies, { 'bob.1': `bob.1:${HELLO}`, 'bob.2': `bob.2:${HELLO}` }, 'bob.3 published no bundle: no session, nothing to introduce');
    assert.equal(t.stats.counts.introductions, 3);
    assert.ok(t.intros.settling);
    assert.ok(t.intros.onIntroduced(f!.cid, ['bob.2']), 'its own answer');
    assert.equal(t.intros.onIntroduced('sk-1', []), false, 'a distribution\'s answer is not its business');
    t.intros.received('bob.1', HELLO_BACK);
    assert.ok(t.intros.settling, 'alice.3 has not answered');
    t.intros.received('alice.3', HELLO_BACK);
    assert.ok(t.intros.settling, 'the first frame is not answered yet');
  });

  it('answers an introduction on its session, several in one frame, and is settled once the answers are stored', () => {
    const t = setup({}, ['carol.1', 'dave.1']);
    t.intros.received('carol.1', HELLO);
    t.intros.received('dave.1', HELLO);
    assert.equal(t.take().length, 0, 'answers wait a moment to go together');
    t.clock.advance(20);
    const [f, more] = t.take();
    assert.equal(more, undefined);
    assert.deepEqual(f!.bodies, { 'carol.1': `carol.1:${HELLO_BACK}`, 'dave.1': `dave.1:${HELLO_BACK}` });
    assert.equal(t.stats.counts.introductions, 0, 'answers are not introductions');
    assert.ok(t.intros.settling);
    t.intros.onIntroduced(f!.cid, []);
    assert.equal(t.intros.settling, false);
  });

  it('sends a refused frame again after the wait asked, freshly encrypted, and a frame lost with its connection after the next welcome', () => {
    const t = setup({ bob: ['bob.1'] }, ['bob.1']);
    t.intros.plan(['bob']);
    const [first] = t.take();
    assert.ok(t.intros.onError(first!.cid, 300));
    t.clock.advance(200);
    assert.equal(t.take().length, 0, 'not before retryAfterMs');
    t.clock.advance(150);
    const [again] = t.take();
    assert.deepEqual(Object.keys(again!.bodies), ['bob.1']);
    assert.notEqual(again!.cid, first!.cid);
    t.setOnline(false);
    t.intros.onDisconnected();
    t.setOnline(true);
    t.intros.advance();
    assert.deepEqual(t.take().map((f) => Object.keys(f.bodies)), [['bob.1']]);
  });

  it('stops waiting for a device that does not answer within 10 s and tells its host', () => {
    const t = setup({ bob: ['bob.1'] }, ['bob.1']);
    t.intros.plan(['bob']);
    const [f] = t.take();
    t.intros.onIntroduced(f!.cid, []);
    assert.ok(t.intros.settling, 'bob.1 is offline: its introduction waits in its inbox');
    t.clock.advance(9_000);
    assert.ok(t.intros.settling);
    t.clock.advance(2_000);
    assert.equal(t.intros.settling, false);
    assert.equal(t.settledCalls(), 1);
  });
});
