import assert from 'node:assert/strict';
import { constants } from 'node:perf_hooks';
import { GcPauseMeter } from './live/gc-pauses.ts';
import { collectGarbage, majorCycles, minorShare, refitLinks, scavenges, simProbe, type ClusterGc } from './calibrate.ts';
import { defaultCalibration } from '../../system/worlds/sim/calibration.ts';

describe('calibrate: the cluster process\'s collections', () => {
  const gc: ClusterGc = { cpuMs: 10_000, minor: { count: 150, totalMs: 1_000, meanMs: 1_000 / 150 }, major: { count: 2, totalMs: 30, meanMs: 15, marking: { meanMs: 85, wallMeanMs: 180, workMeanMs: 68 } } };

  it('turns a run\'s scavenges into the sim\'s pauses: their mean, every so much of the CPU besides them', () => {
    assert.deepEqual(scavenges(gc), { everyCpuMs: 60, pauseMs: 6.6667 });
  });

  it('turns its major cycles into the sim\'s pauses: each one\'s final pause after its marking, taking its share of the loop, every so much of the CPU besides the scavenges', () => {
    // 85 ms of marking between 68 ms of the loop's own work: 85 / 153 of the loop while it lasts.
    assert.deepEqual(majorCycles(gc), { everyCpuMs: 4500, pauseMs: 15, marking: { ms: 85, share: 0.5556 } });
    const unsampled: ClusterGc = { ...gc, major: { ...gc.major, marking: { meanMs: 0, wallMeanMs: 0, workMeanMs: 0 } } };
    assert.deepEqual(majorCycles(unsampled), { everyCpuMs: 4500, pauseMs: 15 }, 'no marking sampled: the final pause alone');
    assert.equal(majorCycles({ ...gc, major: { count: 0, totalMs: 0, meanMs: 0 } }), undefined, 'no cycle: no block');
    assert.equal(majorCycles({ ...gc, major: { count: 2, totalMs: 30, meanMs: 15 } }), undefined, 'no profile of the marking: no block');
    const other: ClusterGc = { cpuMs: 8_000, minor: { count: 120, totalMs: 500, meanMs: 500 / 120 }, major: { count: 1, totalMs: 20, meanMs: 20 } };
    assert.deepEqual(majorCycles(gc, [other]), { everyCpuMs: 5500, pauseMs: 15, marking: { ms: 85, share: 0.5556 } }, 'spacing counted over both runs (16,500 ms of CPU, 3 cycles), the pause and marking from the profiled one');
  });

  it('takes the scavenges\' share of the CPU off the frame costs, and never more than half of it', () => {
    assert.equal(minorShare(gc), 0.1);
    assert.equal(minorShare({ ...gc, cpuMs: 0 }), 0, 'no CPU: no share');
    assert.equal(minorShare({ ...gc, minor: { ...gc.minor, totalMs: 9_000 } }), 0.5);
  });

  it('collects this process\'s heap in full on demand (each measured run starts from one)', async () => {
    const seen = new GcPauseMeter(true);
    seen.start();
    collectGarbage();
    await new Promise((r) => setTimeout(r, 50));
    seen.stop();
    const kinds = seen.entries.map((e) => e.kind);
    assert.ok(kinds.includes(constants.NODE_PERFORMANCE_GC_MAJOR), `kinds seen: ${kinds.join(', ')}`);
  });

  it('fits the device↔gateway hop again to the calibration\'s own light run with the sim as it is, until the sim lands within 3%', async function () {
    this.timeout(120_000);
    const c = structuredClone(defaultCalibration);
    // A light run slower at the median and at the tail than the file's: the hop must move both ways from where it is.
    c.notes = { ...c.notes, lightRun: { e2eP50Ms: 2.6, e2eP99Ms: 12, load: { devices: 200, duration: '3s', e2ee: false } } };
    const before = c.links['device-gateway'];
    await refitLinks(c);
    const fit = (c.notes as { fit: { scalings: number; simE2eP50Ms: number; simE2eP99Ms: number } }).fit;
    assert.ok(Math.abs(fit.simE2eP50Ms - 2.6) <= 0.03 * 2.6 && Math.abs(fit.simE2eP99Ms - 12) <= 0.03 * 12, `the sim after ${fit.scalings} moves: e2e p50 ${fit.simE2eP50Ms}, p99 ${fit.simE2eP99Ms}`);
    assert.notDeepEqual(c.links['device-gateway'], before);
    assert.deepEqual(c.links.push, c.links['device-gateway'], 'the push hop is the same link');
    await assert.rejects(refitLinks({ ...structuredClone(defaultCalibration), notes: {} }), /has no light run to fit its hop to/);
    await assert.rejects(refitLinks({ ...structuredClone(defaultCalibration), notes: { lightRun: { e2eP50Ms: 2.6, e2eP99Ms: 12 } } }), /does not say what its light run ran \(notes\.lightRun\.load\)/);
  });

  it('fits the wake-up on a sim run as the sim of that load runs: the driver\'s loops and the collections bunch the frames, so fewer find the loop idle', async function () {
    this.timeout(120_000);
    const { driver, node } = defaultCalibration;
    assert.ok(driver && node.gc, 'the shipped default has a driver model and the cluster\'s collections');
    const load = { devices: 300, rate: 1500, duration: '3s', e2ee: false };
    const even = await simProbe(load, 1, 0.015, 0.01);
    const asRun = await simProbe(load, 1, 0.015, 0.01, { driver, driverWorkers: 1, gc: node.gc });
    assert.ok(asRun.wakesPerMessage < 0.9 * even.wakesPerMessage, `wake-ups a message: ${asRun.wakesPerMessage.toFixed(2)} as run, ${even.wakesPerMessage.toFixed(2)} evenly spaced`);
    assert.ok(asRun.cpuMsPerMessage > 0 && even.cpuMsPerMessage > 0);
  });
});
