import assert from 'node:assert/strict';
import { problemsOf } from '../../schema/check.ts';
import { datacenterCalibration, nodePauses, validateCalibration } from './calibration.ts';
import { calibrationFileSchema, distSchema } from './calibration-schema.ts';
import { DEFAULT_E2EE_COST } from './e2ee-cost.ts';

describe('calibration schema', () => {
  it('takes every kind of distribution and refuses malformed ones, naming the field', () => {
    for (const d of [{ kind: 'constant', ms: 0 }, { kind: 'lognormal', p50Ms: 1, p99Ms: 5 }, { kind: 'empirical', quantilesMs: [1, 1, 2] }]) assert.deepEqual(problemsOf(distSchema, d), []);
    assert.deepEqual(problemsOf(distSchema, { kind: 'constant', ms: -1 }, 'links.push'), ['links.push.ms: expected a number >= 0, got -1']);
    assert.deepEqual(problemsOf(distSchema, { kind: 'lognormal', p50Ms: 5, p99Ms: 1 }, 'd'), ['d.p99Ms: expected p99Ms at or above p50Ms (5), got 1']);
    assert.deepEqual(problemsOf(distSchema, { kind: 'empirical', quantilesMs: [] }, 'd'), ['d.quantilesMs: expected a non-empty list of quantiles, got []']);
    assert.deepEqual(problemsOf(distSchema, { kind: 'empirical', quantilesMs: [2, 1] }, 'd'), ['d.quantilesMs: expected ascending quantiles, got [2,1]']);
    assert.deepEqual(problemsOf(distSchema, { kind: 'pareto' }, 'd'), ['d.kind: expected a distribution of kind constant, lognormal or empirical, got "pareto"']);
  });

  it('refuses each kind of bad calibration file field with its path', () => {
    const cases: [unknown, string][] = [
      [[], 'c.json: expected a JSON object, got []'],
      [{ version: 2 }, 'c.json.version: expected version 1, got 2'],
      [{ version: 1, links: { 'node-store': { kind: 'constant', ms: 'x' } } }, 'c.json.links.node-store.ms: expected a number >= 0, got "x"'],
      [{ version: 1, stores: { redis: { servers: 0 } } }, 'c.json.stores.redis.servers: expected an integer >= 1, got 0'],
      [{ version: 1, node: { frameMs: { send: { kind: 'constant' } } } }, 'c.json.node.frameMs.send.ms: expected a number >= 0, got nothing'],
      [{ version: 1, resolutionMs: 11 }, 'c.json.resolutionMs: expected a number of ms in (0, 10], got 11'],
      [{ version: 1, node: { wakeMs: -1 } }, 'c.json.node.wakeMs: expected a number of ms in [0, 10], got -1'],
      [{ version: 1, node: { readMs: -1 } }, 'c.json.node.readMs: expected a number of ms in [0, 10], got -1'],
      [{ version: 1, node: { wakePer: 'always' } }, 'c.json.node.wakePer: expected "idle" or "turn", got "always"'],
      [{ version: 1, node: { gc: { major: { everyCpuMs: 0, pauseMs: 50 } } } }, 'c.json.node.gc.major.everyCpuMs: expected a number of ms > 0, got 0'],
      [{ version: 1, node: { gc: { minor: { everyCpuMs: 50 } } } }, 'c.json.node.gc.minor.pauseMs: expected a number of ms >= 0, got nothing'],
    ];
    for (const [file, refusal] of cases) {
      assert.deepEqual(problemsOf(calibrationFileSchema, file, 'c.json'), [refusal]);
      assert.throws(() => validateCalibration(file, 'c.json'), new RangeError(refusal));
    }
  });

  it('takes an e2ee section with every figure of the cost model, and refuses one short of a figure or out of range, naming the field', () => {
    const e2ee = { ...DEFAULT_E2EE_COST, source: 'measured on a test machine' };
    assert.deepEqual(problemsOf(calibrationFileSchema, { version: 1, e2ee }, 'c.json'), []);
    assert.deepEqual(validateCalibration({ version: 1, e2ee }).e2ee, e2ee);
    assert.equal(validateCalibration({ version: 1 }).e2ee, undefined, 'without one, the sim charges DEFAULT_E2EE_COST');
    const { distributionBytes: _, ...short } = e2ee;
    const cases: [unknown, string][] = [
      ['fast', 'c.json.e2ee: expected the e2ee cost figures of `chatlab calibrate`, got "fast"'],
      [short, 'c.json.e2ee.distributionBytes: expected a whole number of bytes >= 0, got nothing'],
      [{ ...e2ee, encryptUs: -1 }, 'c.json.e2ee.encryptUs: expected a number of µs >= 0, got -1'],
      [{ ...e2ee, decryptUs: '70' }, 'c.json.e2ee.decryptUs: expected a number of µs >= 0, got "70"'],
      [{ ...e2ee, messageOverheadBytes: 1.5 }, 'c.json.e2ee.messageOverheadBytes: expected a whole number of bytes >= 0, got 1.5'],
      [{ ...e2ee, source: 3 }, 'c.json.e2ee.source: expected a string, got 3'],
    ];
    for (const [section, refusal] of cases) {
      assert.deepEqual(problemsOf(calibrationFileSchema, { version: 1, e2ee: section }, 'c.json'), [refusal]);
      assert.throws(() => validateCalibration({ version: 1, e2ee: section }, 'c.json'), new RangeError(refusal));
    }
  });

  it('takes the node’s collections and hands them to the node CPU as its pauses', () => {
    const gc = { source: 'open load', minor: { everyCpuMs: 60, pauseMs: 5 }, major: { everyCpuMs: 5000, pauseMs: 60 } };
    const c = validateCalibration({ version: 1, node: { cpu: 'shared', gc } });
    assert.deepEqual(c.node.gc, gc);
    assert.deepEqual(nodePauses(c), [gc.minor, gc.major], 'scavenges, then major cycles');
    assert.deepEqual(nodePauses(validateCalibration({ version: 1, node: { gc: { major: gc.major } } })), [gc.major]);
    assert.deepEqual(nodePauses(validateCalibration({ version: 1 })), [], 'absent: no pauses');
  });

  it('keeps what pays the node’s wake-up: each turn of its loop, or (absent) work that finds it idle', () => {
    assert.equal(validateCalibration({ version: 1, node: { wakeMs: 0.02, wakePer: 'turn' } }).node.wakePer, 'turn');
    assert.equal(validateCalibration({ version: 1, node: { wakeMs: 0.02 } }).node.wakePer, undefined);
    assert.equal(validateCalibration({ version: 1, node: { wakeMs: 0.02, wakePer: 'turn', readMs: 0.01 } }).node.readMs, 0.01);
    assert.equal(validateCalibration({ version: 1 }).node.readMs, undefined, 'absent: the read is in the frame costs');
  });

  it('fills what a file leaves out from the datacenter figures', () => {
    const c = validateCalibration({ version: 1, source: 42, stores: { redis: { servers: 4, opMs: { 'bus.publish': { kind: 'constant', ms: 0.5 } } } } });
    assert.equal(c.source, 'unnamed');
    assert.deepEqual(c.links, datacenterCalibration.links);
    assert.deepEqual(c.stores.redis, { servers: 4, opMs: { default: datacenterCalibration.stores.redis.opMs.default, 'bus.publish': { kind: 'constant', ms: 0.5 } } });
    assert.deepEqual(c.stores.cassandra, datacenterCalibration.stores.cassandra);
  });
});
