import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { UdpLossProxy } from '../../../system/worlds/infra/udp-loss-proxy.ts';
import { mintTurnCredentials, type TurnConfig } from '../../../system/calls/turn-credentials.ts';
import type { CallMedia, TurnCredentials } from '../../../system/protocol/frames.ts';
import type { LegFigures } from '../../device/call-media.ts';
import { LiveCallMedia, type LiveCallMediaOptions } from './call-media-live.ts';

/** A TURN relay the suite runs against: coturn, or the embedded world's stand-in. */
export interface RelayUnderTest {
  secret: string;
  urls: string[];
  /** `host:port` of its listening port (for a proxy in front of it). */
  address: string;
  /** The relay dies: every allocation with it. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

/** A plane whose relay figures are summed for the test. */
export function planeWithStats(opts: LiveCallMediaOptions = {}): { plane: LiveCallMedia; open: () => number; relayBytes: () => number } {
  let open = 0;
  let bytes = 0;
  const plane = new LiveCallMedia({ ...opts, stats: { allocation: (o) => (open += o ? 1 : -1), relayBytes: (n) => (bytes += n) } });
  return { plane, open: () => open, relayBytes: () => bytes };
}

/** Opens `device`'s leg of `call`; resolves to its endpoint, or rejects with the error code. */
export function openLeg(plane: LiveCallMedia, device: string, call: string, relay: TurnCredentials | undefined): Promise<string> {
  return new Promise((resolve, reject) => plane.open(device, call, relay, (endpoint, error) => (endpoint ? resolve(endpoint) : reject(new Error(error)))));
}

/** The error code an open fails with, and how long it took, ms. */
export async function openFailure(plane: LiveCallMedia, relay: TurnCredentials | undefined): Promise<{ code: string; ms: number }> {
  const t = performance.now();
  const outcome = await openLeg(plane, 'x', `fail-${Math.random()}`, relay).then(() => 'opened', (e: Error) => e.message);
  return { code: outcome, ms: performance.now() - t };
}

export interface CallOutcome {
  a: LegFigures;
  b: LegFigures;
  silentA: boolean;
  silentB: boolean;
}

/**
 * Runs one two-leg call for `ms`: each leg relayed when given credentials,
 * direct otherwise; `during` runs halfway (a fault). Resolves to both
 * legs' figures and whether each went silent.
 */
export async function runCall(
  plane: LiveCallMedia,
  relays: { a?: TurnCredentials; b?: TurnCredentials },
  o: { ms: number; media?: CallMedia; silenceMs?: number; call?: string; during?: () => Promise<void> },
): Promise<CallOutcome> {
  const call = o.call ?? `call-${Math.random().toString(36).slice(2)}`;
  const [ea, eb] = await Promise.all([openLeg(plane, 'a', call, relays.a), openLeg(plane, 'b', call, relays.b)]);
  const silent = { a: false, b: false };
  plane.start('b', call, ea, o.media ?? 'audio', o.silenceMs ?? 5000, () => (silent.b = true));
  plane.start('a', call, eb, o.media ?? 'audio', o.silenceMs ?? 5000, () => (silent.a = true));
  await sleep(o.ms / 2);
  await o.during?.();
  await sleep(o.ms / 2);
  const a = plane.close('a', call)!;
  const b = plane.close('b', call)!;
  return { a, b, silentA: silent.a, silentB: silent.b };
}

/**
 * Every packet the peer sent arrived, but for what was in flight when both
 * legs closed at once (neither received nor known to be lost: the packets
 * after it did not arrive to tell).
 */
export function assertAllArrived(leg: LegFigures, peer: LegFigures): void {
  assert.ok(leg.received <= peer.sent && peer.sent - leg.received <= 2, `received ${leg.received} of ${peer.sent}`);
  assert.equal(leg.lost, 0);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A loopback UDP port nobody answers on (bound, then closed). */
export async function deadUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/**
 * What every TURN relay the devices use must do with the live media plane:
 * check TURN REST credentials (refusing expired and forged ones fast),
 * relay media both ways between relayed legs and between a relayed and a
 * direct leg with nothing lost on loopback, carry loss injected on the
 * relay link into the figures, and — when it dies mid-call — leave both
 * legs silent.
 */
export function callMediaRelaySuite(name: string, startRelay: () => Promise<RelayUnderTest>): void {
  describe(`call media over a TURN relay: ${name}`, function () {
    this.timeout(60_000);
    let relay: RelayUnderTest;
    let cfg: TurnConfig;
    const creds = (user: string, at = Date.now()) => mintTurnCredentials(cfg, user, at);

    beforeEach(async () => {
      relay = await startRelay();
      cfg = { secret: relay.secret, urls: relay.urls, ttlS: 600 };
    });
    afterEach(async () => {
      await relay.stop();
    });

    it('allocates a relayed endpoint on loopback with valid credentials, and releases it at close', async () => {
      const { plane, open } = planeWithStats();
      const t = performance.now();
      const endpoint = await openLeg(plane, 'alice#1', 'c1', creds('alice'));
      const firstMs = performance.now() - t;
      const t2 = performance.now();
      await openLeg(plane, 'alice#2', 'c1', creds('alice'));
      const allocMs = performance.now() - t2;
      console.log(`      allocation ${allocMs.toFixed(1)} ms (first, werift loaded: ${firstMs.toFixed(1)} ms)`);
      assert.match(endpoint, /^127\.0\.0\.1:\d+$/);
      assert.equal(open(), 2);
      assert.deepEqual(plane.close('alice#1', 'c1'), { sent: 0, received: 0, lost: 0, jitterMs: 0, relayedBytes: 0 });
      plane.close('alice#2', 'c1');
      assert.equal(open(), 0);
      assert.ok(allocMs < 500, `allocation took ${allocMs.toFixed(0)} ms`);
    });

    it('refuses an expired username and a forged password with turn_refused, fast', async () => {
      const { plane, open } = planeWithStats();
      const expired = await openFailure(plane, creds('bob', Date.now() - 601_000));
      const forged = await openFailure(plane, { ...creds('bob'), credential: mintTurnCredentials({ ...cfg, secret: 'not-the-secret' }, 'bob', Date.now()).credential });
      const otherUser = creds('bob');
      const swapped = await openFailure(plane, { ...otherUser, username: otherUser.username.replace('bob', 'mallory') });
      assert.deepEqual([expired.code, forged.code, swapped.code], ['turn_refused', 'turn_refused', 'turn_refused']);
      for (const f of [expired, forged, swapped]) assert.ok(f.ms < 1500, `refused after ${f.ms.toFixed(0)} ms`);
      assert.equal(open(), 0);
    });

    it('fails no_relay without a turn: URL and turn_unreachable when nothing answers, within the bound', async () => {
      const { plane } = planeWithStats({ allocateTimeoutMs: 400 });
      assert.equal((await openFailure(plane, { ...creds('carol'), urls: [] })).code, 'no_relay');
      assert.equal((await openFailure(plane, { ...creds('carol'), urls: ['turns:127.0.0.1:5349?transport=tcp'] })).code, 'no_relay');
      const dead = await openFailure(plane, { ...creds('carol'), urls: [`turn:127.0.0.1:${await deadUdpPort()}?transport=udp`] });
      assert.equal(dead.code, 'turn_unreachable');
      assert.ok(dead.ms >= 350 && dead.ms < 1500, `gave up after ${dead.ms.toFixed(0)} ms`);
    });

    it('relays an audio call between two relayed legs: every packet counted on both ends', async () => {
      const { plane, relayBytes } = planeWithStats();
      const { a, b, silentA, silentB } = await runCall(plane, { a: creds('alice'), b: creds('bob') }, { ms: 2000 });
      console.log(`      relayed: a ${JSON.stringify(a)}\n      relayed: b ${JSON.stringify(b)}`);
      for (const [leg, peer] of [[a, b], [b, a]] as const) {
        assert.ok(leg.sent >= 80 && leg.sent <= 101, `sent ${leg.sent} packets in 2 s at one per 20 ms`);
        assertAllArrived(leg, peer);
        assert.ok(leg.jitterMs < 10, `jitter ${leg.jitterMs} ms`);
        assert.ok(leg.relayedBytes >= leg.sent * 80);
      }
      assert.equal(relayBytes(), a.relayedBytes + b.relayedBytes);
      assert.equal(silentA || silentB, false);
    });

    it('relays a mixed call: one relayed leg, one direct', async () => {
      const { plane } = planeWithStats();
      const { a, b } = await runCall(plane, { a: creds('alice') }, { ms: 1500, media: 'video' });
      for (const [leg, peer] of [[a, b], [b, a]] as const) {
        assert.ok(leg.sent >= 100, `sent ${leg.sent} video packets in 1.5 s`);
        assertAllArrived(leg, peer);
      }
      assert.ok(a.relayedBytes > 0);
      assert.equal(b.relayedBytes, 0, 'a direct leg relays nothing itself');
    });

    it('carries packet loss on the relay link into the figures (a lossy proxy dropping 20% each way)', async () => {
      const proxy = await UdpLossProxy.start({ target: relay.address, loss: 0.2, seed: 7 });
      try {
        const viaProxy = { ...creds('alice'), urls: [proxy.turnUrl] };
        // 200 packets a second each way (a 5 ms video codec): ~500 per direction keep the measured share within a few points of 20%.
        const { plane } = planeWithStats({ codecs: { audio: { bitsPerSecond: 32_000, packetMs: 20 }, video: { bitsPerSecond: 400_000, packetMs: 5 } } });
        // Alice relayed through the proxy, Bob direct: each direction crosses the lossy link once.
        const { a, b } = await runCall(plane, { a: viaProxy }, { ms: 2500, media: 'video' });
        console.log(`      20% loss: a ${JSON.stringify(a)}\n      20% loss: b ${JSON.stringify(b)}`);
        for (const [leg, peer] of [[a, b], [b, a]] as const) {
          const share = leg.lost / (leg.lost + leg.received);
          assert.ok(share > 0.12 && share < 0.28, `measured loss ${(share * 100).toFixed(1)}% of ${peer.sent}`);
          assert.ok(leg.received + leg.lost <= peer.sent + 1);
        }
        assert.ok(proxy.stats.up.dropped > 0 && proxy.stats.down.dropped > 0);
      } finally {
        await proxy.close();
      }
    });

    it('leaves both legs silent when the relay dies mid-call', async () => {
      const { plane } = planeWithStats();
      const t = performance.now();
      let diedAt = 0;
      const { a, b, silentA, silentB } = await runCall(plane, { a: creds('alice'), b: creds('bob') }, {
        ms: 2400, silenceMs: 500,
        during: async () => {
          await relay.kill();
          diedAt = performance.now() - t;
        },
      });
      assert.ok(diedAt > 0);
      assert.equal(silentA, true, 'alice noticed');
      assert.equal(silentB, true, 'bob noticed');
      assert.ok(a.received > 20 && b.received > 20, 'media flowed before');
      assert.ok(a.received < a.sent && b.received < b.sent, 'and stopped after');
    });
  });
}
