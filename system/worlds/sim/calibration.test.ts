import assert from 'node:assert/strict';
import { builtinCalibrations, datacenterCalibration, defaultCalibration, validateCalibration } from './calibration.ts';
import { SimWorld } from './sim-world.ts';
import { DEFAULT_E2EE_COST } from './e2ee-cost.ts';

describe('calibration', () => {
  it('ships a measured default with its provenance: where, when, on what machine, by which command', () => {
    assert.match(defaultCalibration.source, /^embedded world on \d{4}-\d{2}-\d{2}/);
    const notes = defaultCalibration.notes as Record<string, unknown>;
    assert.match(String(notes.machine), /\d+ × .+, \d+ GiB/);
    assert.match(String(notes.command), /^chatlab calibrate --world embedded/);
    assert.ok((notes.closedLoop as { saturationMsgsPerSec: number }).saturationMsgsPerSec > 0);
    assert.equal(defaultCalibration.node.cpu, 'shared', 'the embedded world runs every node on one event loop');
    assert.equal(defaultCalibration.resolutionMs, 0.01);
    assert.equal(builtinCalibrations.embedded, defaultCalibration);
    // The driver's loops too, measured in the same sitting: an uncalibrated sim of the main job has the driver's delays.
    const driver = defaultCalibration.driver!;
    assert.match(driver.source!, /^embedded runs of steady-chat/);
    assert.ok(driver.frameMs > 0 && driver.gcEveryFrames > 0 && driver.gcPauseMs > 0);
    assert.equal(builtinCalibrations.datacenter, datacenterCalibration);
  });

  it("ships the E2EE cost measured on the same machine, the figures DEFAULT_E2EE_COST holds for a file without them", () => {
    const e2ee = defaultCalibration.e2ee!;
    assert.match(e2ee.source, /^measureE2eeCost, real DeviceCrypto.*: \d+ cores \(.+\), node v\d+.*\d{4}-\d{2}-\d{2}/);
    assert.deepEqual(e2ee, DEFAULT_E2EE_COST);
    assert.ok(e2ee.sessionStartUs > e2ee.encryptUs && e2ee.preKeyMessageOverheadBytes > e2ee.messageOverheadBytes);
    assert.equal(datacenterCalibration.e2ee, undefined);
  });

  it('refuses a node.cpu or resolutionMs it does not know, naming the field', () => {
    assert.throws(() => validateCalibration({ version: 1, node: { cpu: 'both' } }, 'c.json'), /c\.json\.node\.cpu: expected "per-node" or "shared", got "both"/);
    assert.throws(() => validateCalibration({ version: 1, resolutionMs: 0 }, 'c.json'), /c\.json\.resolutionMs: expected a number of ms in \(0, 10\], got 0/);
    assert.equal(validateCalibration({ version: 1, node: { cpu: 'shared' }, resolutionMs: 0.01 }).resolutionMs, 0.01);
    assert.equal(validateCalibration({ version: 1 }).node.cpu, undefined, 'per-node unless said');
  });

  it("node.cpu shared: every node's work waits for one event loop; per-node: one each", () => {
    const shared = new SimWorld({ nodes: 3, seed: 1, calibration: { ...datacenterCalibration, node: { ...datacenterCalibration.node, cpu: 'shared' } } });
    assert.equal(new Set(shared.transports.map((t) => t.cpu)).size, 1);
    const own = new SimWorld({ nodes: 3, seed: 1, calibration: datacenterCalibration });
    assert.equal(new Set(own.transports.map((t) => t.cpu)).size, 3);
  });

  it('node.wakeMs: every node CPU (shared or its own) charges it to work that finds it idle; a file keeps it', () => {
    const node = { ...datacenterCalibration.node, wakeMs: 0.05 };
    const shared = new SimWorld({ nodes: 2, seed: 1, calibration: { ...datacenterCalibration, node: { ...node, cpu: 'shared' } } });
    const own = new SimWorld({ nodes: 2, seed: 1, calibration: { ...datacenterCalibration, node } });
    for (const cpu of [shared.transports[0]!.cpu, own.transports[1]!.cpu]) {
      assert.equal(cpu.admit(1, 0.01), 1.06);
      assert.equal(cpu.admit(1, 0.01), 1.07);
    }
    assert.equal(new SimWorld({ nodes: 1, seed: 1, calibration: datacenterCalibration }).transports[0]!.cpu.wakeMs, 0, 'absent: 0');
    assert.equal(validateCalibration({ version: 1, node: { wakeMs: 0.02 } }, 'c.json').node.wakeMs, 0.02);
  });

  it('driver: a file keeps the driver model; a wrong figure is refused by name; none means devices cost nothing', () => {
    const driver = { source: 'x', frameMs: 0.05, wakeMs: 0.04, gcEveryFrames: 3000, gcPauseMs: 3 };
    assert.deepEqual(validateCalibration({ version: 1, driver }, 'c.json').driver, driver);
    assert.throws(() => validateCalibration({ version: 1, driver: { frameMs: 0.05, gcEveryFrames: 0, gcPauseMs: 3 } }, 'c.json'), /c\.json\.driver\.gcEveryFrames: expected a number of frames > 0/);
    assert.throws(() => validateCalibration({ version: 1, driver: { frameMs: 0.05, gcEveryFrames: 1, gcPauseMs: 3, workers: 2 } }, 'c.json'), /c\.json\.driver/);
    assert.equal(validateCalibration({ version: 1 }).driver, undefined);
  });
});
