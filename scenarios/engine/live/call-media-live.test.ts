import assert from 'node:assert/strict';
import { UdpLossProxy } from '../../../system/worlds/infra/udp-loss-proxy.ts';
import { RelayStandin } from '../../../system/calls/relay-standin.ts';
import { mintTurnCredentials } from '../../../system/calls/turn-credentials.ts';
import { parseEndpoint, turnServer } from './call-media-live.ts';
import { assertAllArrived, callMediaRelaySuite, openLeg, planeWithStats, runCall, sleep } from './call-media-relay.suite.ts';

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
      assertAllArrived(leg, peer);
      assert.equal(leg.relayedBytes, 0);
      assert.ok(leg.jitterMs < 10);
    }
    assert.equal(relayBytes(), 0);
  });

  it("goes silent once when the peer stops sending; the peer's bye says how many it sent", async () => {
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

  it('counts what a relay link outage swallowed as lost once media flows again (a proxy stopped for 600 ms)', async () => {
    const relay = await RelayStandin.start({ secret: 's' });
    const proxy = await UdpLossProxy.start({ target: `127.0.0.1:${relay.port}` });
    try {
      const { plane } = planeWithStats();
      const viaProxy = { ...mintTurnCredentials({ secret: 's', urls: [proxy.turnUrl], ttlS: 60 }, 'u', Date.now()) };
      const port = proxy.port;
      const { a, b, silentA, silentB } = await runCall(plane, { a: viaProxy }, {
        ms: 2400, silenceMs: 300,
        during: async () => {
          await proxy.stop();
          await sleep(600);
          await proxy.start();
        },
      });
      assert.equal(proxy.port, port, 'back on the same port');
      assert.equal(silentA && silentB, true, 'both legs noticed the outage');
      for (const [leg, peer] of [[a, b], [b, a]] as const) {
        assert.ok(leg.lost >= 20 && leg.lost <= 45, `lost ${leg.lost} of ${peer.sent} (600 ms at 50 packets/s)`);
        assert.ok(peer.sent - leg.received - leg.lost <= 2, 'the rest arrived after the outage');
      }
    } finally {
      await proxy.close();
      await relay.stop();
    }
  });

  it('sends nothing to a malformed peer endpoint and goes silent', async () => {
    const { plane } = planeWithStats();
    await openLeg(plane, 'a', 'c', undefined);
    let silent = false;
    plane.start('a', 'c', 'not-an-endpoint', 'audio', 100, () => (silent = true));
    await sleep(300);
    assert.equal(silent, true);
    assert.deepEqual(plane.close('a', 'c'), { sent: 0, received: 0, lost: 0, jitterMs: 0, relayedBytes: 0 });
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
