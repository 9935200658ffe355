import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Report } from '../../../reports/report.ts';
import { replaySim, runSim } from './sim.ts';
import { datacenterCalibration } from '../../../system/worlds/sim/calibration.ts';
import { DEFAULT_E2EE_COST } from '../../../system/worlds/sim/e2ee-cost.ts';
import { withoutWallClock } from './sim-report.ts';
import { unhandledRejectionsOf } from '../../../system/testing/harness.ts';
import { drillFile } from '../../drills/drill-file.ts';

const quiet = { progress: false, log: () => {} };
const small = { devices: 300, duration: '3s', rate: 100 };

/** report.json as written, minus the fields docs/report-schema.md lists as wall-clock. */
function deterministicPart(path: string): string {
  return JSON.stringify(withoutWallClock(JSON.parse(readFileSync(path, 'utf8')) as Report));
}

describe('Sim engine', function () {
  this.timeout(300_000);

  it('gives a byte-identical report.json for the same seed and scenario, wall-clock fields aside', async () => {
    const dirs = [mkdtempSync(join(tmpdir(), 'chatlab-sim-')), mkdtempSync(join(tmpdir(), 'chatlab-sim-'))];
    const runs = [];
    for (const outDir of dirs) runs.push(await runSim({ scenario: 'steady-chat', overrides: small, seed: 11, outDir, ...quiet }));
    const [a, b] = runs.map((r) => r.report);
    assert.equal(a!.world, 'sim');
    assert.ok(a!.messages.acked > 250, `acked ${a!.messages.acked}`);
    assert.ok(a!.latency.e2eMs.count > 0 && a!.timeline.buckets.length > 0);
    assert.equal(a!.delivery.lost, 0);
    assert.equal((a!.meta.replay as { seed: number }).seed, 11);
    assert.equal(deterministicPart(runs[0]!.files!.json), deterministicPart(runs[1]!.files!.json));
    // The wall-clock fields are there and are the only ones allowed to differ.
    assert.equal(typeof a!.startedAt, 'string');
    assert.equal(typeof (a!.meta.wall as { wallMs: number }).wallMs, 'number');
    const other = await runSim({ scenario: 'steady-chat', overrides: small, seed: 12, ...quiet });
    assert.notEqual(JSON.stringify(withoutWallClock(other.report)), JSON.stringify(withoutWallClock(b!)), 'another seed gives another run');
  });

  it('with a driver model, passes every device frame through its worker\'s loop: its pauses reach the latencies, and nothing is lost', async () => {
    const fast = { kind: 'constant' as const, ms: 0.2 };
    const base = { ...datacenterCalibration, links: { ...datacenterCalibration.links, 'device-gateway': fast, push: fast }, node: { ...datacenterCalibration.node, cpu: 'shared' as const } };
    const free = (await runSim({ scenario: 'steady-chat', overrides: small, seed: 11, calibration: base, ...quiet })).report;
    const driver = { frameMs: 0.05, gcEveryFrames: 400, gcPauseMs: 30 };
    const { report } = await runSim({ scenario: 'steady-chat', overrides: small, seed: 11, calibration: { ...base, driver }, driverWorkers: 3, ...quiet });
    const m = (report.meta.sim as { driverModel: { workers: number; frames: number; pauses: number; busiestMs: number } }).driverModel;
    assert.equal(m.workers, 3);
    assert.ok(m.frames > report.messages.acked * 2, `frames ${m.frames}`);
    assert.ok(m.pauses > 0 && m.busiestMs > 0);
    assert.equal(report.delivery.lost, 0);
    assert.equal(report.messages.acked, report.messages.sent);
    assert.ok(report.latency.e2eMs.p99 > free.latency.e2eMs.p99 + 5, `p99 ${report.latency.e2eMs.p99} with 30 ms pauses against ${free.latency.e2eMs.p99} without`);
    assert.equal((free.meta.sim as { driverModel?: unknown }).driverModel, undefined, 'no driver section: no loops');
    // Arrivals wait for a live worker's timers (whole ms, at least 1 after arming): a send lag as live shows, none without the model.
    const lag = report.latency.sendLagMs;
    assert.ok(lag.p50 > 0.1 && lag.p50 < 1.5 && lag.max <= 2.01, `send lag with the driver modeled: p50 ${lag.p50}, max ${lag.max}`);
    assert.equal(free.latency.sendLagMs.max, 0, 'no driver section: arrivals at their intended time');
  });

  it('with a driver model, stamps a delivery after its own decryption, on its worker\'s loop, as live does', async () => {
    const fast = { kind: 'constant' as const, ms: 0.2 };
    const base = { ...datacenterCalibration, links: { ...datacenterCalibration.links, 'device-gateway': fast, push: fast }, node: { ...datacenterCalibration.node, cpu: 'shared' as const } };
    const driver = { frameMs: 0.01, gcEveryFrames: 1e9, gcPauseMs: 0 };
    const run = async (decryptUs: number) =>
      (await runSim({ scenario: 'steady-chat', overrides: small, seed: 11, calibration: { ...base, driver, e2ee: { ...DEFAULT_E2EE_COST, decryptUs, groupDecryptUs: decryptUs } }, driverWorkers: 3, ...quiet })).report;
    const cheap = await run(10);
    const costly = await run(4000);
    for (const r of [cheap, costly]) assert.equal(r.delivery.lost, 0);
    const rise = costly.latency.e2eMs.p50 - cheap.latency.e2eMs.p50;
    // Every delivery pays its own 4 ms: the median moves by all of it (and a little more, for the loop that waited).
    assert.ok(rise >= 3.9 && rise < 6, `e2e p50 ${costly.latency.e2eMs.p50} ms decrypting in 4 ms against ${cheap.latency.e2eMs.p50} in 0.01 ms`);
  });

  it('with the node process\'s major collections, blocks the node CPU every so much work: the blocks reach the tail, not the median, and nothing is lost', async () => {
    const fast = { kind: 'constant' as const, ms: 0.2 };
    const base = { ...datacenterCalibration, links: { ...datacenterCalibration.links, 'device-gateway': fast, push: fast }, node: { ...datacenterCalibration.node, cpu: 'shared' as const } };
    const free = (await runSim({ scenario: 'steady-chat', overrides: small, seed: 11, calibration: base, ...quiet })).report;
    const gc = { major: { everyCpuMs: 40, pauseMs: 60 } };
    const { report } = await runSim({ scenario: 'steady-chat', overrides: small, seed: 11, calibration: { ...base, node: { ...base.node, gc } }, ...quiet });
    const m = (report.meta.sim as { nodeGc: { minor?: unknown; major: { everyCpuMs: number; pauseMs: number; pauses: number } } }).nodeGc;
    assert.equal(m.major.everyCpuMs, 40);
    assert.equal(m.minor, undefined);
    assert.ok(m.major.pauses >= 2, `pauses ${m.major.pauses}`);
    assert.equal(report.delivery.lost, 0);
    assert.equal(report.messages.acked, report.messages.sent);
    assert.ok(report.latency.e2eMs.p99 > free.latency.e2eMs.p99 + 20, `p99 ${report.latency.e2eMs.p99} with 60 ms blocks against ${free.latency.e2eMs.p99} without`);
    assert.ok(report.latency.e2eMs.p50 < free.latency.e2eMs.p50 * 1.5 + 1, `p50 ${report.latency.e2eMs.p50} against ${free.latency.e2eMs.p50}`);
    assert.equal((free.meta.sim as { nodeGc?: unknown }).nodeGc, undefined, 'no gc section: no blocks');
  });

  it('with wakePer turn, charges the node\'s wake-up to each turn of its busy loop, not once a busy stretch: more wake-ups, more CPU a message, nothing lost', async () => {
    const fast = { kind: 'constant' as const, ms: 0.2 };
    const ms = (x: number) => ({ kind: 'constant' as const, ms: x });
    // A node busy most of the time at this load: ~7 units of 0.8 ms a message at 100 messages a second.
    const node = { ...datacenterCalibration.node, cpu: 'shared' as const, frameMs: { hello: ms(2.4), send: ms(1.6), recv: ms(0.8), read: ms(0.8), other: ms(0.8) }, envelopeMs: ms(0.4), frameOutMs: ms(0.2), wakeMs: 0.3 };
    const base = { ...datacenterCalibration, links: { ...datacenterCalibration.links, 'device-gateway': fast, push: fast }, node };
    const run = async (wakePer: 'idle' | 'turn') => {
      const { report, world } = await runSim({ scenario: 'steady-chat', overrides: small, seed: 11, calibration: { ...base, node: { ...node, wakePer } }, ...quiet });
      const cpu = (world as { transports: { cpu: { totalWakes: number; totalBusyMs: number } }[] }).transports[0]!.cpu;
      return { report, wakes: cpu.totalWakes, busyMs: cpu.totalBusyMs };
    };
    const idle = await run('idle');
    const turn = await run('turn');
    assert.ok(turn.wakes > idle.wakes * 1.2, `wake-ups: ${turn.wakes} a turn against ${idle.wakes} an idle start`);
    assert.ok(turn.busyMs > idle.busyMs, `CPU: ${turn.busyMs} against ${idle.busyMs}`);
    for (const r of [idle.report, turn.report]) {
      assert.equal(r.delivery.lost, 0);
      assert.equal(r.messages.acked, r.messages.sent);
    }
  });

  it('reports messages sent and events scheduled every simulated second of the load (onSample)', async () => {
    const samples: { virtualMs: number; sent: number; events: number }[] = [];
    const { report } = await runSim({ scenario: 'steady-chat', overrides: small, seed: 11, ...quiet, onSample: (x) => samples.push(x) });
    assert.deepEqual(samples.slice(0, 3).map((x) => x.virtualMs), [1000, 2000, 3000]);
    for (let i = 1; i < samples.length; i++) {
      assert.ok(samples[i]!.sent >= samples[i - 1]!.sent && samples[i]!.events > samples[i - 1]!.events, `sample ${i} goes back`);
    }
    assert.ok(samples[0]!.sent > 50, `a second at 100 msgs/s: ${samples[0]!.sent}`);
    assert.equal(samples.at(-1)!.sent, report.messages.sent);
  });

  it('finds one dropped inbox write, names the message, and replays it exactly from the seed', async () => {
    // offline-burst: every message goes to a backgrounded device, so its inbox entry is its only copy.
    const overrides = { devices: 40, duration: '2s', rate: 100, warmup: '0s' };
    const clean = await runSim({ scenario: 'offline-burst', overrides, seed: 5, ...quiet });
    assert.equal(clean.report.delivery.lost, 0, 'without the fault nothing is lost');
    assert.equal(clean.report.meta.firstViolation, null);

    const lines: string[] = [];
    const outDir = mkdtempSync(join(tmpdir(), 'chatlab-sim-drop-'));
    const inject = [{ atMs: 1500, port: 'inbox' as const, op: 'put', action: 'drop' as const }];
    const { report } = await runSim({ scenario: 'offline-burst', overrides, seed: 5, inject, outDir, progress: false, log: (l) => lines.push(l) });
    assert.equal(report.delivery.lost, 1);
    assert.equal(report.passed, false);
    assert.equal(report.thresholds.find((t) => t.metric === 'lost')?.passed, false);
    const v = report.meta.firstViolation as { kind: string; mid: string; path: string; virtualMs: number; seed: number; device: string };
    assert.equal(v.kind, 'lost');
    assert.match(v.mid, /^[0-9a-f]{18}$/);
    assert.equal(v.seed, 5);
    assert.equal(v.path, report.delivery.firstLost!.path);
    // The dropped write is the first inbox put after 1,500 ms: its message was sent at most one ack latency before.
    const ackMax = report.latency.ackMs.max!;
    assert.ok(v.virtualMs >= 1500 - ackMax && v.virtualMs <= 1600, `sent at ${v.virtualMs} ms, the drop was armed at 1500 ms (ack max ${ackMax} ms)`);
    const said = lines.find((l) => l.includes('first violation'));
    assert.ok(said?.includes(v.mid) && said.includes('seed 5') && said.includes(v.path), said);

    const again = await replaySim(JSON.parse(readFileSync(join(outDir, 'report.json'), 'utf8')) as Report, quiet);
    assert.deepEqual(again.diff, []);
    assert.deepEqual(again.report.meta.firstViolation, v);
  });

  it('kills and restarts a node at virtual time (node-failure drill) and loses nothing acked', async () => {
    const { report } = await runSim({ scenario: 'node-failure', overrides: { devices: 90, duration: '6s', rate: 60 }, seed: 5, ...quiet });
    assert.equal(report.faults.length, 1);
    assert.equal(report.faults[0]!.kind, 'node-kill');
    // 30% and 60% of the 6 s load after the 2 s warm-up, in virtual time; the restart ends once the new core has started (a few store round trips).
    assert.ok(Math.abs(report.faults[0]!.startMs - 3800) <= 0.5, `killed at ${report.faults[0]!.startMs}`);
    assert.ok(report.faults[0]!.endMs >= 5600 && report.faults[0]!.endMs <= 5610, `restarted at ${report.faults[0]!.endMs}`);
    assert.equal(report.delivery.lost, 0);
    assert.equal(report.delivery.duplicated, 0);
    assert.ok(report.paths['offline-drain'].delivered + report.paths['cross-node'].delivered > 0);
    assert.equal(report.passed, true);
  });

  it('cuts a node off from Redis at virtual time (partition drill): its sends are retried, nothing acked is lost', async () => {
    let report!: Report;
    const unhandled = await unhandledRejectionsOf(async () => {
      ({ report } = await runSim({ scenario: 'partition', overrides: { devices: 2000, duration: '20s' }, seed: 5, ...quiet }));
    });
    assert.deepEqual(unhandled, [], 'no store failure went unhandled (a live node would have died of it)');
    assert.deepEqual(report.faults.map((f) => [f.kind, f.target, Math.round(f.startMs), Math.round(f.endMs)]), [['partition', 'node-2|redis', 7000, 17000]], '25%-75% of the 20 s load, after the 2 s warm-up');
    const unavailable = report.errors.byCode.unavailable;
    assert.ok(unavailable && unavailable.count > 0 && unavailable.retriedOk === unavailable.count, JSON.stringify(unavailable));
    assert.equal(report.delivery.lost, 0);
    assert.equal(report.delivery.duplicated, 0);
    assert.equal(report.passed, true);
  });

  it('drops every device at once and loses nothing acked as they reconnect (reconnect-storm)', async () => {
    for (const seed of [1, 3]) {
      const { report } = await runSim({ scenario: 'reconnect-storm', overrides: {}, seed, ...quiet });
      assert.ok(report.devices.connectedPeak === 1000 && report.messages.acked > 4000, `seed ${seed}: acked ${report.messages.acked}`);
      assert.equal(report.delivery.lost, 0, `seed ${seed}: ${JSON.stringify(report.delivery.firstLost)}`);
      assert.equal(report.delivery.duplicated, 0);
    }
  });

  it('loses nothing with two devices per user under every sim fault at once (stores away, slow and lossy links, cuts, a node stop)', async () => {
    const file = drillFile('sim-fault-mix', [
      { fault: 'store-outage', store: 'redis', at: '10%', duration: '10%' },
      { fault: 'store-outage', store: 'cassandra', at: '25%', duration: '10%' },
      { fault: 'link-latency', link: 'node-store', ms: 200, at: '40%', duration: '10%' },
      { fault: 'link-loss', link: 'node-node', p: 0.2, at: '55%', duration: '10%' },
      { fault: 'link-loss', link: 'device-gateway', p: 0.1, at: '55%', duration: '10%' },
      { fault: 'partition', target: 'node-1', peer: 'cassandra', at: '70%', duration: '10%' },
      { fault: 'partition', target: 'node-3', peer: 'node-2', at: '70%', duration: '10%' },
      { fault: 'node-stop', target: 'node-2', at: '82%', duration: '5%' },
      { fault: 'store-outage', store: 'push', at: '85%', duration: '10%' },
    ], { population: { devices: 1000, devicesPerUser: 2 } });
    let report!: Report;
    const unhandled = await unhandledRejectionsOf(async () => {
      ({ report } = await runSim({ scenario: file, overrides: { duration: '20s' }, seed: 9, ...quiet }));
    });
    assert.deepEqual(unhandled, []);
    assert.equal(report.faults.length, 9);
    assert.ok(report.delivery.expected > report.messages.acked, 'each message is owed to more than one device');
    assert.equal(report.delivery.lost, 0, JSON.stringify(report.delivery.firstLost));
    assert.equal(report.delivery.duplicated, 0);
    assert.equal(report.passed, true);
  });

  it('redelivers live deliveries the bus lost: with 30% of envelopes lost, every owed delivery arrives before the end', async () => {
    const file = drillFile('bus-loss', [{ fault: 'link-loss', link: 'node-node', p: 0.3, at: '10%', duration: '60%' }], {
      population: { devices: 300, devicesPerUser: 1 }, graceMs: 10_000,
    });
    const { report, world } = await runSim({ scenario: file, overrides: { duration: '5s', rate: 100 }, seed: 4, ...quiet });
    assert.ok(world.stores.busLost.count > 50, `the bus lost ${world.stores.busLost.count} envelopes`);
    assert.ok(report.delivery.expected > 300);
    assert.equal(report.delivery.lost, 0, JSON.stringify(report.delivery.firstLost));
    assert.equal(report.delivery.delivered, report.delivery.expected, 'nothing left pending in an inbox');
  });

  it('catches up a large group\'s members on the messages whose group envelope the bus lost', async () => {
    const chaos = [{ fault: 'link-loss' as const, link: 'node-node' as const, p: 0.3, at: '10%', duration: '50%' }];
    const { report, world } = await runSim({ scenario: 'group-fanout', overrides: { duration: '8s', chaos }, seed: 1, ...quiet });
    assert.ok(world.stores.busLost.count > 0, 'the bus lost envelopes');
    assert.ok(report.paths['group-read'].expected > 10_000);
    assert.equal(report.paths['group-read'].lost, 0, JSON.stringify(report.delivery.firstLost));
    assert.equal(report.delivery.lost, 0);
  });

  it('runs 100,000 devices inside the test suite', async () => {
    const { report } = await runSim({ scenario: 'steady-chat', overrides: { devices: 100_000, duration: '2s', rate: 200, nodes: 4 }, seed: 3, ...quiet });
    assert.equal(report.devices.planned, 100_000);
    assert.equal(report.devices.connectedPeak, 100_000);
    assert.ok(report.messages.acked >= 390, `acked ${report.messages.acked}`);
    assert.equal(report.delivery.lost, 0);
  });
});
