import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { datacenterCalibration } from '../system/worlds/sim/calibration.ts';
import { buildPlan, type PlanOptions, writePlan } from './command.ts';
import { parseCount, parseDays, plan, PlanInputError, resolvePlanInput } from './plan.ts';
import { value as planValue } from './render.ts';
import { verifyPlan } from './verify.ts';

const value = (p: ReturnType<typeof plan>, key: string) => p.lines.find((l) => l.key === key)!.value;

describe('chatlab plan', () => {
  it('reproduces 100 billion messages a day as about 1.16M msgs/s on average', () => {
    const p = buildPlan({ dau: '2B', msgsPerUserDay: '50', peakFactor: '1' });
    assert.equal(value(p, 'msgsPerDay'), 100e9);
    assert.ok(Math.abs(value(p, 'avgMsgsPerSec') - 1_157_407.4) < 1, String(value(p, 'avgMsgsPerSec')));
    assert.equal(p.lines.find((l) => l.key === 'avgMsgsPerSec')!.formula, 'msgs/day ÷ 86,400 s');
  });

  it('reproduces 500M concurrent connections at 100k per server as 5,000 servers', () => {
    const p = buildPlan({ dau: '500M', msgsPerUserDay: '1', peakFactor: '1', concurrent: '500M', connsPerNode: '100k', headroom: '0' });
    assert.equal(value(p, 'gatewaysForConnections'), 5000);
    // With the default 30% headroom the same connections need 7,143 servers.
    assert.equal(value(buildPlan({ dau: '500M', msgsPerUserDay: '1', peakFactor: '1', concurrent: '500M' }), 'gatewaysForConnections'), 7143);
  });

  it('matches a hand-computed small case, figure by figure', () => {
    // 1M users × 10 msgs = 10M/day; 115.74/s average, 231.48/s at peak factor 2; one device each, no groups:
    // each message goes to 1 device (2·1 − 1); 60% online → 600k connections; 3 writes per device + 1 append, ×3 replicas.
    const p = plan(resolvePlanInput({ dau: 1e6, msgsPerUserDay: 10, peakFactor: 2, devicesPerUser: 1, groupShare: 0, retentionDays: 10, headroom: 0.5 }));
    const peak = (10e6 / 86_400) * 2;
    assert.ok(Math.abs(value(p, 'peakMsgsPerSec') - peak) < 1e-9);
    assert.equal(value(p, 'devicesPerMessage'), 1);
    assert.equal(value(p, 'concurrentConnections'), 600_000);
    assert.equal(value(p, 'gatewaysForConnections'), 12); // 600k / (100k × 0.5)
    assert.ok(Math.abs(value(p, 'storeWritesPerSec') - peak * 4 * 3) < 1e-6);
    assert.equal(value(p, 'messageLogBytes'), 10e6 * 10 * 300 * 3);
    assert.ok(Math.abs(value(p, 'pushPerSec') - peak * 0.4) < 1e-9);
    assert.ok(Math.abs(value(p, 'bandwidthBitsPerSec') - peak * 2 * 300 * 8) < 1e-6);
  });

  it('rejects negative, missing and malformed figures with errors that name the option, the rule and the value', () => {
    const base = { dau: '500M', msgsPerUserDay: '40', peakFactor: '3' };
    const refusal = (o: PlanOptions): string => {
      const e = (() => {
        try {
          buildPlan(o);
        } catch (err) {
          return err;
        }
        return assert.fail('accepted');
      })();
      assert.ok(e instanceof PlanInputError, String(e));
      return e.message;
    };
    assert.equal(refusal({ ...base, dau: '-5' }), '--dau: expected a finite number >= 0, got -5');
    assert.equal(refusal({ msgsPerUserDay: '40', peakFactor: '3' }), '--dau: expected a number like 500M, 1.5, 100e9 or 2B, got nothing');
    assert.equal(refusal({ dau: '500M', peakFactor: '3' }), '--msgs-per-user-day: expected a number like 500M, 1.5, 100e9 or 2B, got nothing');
    assert.equal(refusal({ ...base, dau: 'lots' }), '--dau: expected a number like 500M, 1.5, 100e9 or 2B, got "lots"');
    assert.equal(refusal({ ...base, dau: '1e999' }), '--dau: expected a finite number >= 0, got Infinity');
    assert.equal(refusal({ ...base, peakFactor: '0.5' }), '--peak-factor: expected a number of at least 1 (the peak is not below the average), got 0.5');
    assert.equal(refusal({ ...base, groupShare: '1.5' }), '--group-share: expected a number between 0 and 1, got 1.5');
    assert.equal(refusal({ ...base, headroom: '1' }), '--headroom: expected a number between 0 and 1, below 1, got 1');
    assert.equal(refusal({ ...base, msgsPerUserDay: '0' }), '--msgs-per-user-day: expected a number greater than 0, got 0');
    assert.equal(refusal({ ...base, groupSize: '1' }), '--group-size: expected a number of at least 2, got 1');
    assert.equal(refusal({ ...base, concurrent: '0' }), '--concurrent: expected a number greater than 0, got 0');
    assert.equal(refusal({ ...base, retention: '-1d' }), '--retention: expected a finite number >= 0, got -1');
    assert.equal(refusal({ ...base, retention: '2w' }), '--retention: expected days like 30d, 12h or 90, got "2w"');
    assert.throws(() => resolvePlanInput({ dau: Number.NaN, msgsPerUserDay: 1, peakFactor: 1 }), { message: '--dau: expected a number greater than 0, got NaN' });
  });

  it('reads counts and days as typed', () => {
    for (const [text, n] of [['1.5k', 1500], ['500M', 5e8], ['1.5B', 1.5e9], ['100e9', 1e11], [' 2 g ', 2e9], ['40', 40]] as const) assert.equal(parseCount(text, 'x'), n, text);
    assert.equal(parseCount(7, 'x'), 7);
    for (const [text, n] of [['30d', 30], ['12h', 0.5], ['90', 90], [' 1.5 d ', 1.5]] as const) assert.equal(parseDays(text, 'retention'), n, text);
  });

  it('writes the plan as JSON, Markdown and HTML, each figure with its formula', () => {
    const dir = mkdtempSync(join(tmpdir(), 'chatlab-plan-'));
    const p = buildPlan({ dau: '500M', msgsPerUserDay: '40', peakFactor: '3' }, datacenterCalibration);
    const files = writePlan(p, dir);
    for (const f of Object.values(files)) assert.ok(existsSync(f));
    const json = JSON.parse(readFileSync(files.json, 'utf8'));
    assert.equal(json.plan.length, p.lines.length);
    assert.ok(json.plan.every((l: { formula: string }) => l.formula.length > 0));
    assert.match(readFileSync(files.md, 'utf8'), /\| peak message rate \| 694,444 msgs\/s \|/);
    const html = readFileSync(files.html, 'utf8');
    assert.match(html, /<td>gateway nodes needed<\/td>/);
    assert.match(html, /<p>Inputs: [^<]*dau=500M, msgsPerUserDay=40, peakFactor=3/, 'plan.html shows the inputs it plans for');
    assert.match(p.capacitySource, /calibration "datacenter/);
  });

  it('writes figures in units that scale: PB and Gbit/s, "6,430 nodes", "2.64 million"', () => {
    assert.equal(planValue(2.7e15, 'bytes'), '2.7 PB');
    assert.equal(planValue(540e12, 'bytes'), '540 TB');
    assert.equal(planValue(8e9, 'bit/s'), '8 Gbit/s');
    assert.equal(planValue(6430, 'nodes'), '6,430 nodes');
    assert.equal(planValue(3.8, 'devices'), '3.8 devices');
    assert.equal(planValue(2_640_000, 'deliveries/s'), '2.64 million deliveries/s');
    assert.equal(planValue(20e9, 'msgs/day'), '20 billion msgs/day');
  });

  it('--verify runs the planned connections and message rate per node, and says which figures it tested', async function () {
    this.timeout(300_000);
    // 90k DAU: 30 gateway nodes would be planned at 100k each, so 1 node holds ~1,929 devices: the cell runs 3 nodes' share.
    const p = buildPlan({ dau: '90k', msgsPerUserDay: '40', peakFactor: '3', connsPerNode: '2000' });
    const v = await verifyPlan(p, { duration: '4s' });
    const perNode = p.lines.find((l) => l.key === 'concurrentConnections')!.value / p.lines.find((l) => l.key === 'gatewayNodes')!.value;
    assert.equal(v.cell.plannedConnsPerNode, Math.round(perNode));
    assert.equal(v.cell.devices, Math.round(perNode * 3), 'every planned connection of the cell is a simulated device');
    assert.ok(v.tested.some((t) => /per-node connections: .* as planned/.test(t)), v.tested.join('; '));
    assert.ok(!v.untested.some((t) => /per-node connections/.test(t)));
  });

  it('--verify simulates one cell with a node failure and says whether the SLOs hold, and why not', async function () {
    this.timeout(300_000);
    const p = buildPlan({ dau: '10M', msgsPerUserDay: '40', peakFactor: '3' });
    const ok = await verifyPlan(p, { cellDevices: 300, duration: '6s' });
    assert.equal(ok.holds, true, ok.summary);
    assert.match(ok.summary, /^holds: a 3-node cell at the planned per-node load .*decided by e2e_latency p\(99\)<1000 \(actual [\d.]+\)/);
    assert.ok(ok.untested.some((t) => /per-node connections: the cell held 100 devices per node/.test(t)), 'a cell smaller than planned says so');
    assert.ok(ok.untested.some((t) => /store fleet/.test(t)));
    assert.ok(ok.tested.some((t) => /per-node message rate/.test(t)));
    const strict = await verifyPlan(p, { cellDevices: 300, duration: '6s', sloP99Ms: 5 });
    assert.equal(strict.holds, false);
    assert.match(strict.summary, /^does not hold, because e2e_latency p\(99\)<5 was \d/);
  });
});
