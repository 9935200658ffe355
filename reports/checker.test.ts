import assert from 'node:assert/strict';
import { DUP_TRANSPORT, DUP_VISIBLE, Ledger, MEDIA, MEDIA_EXPIRED, MEDIA_LOST, OUT_OF_ORDER } from './ledger.ts';
import { Checking, check, type CheckOptions } from './checker.ts';
import { headline } from './format.ts';
import { renderTerminal } from './render-terminal.ts';

const OPTS: CheckOptions = { startMs: 0, endMs: 10_000, graceMs: 1000, lateMs: 500 };

/** msg sent at msg*10 ms, acked 1 ms later, owed to dev 100+msg on `path`, delivered 5 ms after sending. */
function steady(l: Ledger, msgs: number[], path: 'direct' | 'cross-node' | 'group-write' = 'direct'): void {
  for (const m of msgs) {
    l.send(m, 1, m * 10, m * 10);
    l.ack(m, m * 10 + 1);
    l.expect(m, 100 + m, path);
    l.deliver(m, 100 + m, m * 10 + 5, path);
  }
}

describe('check', () => {
  it('reports a lost message on its predicted path and names it in firstLost', () => {
    const l = new Ledger();
    steady(l, [0, 1, 2]);
    l.send(3, 1, 30, 30);
    l.ack(3, 31);
    l.expect(3, 7, 'cross-node');
    l.expect(3, 8, 'direct');
    l.deliver(3, 8, 40, 'direct');
    const r = check(l, OPTS);
    assert.equal(r.delivery.expected, 5);
    assert.equal(r.delivery.delivered, 4);
    assert.equal(r.delivery.lost, 1);
    assert.equal(r.paths['cross-node'].lost, 1);
    assert.equal(r.paths.direct.lost, 0);
    assert.deepEqual(r.delivery.firstLost, { msg: 3, dev: 7, path: 'cross-node', sentAtMs: 30 });
  });

  it('counts a media message delivered when its media came, lost on the media path when it did not, and an expired one as delivered', () => {
    const l = new Ledger();
    for (const m of [0, 1, 2]) {
      l.send(m, 1, m * 10, m * 10);
      l.ack(m, m * 10 + 1);
      l.expect(m, 100 + m, 'cross-node');
    }
    l.deliver(0, 100, 50, 'media', MEDIA);
    l.deliver(1, 101, 60, 'media', MEDIA | MEDIA_LOST);
    l.deliver(2, 102, 70, 'media', MEDIA | MEDIA_EXPIRED);
    const r = check(l, OPTS);
    assert.equal(r.paths.media.delivered, 2);
    assert.equal(r.paths.media.lost, 1);
    assert.equal(r.paths['cross-node'].lost, 0, 'the text came: the loss is the media path\'s');
    assert.equal(r.paths.media.e2eMs.max, 70 - 20);
    assert.deepEqual(r.delivery.firstLost, { msg: 1, dev: 101, path: 'media', sentAtMs: 10 });
  });

  it('counts transport duplicates, visible duplicates and reordering on the right path', () => {
    const l = new Ledger();
    steady(l, [0, 1, 2, 3], 'direct');
    steady(l, [4, 5, 6], 'group-write');
    l.deliver(1, 101, 20, 'direct', DUP_TRANSPORT);
    l.deliver(1, 101, 21, 'direct', DUP_TRANSPORT);
    l.deliver(5, 105, 60, 'group-write', DUP_VISIBLE);
    l.deliver(6, 106, 70, 'group-write', OUT_OF_ORDER);
    const r = check(l, OPTS);
    assert.equal(r.delivery.duplicatedTransport, 1, 'one pair, however many extra copies');
    assert.equal(r.paths.direct.duplicatedTransport, 1);
    assert.equal(r.paths.direct.duplicated, 0);
    assert.equal(r.paths['group-write'].duplicated, 1);
    assert.equal(r.paths['group-write'].reordered, 1);
    assert.equal(r.paths.direct.reordered, 0);
    assert.equal(r.delivery.delivered, 7);
    assert.equal(r.delivery.lost, 0);
  });

  it('lets the actual delivery path override the predicted one', () => {
    const l = new Ledger();
    l.send(0, 1, 0, 0);
    l.ack(0, 1);
    l.expect(0, 2, 'direct');
    l.deliver(0, 2, 900, 'offline-drain');
    const r = check(l, OPTS);
    assert.equal(r.paths.direct.expected, 0);
    assert.equal(r.paths['offline-drain'].delivered, 1);
    assert.equal(r.paths['offline-drain'].late, 1, '900 ms > lateMs 500');
  });

  it('never counts a delivery of an un-acked message as lost', () => {
    const l = new Ledger();
    l.send(0, 1, 0, 0); // server died before acking
    l.deliver(0, 2, 5, 'direct');
    l.send(1, 1, 0, 0); // never acked, never delivered
    l.expect(1, 2, 'direct');
    const r = check(l, OPTS);
    assert.equal(r.delivery.lost, 0);
    assert.equal(r.delivery.expected, 0);
    assert.equal(r.delivery.deliveredUnacked, 1);
    assert.equal(r.messages.failed, 2);
  });

  it('counts a delivery after end + grace as lost', () => {
    const l = new Ledger();
    l.send(0, 1, 9000, 9000);
    l.ack(0, 9001);
    l.expect(0, 2, 'direct');
    l.deliver(0, 2, 11_001, 'direct');
    assert.equal(check(l, OPTS).delivery.lost, 1);
  });

  describe('late or lost', () => {
    /** msgs 0..2 delivered; msg 3 owed to devs 7 (direct) and 8 (cross-node), msg 4 to dev 9 (direct), none delivered; msg 5 to dev 6 arrives after the grace. */
    function undelivered(): Ledger {
      const l = new Ledger();
      steady(l, [0, 1, 2]);
      l.send(3, 1, 3000, 3000);
      l.ack(3, 3001, '00000000bb80010000');
      l.expect(3, 7, 'direct');
      l.expect(3, 8, 'cross-node');
      l.send(4, 1, 4000, 4000);
      l.ack(4, 4001, '00000000fa00010000');
      l.expect(4, 9, 'direct');
      l.send(5, 1, 5000, 5000);
      l.ack(5, 5001, '0000000138800100a0');
      l.expect(5, 6, 'push-wake');
      l.deliver(5, 6, 12_500, 'push-wake');
      return l;
    }

    it('lists the owed pairs never delivered with the mid the stores know them by', () => {
      const pairs = new Checking(undelivered(), OPTS).undelivered();
      assert.deepEqual(pairs, [
        { msg: 3, dev: 7, mid: '00000000bb80010000', path: 'direct' },
        { msg: 3, dev: 8, mid: '00000000bb80010000', path: 'cross-node' },
        { msg: 4, dev: 9, mid: '00000000fa00010000', path: 'direct' },
      ]);
    });

    it('counts pairs still in an inbox as pending with their age, and only pairs in no store as lost', () => {
      const checking = new Checking(undelivered(), { ...OPTS, thresholds: { pending: ['count<=3'], lost: ['count==0'], 'pending_age{path:direct}': ['max<9000'] } });
      const r = checking.finish({ atMs: 12_000, held: [{ msg: 3, dev: 7 }, { msg: 4, dev: 9 }], unasked: 0 });
      assert.equal(r.delivery.classified, 'stores');
      assert.equal(r.delivery.pending, 3, 'two still held, one delivered after the grace');
      assert.equal(r.delivery.lost, 1);
      assert.equal(r.delivery.expected, 7);
      assert.equal(r.paths.direct.pending, 2);
      assert.equal(r.paths['cross-node'].lost, 1);
      assert.equal(r.paths['cross-node'].pending, 0);
      assert.equal(r.paths['push-wake'].pending, 1);
      assert.deepEqual([r.paths.direct.pendingAgeMs.min, r.paths.direct.pendingAgeMs.max], [8000, 9000]);
      assert.equal(r.paths['push-wake'].pendingAgeMs.max, 7500);
      assert.equal(r.delivery.pendingAgeMs.count, 3);
      assert.deepEqual(r.delivery.firstLost, { msg: 3, dev: 8, path: 'cross-node', sentAtMs: 3000 });
      assert.deepEqual(r.thresholds.map((t) => [t.metric, t.actual, t.passed]), [
        ['pending', 3, true], ['lost', 1, false], ['pending_age{path:direct}', 9000, false],
      ]);
    });

    it('keeps every undelivered pair lost when no store was asked, and says so', () => {
      const r = check(undelivered(), OPTS);
      assert.equal(r.delivery.classified, 'none');
      assert.equal(r.delivery.pending, 0);
      assert.equal(r.delivery.lost, 4);
      assert.equal(r.delivery.unclassified, 0);
    });

    it('counts pairs the stores could not be asked about as lost and unclassified', () => {
      const r = new Checking(undelivered(), OPTS).finish({ atMs: 12_000, held: [], unasked: 1 });
      assert.equal(r.delivery.lost, 3);
      assert.equal(r.delivery.pending, 1);
      assert.equal(r.delivery.unclassified, 1);
    });
  });

  it('flags deliveries of acked messages to devices nobody expected', () => {
    const l = new Ledger();
    steady(l, [0]);
    l.deliver(0, 555, 6, 'direct');
    l.deliver(0, 555, 7, 'direct', DUP_TRANSPORT);
    assert.equal(check(l, OPTS).delivery.unexpected, 1);
  });

  it("reports the driver's send lag (first write − intended) apart, retries and closed-model sends aside", () => {
    const l = new Ledger();
    for (let m = 0; m < 10; m++) {
      l.send(m, 1, m * 10, m * 10 + 2);
      l.ack(m, m * 10 + 3);
      l.expect(m, 100 + m, 'direct');
      l.deliver(m, 100 + m, m * 10 + 50, 'direct');
    }
    l.send(3, 1, 30, 900); // a retry of msg 3: the cluster's doing, not the scheduler's
    l.send(20, 1, NaN, 500); // closed model: no intended time
    const r = check(l, OPTS);
    assert.equal(r.latency.sendLagMs.count, 10);
    assert.equal(r.latency.sendLagMs.max, 2);
    assert.equal(r.latency.driverLimited, null, 'a 2 ms lag beside a 50 ms e2e p99 is not the driver');
    assert.match(renderTerminal(r), /driver send lag \(fired - intended\) +10 +2\.00/);
  });

  it('marks a run driver-limited when send lag is a material share of e2e p99, naming the cause', () => {
    const l = new Ledger();
    for (let m = 0; m < 10; m++) {
      l.send(m, 1, m * 10, m * 10 + 8);
      l.ack(m, m * 10 + 9);
      l.expect(m, 100 + m, 'direct');
      l.deliver(m, 100 + m, m * 10 + 10, 'direct');
    }
    const r = check(l, { ...OPTS, extra: { driver: { cpuPercent: 95, eventLoopP99Ms: 3, bound: true } } });
    assert.match(r.latency.driverLimited!, /send lag p99 8\.0 ms is 80% of e2e p99 10\.0 ms/);
    assert.match(r.latency.driverLimited!, /driver CPU 95%/);
    assert.match(headline(r), /driver-limited: .*send lag/);
  });

  it("marks a run driver-limited when a driver worker's event-loop delay is a material share of e2e p99", () => {
    const l = new Ledger();
    steady(l, [0, 1, 2, 3]);
    const busy = check(l, { ...OPTS, extra: { driver: { cpuPercent: 30, eventLoopP99Ms: 2, bound: false } } });
    assert.match(busy.latency.driverLimited!, /driver event-loop p99 2\.0 ms is 40% of e2e p99/);
    const idle = check(l, { ...OPTS, extra: { driver: { cpuPercent: 30, eventLoopP99Ms: 0.5, bound: false } } });
    assert.equal(idle.latency.driverLimited, null);
  });

  it("marks a run driver-limited when its e2e p99 is a material share beyond a witness's, and the driver line shows both", () => {
    const l = new Ledger();
    steady(l, [0, 1, 2, 3]);
    const witness = (p99Ms: number) => ({ rate: 50, messages: 400, missing: 0, p50Ms: p99Ms / 2, p99Ms, sentP99Ms: p99Ms, lagP99Ms: 0.5 });
    const slow = check(l, { ...OPTS, extra: { driver: { cpuPercent: 30, eventLoopP99Ms: 0.5, bound: false, witness: witness(1) } } });
    assert.match(slow.latency.driverLimited!, /e2e p99 5\.0 ms is 4\.0 ms beyond a witness's 1\.0 ms/);
    assert.match(renderTerminal(slow), /witness e2e p99 1(\.0+)? ms at 50 msgs\/s \(the driver's share 4(\.0+)? ms\)/);
    const near = check(l, { ...OPTS, extra: { driver: { cpuPercent: 30, eventLoopP99Ms: 0.5, bound: false, witness: witness(4.5) } } });
    assert.equal(near.latency.driverLimited, null, 'half a millisecond beyond the witness is not the driver');
    const partial = check(l, { ...OPTS, extra: { driver: { cpuPercent: 30, eventLoopP99Ms: 0.5, bound: false, witness: { ...witness(4.5), missing: 3 } } } });
    assert.match(renderTerminal(partial), /3 of its messages missing/);
    assert.doesNotMatch(renderTerminal(partial), /its own GC/, 'a witness that did not collect says nothing of it');
    // The witness's own collector held the driver's CPU: the line says so.
    const paused = check(l, { ...OPTS, extra: { driver: { cpuPercent: 30, eventLoopP99Ms: 0.5, bound: false, witness: { ...witness(4.5), gcPauses: { count: 2, totalMs: 31.5, maxMs: 20 } } } } });
    assert.match(renderTerminal(paused), /\(the driver's share 0\.50* ms\) \(its own GC paused 2 times, 31\.5 ms, on the driver's CPU\)/);
    // None of its messages arrived: no latency, so no share and no claim.
    const none = check(l, { ...OPTS, extra: { driver: { cpuPercent: 30, eventLoopP99Ms: 0.5, bound: false, witness: { rate: 50, messages: 0, missing: 40, p50Ms: null, p99Ms: null, sentP99Ms: null, lagP99Ms: null } } } });
    assert.equal(none.latency.driverLimited, null);
    assert.match(renderTerminal(none), /witness: none of its 40 messages arrived/);
    assert.doesNotMatch(renderTerminal(none), /the driver's share/);
  });

  it('measures e2e from the intended send, so a stalled sender shows a larger latency', () => {
    const l = new Ledger();
    // open model wanted a send every 10 ms; the sender stalled 200 ms before writing
    l.send(0, 1, 100, 300);
    l.ack(0, 301);
    l.expect(0, 2, 'direct');
    l.deliver(0, 2, 305, 'direct');
    const r = check(l, OPTS);
    assert.equal(r.latency.e2eMs.max, 205);
    assert.equal(r.latency.e2eSendMs.max, 5);
    assert.ok(r.latency.e2eMs.p50 > r.latency.e2eSendMs.p50);
    assert.equal(r.latency.ackMs.max, 201);
    assert.match(r.latency.method, /intended send time/);
  });

  it('measures from the actual send for closed-model sends (intended NaN)', () => {
    const l = new Ledger();
    l.send(0, 1, NaN, 300);
    l.ack(0, 301);
    l.expect(0, 2, 'direct');
    l.deliver(0, 2, 305, 'direct');
    assert.equal(check(l, OPTS).latency.e2eMs.max, 5);
  });

  it('reports receipt latencies per kind from the first receipt seen', () => {
    const l = new Ledger();
    steady(l, [0]);
    l.receipt(0, 100, 'delivered', 9);
    l.receipt(0, 100, 'delivered', 12);
    l.receipt(0, 100, 'read', 400);
    const r = check(l, OPTS);
    assert.equal(r.latency.receiptMs.delivered.count, 1);
    assert.equal(r.latency.receiptMs.delivered.max, 9);
    assert.equal(r.latency.receiptMs.read.max, 400);
  });

  it('counts errors by code with retried and retried-ok', () => {
    const l = new Ledger();
    steady(l, [0, 1]);
    l.error(5, 'E_TIMEOUT', 0, true);
    l.error(6, 'E_TIMEOUT', 1, true);
    l.error(7, 'E_AUTH', -1, false);
    l.retrySucceeded(0);
    const r = check(l, OPTS);
    assert.equal(r.errors.total, 3);
    assert.deepEqual(r.errors.byCode.E_TIMEOUT, { count: 2, retried: 2, retriedOk: 1 });
    assert.deepEqual(r.errors.byCode.E_AUTH, { count: 1, retried: 0, retriedOk: 0 });
  });

  it('builds a bounded timeline with throughput, percentiles and summed connected gauges', () => {
    const l = new Ledger();
    steady(l, Array.from({ length: 300 }, (_, i) => i));
    l.sample(0, { connected: 10 });
    l.sample(1500, { connected: 12 });
    const r = check(l, { ...OPTS, endMs: 3000, maxBuckets: 600 });
    assert.equal(r.timeline.bucketMs, 1000);
    assert.deepEqual(r.timeline.buckets.map((b) => b.sent), [100, 100, 100]);
    assert.deepEqual(r.timeline.buckets.map((b) => b.connected), [10, 12, 12]);
    assert.ok(Math.abs(r.timeline.buckets[0].p99! - 5) < 0.1);
    assert.equal(r.devices.connectedPeak, 12);
    const long = check(l, { ...OPTS, endMs: 3_600_000 });
    assert.ok(long.timeline.buckets.length <= 600);
  });

  it('marks faults relative to the start with their impact', () => {
    const l = new Ledger();
    steady(l, [0, 1, 2, 3]);
    l.send(4, 1, 25, 25);
    l.ack(4, 26);
    l.expect(4, 9, 'direct');
    l.fault({ kind: 'kill', target: 'node-1', startMs: 15, endMs: 35 });
    const r = check(l, OPTS);
    const { impact, ...mark } = r.faults[0];
    assert.deepEqual(mark, { kind: 'kill', target: 'node-1', startMs: 15, endMs: 35 });
    // msgs sent at 20, 25 (lost) and 30
    assert.deepEqual([impact?.sent, impact?.lost, impact?.p99Ms], [3, 1, 5]);
    const shifted = check(l, { ...OPTS, startMs: 10 });
    assert.deepEqual([shifted.faults[0].startMs, shifted.faults[0].endMs], [5, 25]);
  });

  it('reports an observed fault with the impact of a scheduled one, and a failed threshold names both', () => {
    const l = new Ledger();
    steady(l, [0, 1, 2, 3]);
    l.send(4, 1, 25, 25);
    l.fault({ kind: 'node-kill', target: 'node-1', startMs: 5, endMs: 8 });
    l.fault({ kind: 'process-exit', target: 'node-2', startMs: 15, endMs: 35, observed: true, detail: 'killed by SIGKILL' });
    const r = check(l, { ...OPTS, thresholds: { failed: ['count==0'], lost: ['count==0'] } });
    const { impact, ...mark } = r.faults[1]!;
    assert.deepEqual(mark, { kind: 'process-exit', target: 'node-2', startMs: 15, endMs: 35, observed: true, detail: 'killed by SIGKILL' });
    assert.deepEqual([impact?.sent, impact?.lost], [3, 0]);
    assert.equal(r.faults[0]!.observed, undefined, 'a scheduled fault is not marked observed');
    assert.deepEqual(r.thresholds[0]!.faults, ['node-kill node-1 0.0s-0.0s', 'process-exit node-2 (observed: killed by SIGKILL) 0.0s-0.0s']);
    assert.equal(r.thresholds[1]!.passed, true);
    assert.equal(r.thresholds[1]!.faults, undefined, 'a passed threshold names nothing');
  });

  it('evaluates thresholds and passes only when all pass', () => {
    const l = new Ledger();
    steady(l, [0, 1, 2]);
    const r = check(l, {
      ...OPTS,
      thresholds: { e2e_latency: ['p(99)<10', 'max<=5'], 'lost{path:direct}': ['count==0'], delivery_ratio: ['rate>0.999'] },
    });
    assert.equal(r.passed, true);
    assert.deepEqual(r.thresholds[0], { metric: 'e2e_latency', expression: 'p(99)<10', actual: 5, passed: true });
    const failing = check(l, { ...OPTS, thresholds: { e2e_latency: ['p(50)<1'], 'e2e_latency{path:group-read}': ['p(99)<1'] } });
    assert.equal(failing.passed, false);
    assert.equal(failing.thresholds[1].actual, null, 'no data on that path fails rather than passing');
  });

  it('counts sends never acked under failed, the short name of messages_failed', () => {
    const l = new Ledger();
    steady(l, [0, 1]);
    l.send(2, 1, 20, 20);
    const r = check(l, { ...OPTS, thresholds: { failed: ['count==0'], messages_failed: ['count==1'] } });
    assert.deepEqual(r.thresholds.map((t) => [t.metric, t.actual, t.passed]), [['failed', 1, false], ['messages_failed', 1, true]]);
  });

  it('rejects a malformed threshold before checking', () => {
    assert.throws(() => check(new Ledger(), { ...OPTS, thresholds: { e2e_latency: ['p99<10'] } }), /p99<10/);
  });

  it('passes driver stats and meta through untouched', () => {
    const driver = { cpuPercent: 97, eventLoopP99Ms: 40, bound: true };
    const r = check(new Ledger(), { ...OPTS, extra: { driver, meta: { calibration: 'x' } } });
    assert.deepEqual(r.driver, driver);
    assert.equal(r.meta.calibration, 'x');
  });
});
