import assert from 'node:assert/strict';
import { problemsOf } from '../system/schema/check.ts';
import { chaosEntrySchema, faultNames, type ChaosEntry, type FaultName } from './fault-schema.ts';
import { faultKinds } from './faults.ts';

/** One well-formed entry of every fault kind. */
const valid: { [K in FaultName]: Extract<ChaosEntry, { fault: K }> } = {
  'node-kill': { fault: 'node-kill', target: 'node-2', at: '30%', duration: '10s' },
  'node-stop': { fault: 'node-stop', target: '2', at: '1s' },
  'node-pause': { fault: 'node-pause', target: 'all', at: '1s', duration: '2s' },
  'rolling-restart': { fault: 'rolling-restart', target: 'all', at: '20%', duration: '50%' },
  'redis-stop': { fault: 'redis-stop', at: '30%', duration: '50%' },
  'cassandra-stop': { fault: 'cassandra-stop', at: '1m', duration: '30s' },
  'cassandra-node-stop': { fault: 'cassandra-node-stop', target: 'cassandra-2', how: 'kill', at: '30%', duration: '20s' },
  partition: { fault: 'partition', target: 'node-2', peer: 'node-3', at: '25%', duration: '50%' },
  'link-latency': { fault: 'link-latency', link: 'node-store', ms: 300, at: '50%', duration: '20%' },
  'link-loss': { fault: 'link-loss', link: 'device-gateway', p: 0.1, at: '10%', duration: '30%' },
  'store-outage': { fault: 'store-outage', store: 'cassandra', at: '0%', duration: '15%' },
  'relay-stop': { fault: 'relay-stop', at: '40%', duration: '20%' },
  'relay-loss': { fault: 'relay-loss', p: 0.05, at: '40%', duration: '20%' },
  latency: { fault: 'latency', target: 'cassandra', ms: 200, jitterMs: 20, stream: 'both', at: '20%', duration: '60%' },
  bandwidth: { fault: 'bandwidth', target: 'node-2:redis', kbPerSecond: 64, at: '1s', duration: '2s' },
  reset: { fault: 'reset', target: 'devices', afterMs: 100, at: '1s', duration: '2s' },
  timeout: { fault: 'timeout', target: 'redis', at: '1s', duration: '2s' },
  slicer: { fault: 'slicer', target: 'redis', averageBytes: 16, variationBytes: 8, delayUs: 10, at: '1s', duration: '2s' },
};

/** For every fault kind, a bad entry and the refusal it gets. */
const invalid: { [K in FaultName]: [Record<string, unknown>, RegExp] } = {
  'node-kill': [{ at: '1s', duration: 'later' }, /^chaos\[0\]\.duration: expected a duration like 500ms, 30s, 2m or 1h30m, or a share of the load like 30%, got "later"$/],
  'node-stop': [{ at: '1s', target: 2 }, /^chaos\[0\]\.target: expected a target like node-2, 2 or all, got 2$/],
  'node-pause': [{ at: 'soon' }, /^chaos\[0\]\.at: expected a duration .*, got "soon"$/],
  'rolling-restart': [{ duration: '10s' }, /^chaos\[0\]\.at: expected a duration .*, got nothing$/],
  'redis-stop': [{ at: '1s', store: 'redis' }, /^chaos\[0\]: unknown field store$/],
  'cassandra-stop': [{ at: '1s', ms: 5 }, /^chaos\[0\]: unknown field ms$/],
  'cassandra-node-stop': [{ at: '1s', target: 'node-2' }, /^chaos\[0\]\.target: expected a Cassandra ring node like cassandra-2 \(or 2\), got "node-2"$/],
  partition: [{ at: '1s', peer: 'mongo' }, /^chaos\[0\]\.peer: expected devices, redis, cassandra or node-<n>, got "mongo"$/],
  'link-latency': [{ at: '1s', link: 'node-store', ms: -1 }, /^chaos\[0\]\.ms: expected a number >= 0, got -1$/],
  'link-loss': [{ at: '1s', link: 'node-node', p: 1.5 }, /^chaos\[0\]\.p: expected a number in \[0, 1\], got 1\.5$/],
  'store-outage': [{ at: '1s', store: 'mongo' }, /^chaos\[0\]\.store: expected one of redis, cassandra, push, got "mongo"$/],
  'relay-stop': [{ at: '1s', p: 0.1 }, /^chaos\[0\]: unknown field p$/],
  'relay-loss': [{ at: '1s', p: 2 }, /^chaos\[0\]\.p: expected a number in \[0, 1\], got 2$/],
  latency: [{ at: '1s', target: 'redis', ms: '200' }, /^chaos\[0\]\.ms: expected a number >= 0, got "200"$/],
  bandwidth: [{ at: '1s', target: 'redis', kbPerSecond: 0 }, /^chaos\[0\]\.kbPerSecond: expected a number >= 1, got 0$/],
  reset: [{ at: '1s', target: 'mongo' }, /^chaos\[0\]\.target: expected redis, cassandra, devices or node-<n>:<peer> \(e\.g\. node-2:redis\), got "mongo"$/],
  timeout: [{ at: '1s', target: 'redis', stream: 'sideways' }, /^chaos\[0\]\.stream: expected one of upstream, downstream, both, got "sideways"$/],
  slicer: [{ at: '1s', target: 'redis', averageBytes: 16, variationBytes: 32 }, /^chaos\[0\]\.variationBytes: expected variationBytes \(32\) below averageBytes \(16\), got 32$/],
};

describe('chaosEntrySchema', () => {
  it('has one variant per fault kind, and a fault kind for every variant', () => {
    assert.deepEqual([...faultNames].sort(), Object.keys(faultKinds).sort());
  });

  for (const name of faultNames) {
    it(`takes a well-formed ${name} entry and refuses a bad one, naming the field, the rule and the value`, () => {
      assert.deepEqual(problemsOf(chaosEntrySchema, valid[name], 'chaos[0]'), []);
      const [fields, refusal] = invalid[name];
      const problems = problemsOf(chaosEntrySchema, { fault: name, ...fields }, 'chaos[0]');
      assert.equal(problems.length, 1, problems.join('\n'));
      assert.match(problems[0]!, refusal);
    });
  }

  it('refuses a fault name it does not know, naming the field', () => {
    assert.match(problemsOf(chaosEntrySchema, { fault: 'meteor', at: '1s' }, 'chaos[2]')[0]!, /^chaos\[2\]\.fault: .*got "meteor"$/);
  });

  it('says what a missing required option is', () => {
    assert.deepEqual(problemsOf(chaosEntrySchema, { fault: 'link-latency', at: '1s' }, 'chaos[0]'), [
      'chaos[0].link: expected one of device-gateway, node-node, node-store, push, got nothing',
      'chaos[0].ms: expected a number >= 0, got nothing',
    ]);
  });
});
