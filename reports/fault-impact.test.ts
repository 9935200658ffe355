import assert from 'node:assert/strict';
import { CLOSE_NORMAL, DUP_VISIBLE, Ledger } from './ledger.ts';
import { check, type CheckOptions } from './checker.ts';

const OPTS: CheckOptions = { startMs: 0, endMs: 10_000, graceMs: 1000, lateMs: 500 };
const DROP = 1006;
const GOING_AWAY = 1001;

/** msg intended and sent at `at` by device 1, acked 1 ms later, owed to device 100; delivered `latencyMs` after sending, or never (null). */
function message(l: Ledger, msg: number, at: number, latencyMs: number | null): void {
  l.send(msg, 1, at, at);
  l.ack(msg, at + 1);
  l.expect(msg, 100, 'direct');
  if (latencyMs !== null) l.deliver(msg, 100, at + latencyMs, 'direct');
}

/**
 * A 10 s run with node-2 killed from 4 s to 6 s, so the latency windows are
 * before [2 s, 4 s), during [4 s, 6 s] and after (6 s, 8 s]. Latencies stay
 * below 2.048 ms or sit at a window's maximum, where the HDR percentiles are
 * exact.
 */
function killHistory(): Ledger {
  const l = new Ledger();
  message(l, 14, 500, 50); // in no window of the kill
  message(l, 0, 2000, 1);
  message(l, 1, 2500, 1);
  message(l, 2, 3000, 1);
  message(l, 3, 3500, 2);
  message(l, 4, 4000, 2);
  message(l, 5, 4500, 2);
  l.deliver(5, 100, 4510, 'direct', DUP_VISIBLE);
  message(l, 6, 5000, 400);
  message(l, 7, 5500, null); // acked, never delivered: lost
  message(l, 8, 6000, 2);
  message(l, 11, 6500, 1);
  message(l, 12, 7000, 1);
  message(l, 13, 7500, 1.5);
  message(l, 15, 9000, 50); // in no window of the kill

  // Rejected during the kill: msg 9 retried to success, msg 10 retried and never acked.
  l.send(9, 1, 4100, 4100);
  l.error(4100, 'unavailable', 9, true);
  l.ack(9, 4400);
  l.retrySucceeded(9);
  l.expect(9, 100, 'direct');
  l.deliver(9, 100, 4102, 'direct');
  l.send(10, 1, 4200, 4200);
  l.error(4200, 'unavailable', 10, true);
  l.error(1000, 'E_TIMEOUT', -1, false); // before the kill
  l.error(6500, 'unavailable', -1, false); // after it

  l.disconnected(15, 3000, DROP); // before the kill
  l.connected(15, 3100);
  l.disconnected(11, 4010, DROP);
  l.disconnected(12, 4020, DROP);
  l.disconnected(13, 4030, GOING_AWAY);
  l.connected(11, 4260); // back after 250 ms
  l.disconnected(14, 4500, CLOSE_NORMAL); // backgrounded by the user: not the kill's doing
  l.connected(12, 5020); // back after 1000 ms
  l.disconnected(11, 5500, DROP); // a second drop of the same device
  l.connected(11, 5600);
  l.connected(14, 7000);
  for (const dev of [11, 12, 14, 15]) l.disconnected(dev, 11_500, CLOSE_NORMAL); // end of the run
  l.fault({ kind: 'node-kill', target: 'node-2', startMs: 4000, endMs: 6000 });
  return l;
}

