import assert from 'node:assert/strict';
import { Ledger } from './ledger.ts';
import { check, type CheckOptions } from './checker.ts';
import { headline } from './format.ts';
import { sampleCalls } from './sample-history.ts';
import { parseThreshold, ThresholdError } from './thresholds.ts';
import type { CallsReport } from './report.ts';

/** Three messages delivered in time: a run whose chat side passes every threshold. */
function ledger(): Ledger {
  const l = new Ledger();
  for (const m of [0, 1, 2]) {
    l.send(m, 1, m * 10, m * 10);
    l.ack(m, m * 10 + 1);
    l.expect(m, 100 + m, 'direct');
    l.deliver(m, 100 + m, m * 10 + 5, 'direct');
  }
  return l;
}

const OPTS: CheckOptions = { startMs: 0, endMs: 10_000, graceMs: 1000, lateMs: 500, thresholds: { lost: ['count==0'] } };

const withCalls = (calls: CallsReport | null, thresholds: Record<string, string[]> = { lost: ['count==0'] }) =>
  check(ledger(), { ...OPTS, thresholds, extra: { calls } });

const clean = (): CallsReport => ({ ...sampleCalls(), violations: { lateRings: 0, phantomRings: 0, unjudged: 0 } });

describe('calls in the checker', () => {
  it('carries the calls section into the report as it came', () => {
    const calls = sampleCalls();
    assert.deepEqual(withCalls(calls).calls, calls);
  });

  it('fails a run with late or phantom rings though its scenario names no threshold for them, and names them', () => {
    const r = withCalls(sampleCalls());
    assert.equal(r.passed, false);
    assert.deepEqual(r.thresholds.map((t) => [t.metric, t.expression, t.actual, t.passed, t.implicit]), [
      ['lost', 'count==0', 0, true, undefined],
      ['call_late_rings', 'count==0', 2, false, true],
      ['call_phantom_rings', 'count==0', 1, false, true],
    ]);
    assert.equal(headline(r), 'FAILED (2 of 3 thresholds)');
  });

  it('passes a run with calls and no bad rings, listing the checker\'s own thresholds as passed', () => {
    const r = withCalls(clean());
    assert.equal(r.passed, true);
    assert.deepEqual(r.thresholds.filter((t) => t.implicit).map((t) => [t.metric, t.actual, t.passed]), [['call_late_rings', 0, true], ['call_phantom_rings', 0, true]]);
  });

  it("lets the scenario's own threshold for a ring metric replace the checker's", () => {
    const r = withCalls(sampleCalls(), { call_late_rings: ['count<=5'] });
    assert.deepEqual(r.thresholds.map((t) => [t.metric, t.expression, t.passed, t.implicit]), [
      ['call_late_rings', 'count<=5', true, undefined],
      ['call_phantom_rings', 'count==0', false, true],
    ]);
  });

  it('changes nothing in a run without calls', () => {
    for (const calls of [undefined, null]) {
      const r = check(ledger(), { ...OPTS, extra: calls === undefined ? undefined : { calls } });
      assert.equal(r.calls, null);
      assert.deepEqual(r.thresholds.map((t) => t.metric), ['lost']);
      assert.equal(r.passed, true);
    }
  });

  it('resolves every call metric from the section: counters, trends from their summaries, loss rates as fractions', () => {
    const c = sampleCalls();
    const r = withCalls(clean(), {
      calls_attempted: ['count==1200'],
      calls_answered: ['count>=900'],
      calls_failed: ['count<41'],
      calls_timed_out: ['count==110'],
      call_ring_setup: ['p(50)==12.3', 'p(99)<100', 'p(90)>0', 'p(99.9)>0', 'max==410', 'min==2.5', 'med==12.3', 'avg>0', 'count==1650'],
      call_answer_setup: ['p(99)<10000'],
      call_connect: ['p(99)<640'],
      call_jitter: ['p(99)<20'],
      call_media_loss: ['rate<0.005'],
      call_relay_loss: ['rate<0.01'],
    });
    const actual = Object.fromEntries(r.thresholds.map((t) => [`${t.metric} ${t.expression}`, [t.actual, t.passed]]));
    assert.deepEqual(actual['calls_attempted count==1200'], [1200, true]);
    assert.deepEqual(actual['calls_failed count<41'], [40, true]);
    assert.deepEqual(actual['call_ring_setup p(99.9)>0'], [c.setup.ringMs.p999, true]);
    assert.deepEqual(actual['call_ring_setup avg>0'], [c.setup.ringMs.mean, true]);
    assert.deepEqual(actual['call_connect p(99)<640'], [640, false]);
    assert.deepEqual(actual['call_jitter p(99)<20'], [14.6, true]);
    assert.deepEqual(actual['call_media_loss rate<0.005'], [0.0043, true]);
    assert.deepEqual(actual['call_relay_loss rate<0.01'], [0.0137, false]);
    assert.equal(r.thresholds.filter((t) => !t.passed).length, 2, r.thresholds.filter((t) => !t.passed).map((t) => t.metric).join());
  });

  it('finds no data for call metrics in a run without calls, and none for a trend without samples', () => {
    const none = check(ledger(), { ...OPTS, thresholds: { calls_failed: ['count==0'], call_connect: ['p(99)<500'], call_relay_loss: ['rate<0.01'] } });
    assert.deepEqual(none.thresholds.map((t) => [t.actual, t.passed]), [[null, false], [null, false], [null, false]]);
    const idle: CallsReport = { ...clean(), media: { ...clean().media, relayedLegs: 0, relayedJitterMs: { count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 } } };
    const r = withCalls(idle, { call_jitter: ['p(99)<20', 'count==0'], call_relay_loss: ['rate<0.01'] });
    assert.deepEqual(r.thresholds.filter((t) => !t.implicit).map((t) => [t.expression, t.actual, t.passed]), [['p(99)<20', null, false], ['count==0', 0, true], ['rate<0.01', null, false]]);
  });

  it('refuses a percentile the summary of a call trend does not hold', () => {
    assert.throws(() => parseThreshold('call_connect', 'p(95)<500'), (e: unknown) =>
      e instanceof ThresholdError && /call_connect is kept as a summary with p\(50\), p\(90\), p\(99\), p\(99\.9\) only \(or avg, min, med, max, count\): "p\(95\)<500"/.test(e.message));
    assert.throws(() => check(ledger(), { ...OPTS, thresholds: { call_ring_setup: ['p(75)<100'] } }), ThresholdError);
    assert.equal(parseThreshold('call_jitter', 'p(99.9)<30').percentile, 99.9);
    assert.throws(() => parseThreshold('call_media_loss', 'count<1'), /rate; use rate/);
  });
});
