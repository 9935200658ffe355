import assert from 'node:assert/strict';
import { SeededRandom } from '../../random/random.ts';
import type { LinkClass } from './calibration.ts';
import type { Dist } from './distribution.ts';
import { SimNetwork } from './sim-network.ts';

const k = (ms: number): Dist => ({ kind: 'constant', ms });
const links: Record<LinkClass, Dist> = { 'device-gateway': k(20), 'node-node': k(0.25), 'node-store': k(0.3), push: k(150) };
const network = (seed = 1) => new SimNetwork(links, new SeededRandom(seed), { resolutionMs: 0.1 });

describe('SimNetwork', () => {
  it('delays each hop by its link class, rounded up to the resolution', () => {
    const n = network();
    assert.equal(n.delay('device-gateway'), 20);
    assert.equal(n.delay('push'), 150);
    assert.ok(Math.abs(n.delay('node-node') - 0.3) < 1e-9, 'a 0.25 ms hop takes 0.3 ms at 0.1 ms resolution');
    assert.equal(n.round(0.01), 0.1, 'no hop is shorter than one resolution step');
  });

  it('rounds a round trip once, not each leg', () => {
    const n = network();
    // Leaves at 0, served until 0.32, back over node-store (0.3): 0.62 in all, rounded to 0.7.
    assert.ok(Math.abs(n.arrival(0, 0.32, 'node-store') - 0.7) < 1e-9);
  });

  it('adds latency to a link class until reverted', () => {
    const n = network();
    const revert = n.addLatency('device-gateway', 200);
    assert.equal(n.delay('device-gateway'), 220);
    assert.equal(n.delay('push'), 150, 'other classes are untouched');
    revert();
    assert.equal(n.delay('device-gateway'), 20);
    assert.throws(() => n.addLatency('push', -1), RangeError);
  });

  it('loses about the share set on a class, the same hops for the same seed, and none once reverted', () => {
    const draws = (seed: number) => {
      const n = network(seed);
      const revert = n.setLoss('node-node', 0.3);
      const lost = Array.from({ length: 2000 }, () => n.lost('node-node'));
      revert();
      return { lost, after: Array.from({ length: 100 }, () => n.lost('node-node')), other: n.lost('node-store') };
    };
    const a = draws(7);
    const share = a.lost.filter(Boolean).length / a.lost.length;
    assert.ok(share > 0.25 && share < 0.35, `lost ${share}`);
    assert.deepEqual(draws(7).lost, a.lost);
    assert.ok(a.after.every((l) => !l));
    assert.equal(a.other, false);
    assert.throws(() => network().setLoss('push', 1.5), RangeError);
  });

  it('cuts a pair both ways until healed, and nested cuts heal only when all are reverted', () => {
    const n = network();
    const heal1 = n.partition('node-2', 'redis');
    assert.ok(n.blocked('node-2', 'redis') && n.blocked('redis', 'node-2'));
    assert.ok(!n.blocked('node-1', 'redis'), 'other pairs stay connected');
    const heal2 = n.partition('redis', 'node-2');
    heal1();
    heal1();
    assert.ok(n.blocked('node-2', 'redis'), 'still cut by the second partition (a revert counts once)');
    heal2();
    assert.ok(!n.blocked('node-2', 'redis'));
  });
});