describe('fault impact', () => {
  it('counts messages sent during the fault, lost ones and visible duplicates', () => {
    const impact = check(killHistory(), OPTS).faults[0]!.impact!;
    assert.equal(impact.sent, 7, 'msgs 4 to 10');
    assert.equal(impact.lost, 1, 'msg 7');
    assert.equal(impact.duplicated, 1, 'msg 5 shown twice');
  });

  it('gives e2e latency before, during and after the fault', () => {
    const impact = check(killHistory(), OPTS).faults[0]!.impact!;
    assert.deepEqual(impact.latency, {
      before: { count: 4, p50: 1, p99: 2 },
      during: { count: 5, p50: 2, p99: 400 },
      after: { count: 3, p50: 1, p99: 1.5 },
    });
    assert.equal(impact.p99Ms, 400, 'p99Ms is the during-window p99');
  });

  it('reports devices the fault disconnected, their time to reconnect, and those never back', () => {
    const r = check(killHistory(), OPTS).faults[0]!.impact!.reconnects;
    assert.equal(r.devices, 3, 'devices 11, 12 and 13; not 14 (closed by itself) nor 15 (before the fault)');
    assert.equal(r.notBack, 1, 'device 13');
    assert.ok(Math.abs(r.p50Ms! - 250) <= 0.25, `p50 ${r.p50Ms} is 250 ms to 3 significant digits`);
    assert.equal(r.p99Ms, 1000);
    assert.equal(r.maxMs, 1000);
  });

  it('tallies sends rejected during the fault by code, with retried and retried-ok, like the run errors', () => {
    const r = check(killHistory(), OPTS);
    assert.deepEqual(r.faults[0]!.impact!.rejected, { total: 2, byCode: { unavailable: { count: 2, retried: 2, retriedOk: 1 } } });
    assert.deepEqual(r.errors, {
      total: 4,
      byCode: { E_TIMEOUT: { count: 1, retried: 0, retriedOk: 0 }, unavailable: { count: 3, retried: 2, retriedOk: 1 } },
    });
  });

  it('attributes what follows an instant fault within the margin, and has no before or after window for it', () => {
    const l = killHistory();
    l.fault({ kind: 'node-kill', target: 'node-3', startMs: 8500, endMs: 8500 });
    l.error(8600, 'unavailable', -1, false);
    l.disconnected(16, 8700, DROP);
    l.connected(16, 8900);
    l.error(9600, 'unavailable', -1, false); // past the 1000 ms margin
    const impact = check(l, OPTS).faults[1]!.impact!;
    assert.deepEqual(impact.latency.before, { count: 0, p50: null, p99: null });
    assert.deepEqual(impact.latency.after, { count: 0, p50: null, p99: null });
    assert.deepEqual(impact.rejected, { total: 1, byCode: { unavailable: { count: 1, retried: 0, retriedOk: 0 } } });
    assert.deepEqual(impact.reconnects, { devices: 1, p50Ms: 200, p99Ms: 200, maxMs: 200, notBack: 0 });
    const narrow = check(l, { ...OPTS, faultMarginMs: 150 }).faults[1]!.impact!;
    assert.equal(narrow.rejected.total, 1);
    assert.equal(narrow.reconnects.devices, 0, 'the drop at +200 ms is past a 150 ms margin');
  });

  it('clips the before and after windows to the run', () => {
    const l = new Ledger();
    message(l, 0, -200, 1); // intended before the run started
    message(l, 1, 300, 5);
    message(l, 2, 1500, 7);
    message(l, 3, 2600, 1); // load is over at 2500
    l.fault({ kind: 'partition', target: 'node-1|redis', startMs: 1000, endMs: 2000 });
    const { latency } = check(l, { ...OPTS, endMs: 2500 }).faults[0]!.impact!;
    assert.deepEqual(latency.before, { count: 1, p50: 5, p99: 5 });
    assert.deepEqual(latency.during, { count: 1, p50: 7, p99: 7 });
    assert.deepEqual(latency.after, { count: 0, p50: null, p99: null });
  });

  it('reports no reconnects and no rejections for a fault nobody noticed', () => {
    const l = new Ledger();
    message(l, 0, 100, 1);
    l.fault({ kind: 'node-pause', target: 'node-1', startMs: 5000, endMs: 6000 });
    const impact = check(l, OPTS).faults[0]!.impact!;
    assert.deepEqual(impact.reconnects, { devices: 0, p50Ms: null, p99Ms: null, maxMs: null, notBack: 0 });
    assert.deepEqual(impact.rejected, { total: 0, byCode: {} });
    assert.equal(impact.p99Ms, null);
  });
});
