import assert from 'node:assert/strict';
import { CallStats, PHANTOM_GRACE_MS } from './call-stats.ts';
import { SimCalls } from './sim/sim-calls.ts';
import { VirtualClock } from '../../system/clock/clock-virtual.ts';

describe('CallStats', () => {
  it('judges phantom rings against what the caller learnt, across workers', () => {
    const caller = new CallStats();
    const callee = new CallStats();
    caller.asked();
    caller.settled('c1', 'bob', 1000);
    caller.outcome('alice.1', 'c1', 'answered', 'completed', 9000);
    // bob.1 answered (not judged); bob.2 heard it in time; bob.3 rang on long after (phantom).
    callee.ring('c1', 'bob', 'bob.1', 500, 1000, 'answered', 0);
    callee.ring('c1', 'bob', 'bob.2', 500, 1100, 'answered_elsewhere', 0);
    callee.ring('c1', 'bob', 'bob.3', 500, 1000 + PHANTOM_GRACE_MS + 1, 'deadline', 0);
    // An offer that came after its ring timeout.
    callee.ring('c2', 'bob', 'bob.1', 20_000, 20_000, 'deadline', 900);
    const merged = CallStats.merge([caller.toTransfer(), callee.toTransfer()]);
    const r = merged.report();
    assert.equal(r.violations.phantomRings, 1);
    assert.equal(r.violations.lateRings, 1);
    assert.equal(r.answered, 1);
    assert.equal(merged.open, 0);
  });

  it('counts relay allocations open at once and the busiest second of relayed bytes', () => {
    const s = new CallStats();
    s.allocation(0, true);
    s.allocation(10, true);
    s.allocation(20, false);
    s.allocation(30, true);
    s.allocation(40, true);
    s.relayed(1000, 500_000);
    s.relayed(1500, 750_000);
    s.relayed(2500, 100);
    const r = s.report();
    assert.equal(r.relay.allocationsPeak, 3);
    assert.equal(r.relay.peakMbps, 10);
  });
});

describe('SimCalls', () => {
  it('a relay over capacity loses exactly the excess share; direct legs lose nothing', async () => {
    const clock = new VirtualClock();
    const stats = new CallStats();
    // Two 1 Mbit/s relayed streams on a 1 Mbit/s relay: half of each is lost while both run.
    const plane = new SimCalls(clock, stats, { allocateMs: 10, relayBps: 1e6, relayJitterMs: 2, directJitterMs: 1 }, {
      audio: { bitsPerSecond: 1e6, packetMs: 10 }, video: { bitsPerSecond: 1e6, packetMs: 10 },
    });
    const turn = { urls: ['turn:sim'], username: 'x', credential: 'y', ttl: 600 };
    const eps: string[] = [];
    plane.open('a.1', 'c', turn, (ep) => eps.push(ep!));
    plane.open('b.1', 'c', turn, (ep) => eps.push(ep!));
    plane.open('d.1', 'c2', undefined, (ep) => eps.push(ep!));
    clock.advance(100);
    await new Promise((r) => setImmediate(r));
    assert.equal(eps.length, 3);
    plane.start('a.1', 'c', eps[1]!, 'audio', 3000, () => {});
    plane.start('b.1', 'c', eps[0]!, 'audio', 3000, () => {});
    plane.start('d.1', 'c2', 'sim:x', 'audio', 3000, () => {});
    clock.advance(10_000);
    const a = plane.close('a.1', 'c')!;
    const b = plane.close('b.1', 'c')!;
    const d = plane.close('d.1', 'c2')!;
    assert.equal(a.sent, 1000);
    assert.equal(a.lost, 500);
    assert.equal(b.lost, 500);
    assert.equal(d.lost, 0);
    assert.equal(a.relayedBytes, 1000 * 1250);
    assert.equal(d.relayedBytes, 0);
    assert.equal(stats.report().relay.allocationsPeak, 2);
  });
});
