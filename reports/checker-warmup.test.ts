import assert from 'node:assert/strict';
import { Ledger } from './ledger.ts';
import { check, type CheckOptions } from './checker.ts';

/** A 10 s run whose first 3 s are warm-up; a delivery slower than 500 ms is late. */
const OPTS: CheckOptions = { startMs: 0, endMs: 10_000, graceMs: 1000, lateMs: 500, warmupMs: 3000 };

/** msg intended and sent at `at`, acked `ackMs` later, owed to device 100 and delivered `latencyMs` after sending, or never (null). */
function message(l: Ledger, msg: number, at: number, latencyMs: number | null, ackMs = 1): void {
  l.send(msg, 1, at, at);
  l.ack(msg, at + ackMs);
  l.expect(msg, 100, 'direct');
  if (latencyMs !== null) l.deliver(msg, 100, at + latencyMs, 'direct');
}

/** Slow deliveries and acks in the warm-up, one message lost in it; the measured window runs at 2 ms. */
function history(): Ledger {
  const l = new Ledger();
  message(l, 0, 500, 2000, 900);
  message(l, 1, 1000, 1500, 900);
  message(l, 2, 2000, null); // lost in the warm-up
  for (let m = 3; m < 13; m++) message(l, m, 3000 + (m - 3) * 500, 2);
  return l;
}

describe('check with a warm-up', () => {
  it('leaves slow warm-up deliveries out of e2e latency, ack latency and late counts', () => {
    const r = check(history(), OPTS);
    assert.equal(r.latency.e2eMs.count, 10);
    assert.ok(r.latency.e2eMs.max < 3, `e2e max ${r.latency.e2eMs.max}`);
    assert.ok(r.latency.ackMs.max < 2, `ack max ${r.latency.ackMs.max}`);
    assert.equal(r.delivery.late, 0);
    assert.equal(r.paths.direct.late, 0);
    assert.equal(r.paths.direct.e2eMs.count, 10);
  });

  it('still counts a message lost in the warm-up as lost, and its sends as sent', () => {
    const r = check(history(), OPTS);
    assert.equal(r.delivery.lost, 1);
    assert.equal(r.delivery.expected, 13);
    assert.equal(r.delivery.firstLost?.msg, 2);
    assert.equal(r.messages.sent, 13);
  });

  it('judges thresholds on the measured window only, guarantees on the whole run', () => {
    const thresholds = { e2e_latency: ['p(99)<10'], ack_latency: ['max<10'], late: ['count==0'], lost: ['count==0'] };
    const r = check(history(), { ...OPTS, thresholds });
    const result = Object.fromEntries(r.thresholds.map((t) => [t.metric, t.passed]));
    assert.deepEqual(result, { e2e_latency: true, ack_latency: true, late: true, lost: false });
    const without = check(history(), { ...OPTS, warmupMs: 0, thresholds });
    assert.deepEqual(without.thresholds.map((t) => t.passed), [false, false, false, false], 'the same history without a warm-up fails every one');
  });

  it('records the warm-up in the report and keeps its deliveries on the timeline', () => {
    const r = check(history(), OPTS);
    assert.equal(r.warmupMs, 3000);
    assert.equal(r.durationMs, 10_000);
    assert.equal(r.timeline.buckets[2]!.delivered, 2, 'the 2.5 s deliveries of msgs 0 and 1 are drawn (shaded), not measured');
    assert.equal(check(history(), { ...OPTS, warmupMs: undefined }).warmupMs, 0);
  });

  it('rejects a warm-up longer than the run', () => {
    assert.throws(() => check(new Ledger(), { ...OPTS, warmupMs: 11_000 }), /warmupMs must be within the run/);
  });
});
