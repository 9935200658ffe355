import assert from 'node:assert/strict';
import { evaluateThreshold, parseThreshold, parseThresholds, ThresholdError, type MetricSource } from './thresholds.ts';

describe('parseThreshold', () => {
  it('parses every aggregation and operator k6 users write', () => {
    const p = parseThreshold('e2e_latency', 'p(99.9) <= 50');
    assert.equal(p.aggregation, 'p');
    assert.equal(p.percentile, 99.9);
    assert.equal(p.operator, '<=');
    assert.equal(p.value, 50);
    for (const [expr, agg, op] of [
      ['avg<20', 'avg', '<'],
      ['min>0', 'min', '>'],
      ['max<1000', 'max', '<'],
      ['med>=1.5', 'med', '>='],
      ['count!=3', 'count', '!='],
      ['p(50)<1e3', 'p', '<'],
    ] as const) {
      const t = parseThreshold('ack_latency', expr);
      assert.deepEqual([t.aggregation, t.operator], [agg, op], expr);
    }
    assert.equal(parseThreshold('lost', 'count==0').operator, '==');
    assert.equal(parseThreshold('lost', 'count===0').operator, '==');
    assert.equal(parseThreshold('delivery_ratio', 'rate>0.999').value, 0.999);
    assert.equal(parseThreshold('connected_peak', 'value>=1000').aggregation, 'value');
  });

  it('accepts a k6-style tag filter on metrics that have one', () => {
    const t = parseThreshold('e2e_latency{path:cross-node}', 'p(95)<10');
    assert.deepEqual(t.tag, { key: 'path', value: 'cross-node' });
    assert.deepEqual(parseThreshold('errors{code:E_RATE}', 'count<5').tag, { key: 'code', value: 'E_RATE' });
  });

  it('rejects malformed expressions with the offending text', () => {
    for (const bad of ['p99<10', 'p(99)', 'p(99)<', 'p(101)<5', 'avg=<3', 'average<3', 'p(99)<10ms', '', 'count==0 && max<1']) {
      assert.throws(
        () => parseThreshold('e2e_latency', bad),
        (e: unknown) => e instanceof ThresholdError && e.text === bad && e.message.includes(`"${bad}"`),
        bad,
      );
    }
  });

  it('rejects unknown metrics, wrong tags and aggregations the metric kind lacks', () => {
    assert.throws(() => parseThreshold('e2e_latencyy', 'p(99)<1'), /unknown metric.*"e2e_latencyy"/);
    assert.throws(() => parseThreshold('ack_latency{path:direct}', 'p(99)<1'), /cannot be filtered by tag path/);
    assert.throws(() => parseThreshold('lost{path:moon}', 'count==0'), /unknown path/);
    assert.throws(() => parseThreshold('lost', 'p(99)<1'), /lost is a counter; use count, rate.*"p\(99\)<1"/);
    assert.throws(() => parseThreshold('delivery_ratio', 'count>1'), /rate; use rate/);
    assert.throws(() => parseThreshold('connected_peak', 'max>1'), /gauge; use value/);
  });

  it('parses a whole map and rejects a non-list value', () => {
    const all = parseThresholds({ e2e_latency: ['p(99)<50', 'avg<20'], lost: ['count==0'] });
    assert.deepEqual(all.map((t) => `${t.metric} ${t.expression}`), ['e2e_latency p(99)<50', 'e2e_latency avg<20', 'lost count==0']);
    assert.throws(() => parseThresholds({ lost: 'count==0' as unknown as string[] }), ThresholdError);
    assert.deepEqual(parseThresholds(undefined), []);
  });
});

describe('evaluateThreshold', () => {
  const trend = { count: 4, percentile: (p: number) => (p >= 100 ? 40 : p <= 0 ? 10 : p * 0.3), mean: () => 25 };
  const src: MetricSource = {
    durationMs: 10_000,
    trend: (name) => (name === 'e2e_latency' ? trend : { count: 0, percentile: () => null, mean: () => null }),
    counter: (name) => (name === 'lost' ? 3 : 0),
    rate: () => 0.9995,
    gauge: () => null,
  };
  const run = (metric: string, expr: string) => evaluateThreshold(parseThreshold(metric, expr), src);

  it('compares the right aggregate', () => {
    assert.deepEqual(run('e2e_latency', 'p(90)<28'), { metric: 'e2e_latency', expression: 'p(90)<28', actual: 27, passed: true });
    assert.equal(run('e2e_latency', 'max<40').passed, false);
    assert.equal(run('e2e_latency', 'min==10').passed, true);
    assert.equal(run('e2e_latency', 'avg<=25').passed, true);
    assert.equal(run('e2e_latency', 'med==15').passed, true);
    assert.equal(run('lost', 'count==0').actual, 3);
    assert.equal(run('lost', 'rate<1').actual, 0.3, 'counter rate is per second');
    assert.equal(run('delivery_ratio', 'rate>0.999').passed, true);
  });

  it('fails a trend threshold with no data, but counts it as zero', () => {
    assert.deepEqual(run('ack_latency', 'p(99)<100'), { metric: 'ack_latency', expression: 'p(99)<100', actual: null, passed: false });
    assert.equal(run('ack_latency', 'count==0').passed, true);
    assert.equal(run('driver_cpu_percent', 'value<90').passed, false);
  });
});
