import assert from 'node:assert/strict';
import { RelayStandin } from '../../../system/calls/relay-standin.ts';
import { mintTurnCredentials } from '../../../system/calls/turn-credentials.ts';
import { parseEndpoint, turnServer } from './call-media-live.ts';
import { callMediaRelaySuite, openLeg, planeWithStats, runCall, sleep } from './call-media-relay.suite.ts';

callMediaRelaySuite("the embedded world's stand-in relay", async () => {
  const relay = await RelayStandin.start({ secret: 'standin-secret' });
  return { secret: relay.secret, urls: relay.urls, address: `127.0.0.1:${relay.port}`, kill: () => relay.stop(), stop: () => relay.stop() };
});

describe('LiveCallMedia', () => {
  it('runs a direct call over UDP on loopback: every packet counted, nothing relayed', async () => {
    const { plane, relayBytes } = planeWithStats();
    const { a, b } = await runCall(plane, {}, { ms: 1500 });
    for (const [leg, peer] of [[a, b], [b, a]] as const) {
      assert.ok(leg.sent >= 60, `sent ${leg.sent}`);
      assert.equal(leg.received, peer.sent);
      assert.equal(leg.lost, 0);
      assert.equal(leg.relayedBytes, 0);
      assert.ok(leg.jitterMs < 10);
    }
    assert.equal(relayBytes(), 0);
  });

  it('goes silent once when the peer stops sending, and counts the tail it never got as lost only when told', async () => {
    const { plane } = planeWithStats();
    const [ea, eb] = await Promise.all([openLeg(plane, 'a', 'c', undefined), openLeg(plane, 'b', 'c', undefined)]);
    let silences = 0;
    plane.start('a', 'c', eb, 'audio', 300, () => silences++);
    plane.start('b', 'c', ea, 'audio', 300, () => {});
    await sleep(500);
    const b = plane.close('b', 'c')!; // b's bye tells a how many it sent
    await sleep(800);
    const a = plane.close('a', 'c')!;
    assert.equal(silences, 1);
    assert.equal(a.received, b.sent);
    assert.equal(a.lost, 0);
  });

  it('closes a leg that is still opening: no figures, the allocation released when it comes', async () => {
    const relay = await RelayStandin.start({ secret: 's' });
    try {
      const { plane, open } = planeWithStats();
      let answered = false;
      plane.open('a', 'c', mintTurnCredentials({ secret: 's', urls: relay.urls, ttlS: 60 }, 'u', Date.now()), () => (answered = true));
      assert.equal(plane.close('a', 'c'), undefined);
      await sleep(400);
      assert.equal(answered, false, 'nobody waits for a leg closed while opening');
      assert.equal(open(), 0);
      assert.equal(relay.stats.allocations, 0, 'released on the relay');
      assert.equal(plane.close('nobody', 'c'), undefined);
    } finally {
      await relay.stop();
    }
  });

  it('starts a leg given its peer before its own allocation is done', async () => {
    const relay = await RelayStandin.start({ secret: 's' });
    try {
      const { plane } = planeWithStats();
      const eb = await openLeg(plane, 'b', 'c', undefined);
      let ea = '';
      plane.open('a', 'c', mintTurnCredentials({ secret: 's', urls: relay.urls, ttlS: 60 }, 'u', Date.now()), (e) => (ea = e!));
      plane.start('a', 'c', eb, 'audio', 5000, () => {});
      while (!ea) await sleep(5);
      plane.start('b', 'c', ea, 'audio', 5000, () => {});
      await sleep(600);
      const a = plane.close('a', 'c')!;
      const b = plane.close('b', 'c')!;
      assert.ok(a.received > 10 && b.received > 10);
    } finally {
      await relay.stop();
    }
  });

  it('reads TURN URLs and endpoints', () => {
    assert.deepEqual(turnServer(['turns:relay:5349?transport=tcp', 'turn:127.0.0.1:3478?transport=udp']), ['127.0.0.1', 3478]);
    assert.deepEqual(turnServer(['turn:relay.example']), ['relay.example', 3478]);
    assert.deepEqual(turnServer(['turn:[::1]:3480']), ['::1', 3480]);
    assert.equal(turnServer(['turn:127.0.0.1:3478?transport=tcp']), undefined);
    assert.deepEqual(parseEndpoint('127.0.0.1:5000'), ['127.0.0.1', 5000]);
    assert.equal(parseEndpoint('127.0.0.1'), undefined);
    assert.equal(parseEndpoint('127.0.0.1:70000'), undefined);
  });
});
