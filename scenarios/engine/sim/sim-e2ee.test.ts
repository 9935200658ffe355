import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { defaultCalibration } from '../../../system/worlds/sim/calibration.ts';
import { DEFAULT_E2EE_COST } from '../../../system/worlds/sim/e2ee-cost.ts';
import { runSim } from './sim.ts';

const quiet = { progress: false, log: () => {} };
/** Measures a device's heap in a process of its own (see the script). */
const HEAP_SCRIPT = fileURLToPath(new URL('../../../test/support/sim-device-heap.ts', import.meta.url));
const small = { devices: 200, duration: '2s' };

describe('Sim engine: modeled E2EE', function () {
  this.timeout(300_000);

  it("charges the default calibration's measured e2ee figures and names them; --no-e2ee runs plaintext", async () => {
    const cost = defaultCalibration.e2ee!;
    assert.ok(cost, 'the shipped calibration carries an e2ee section');
    const { report } = await runSim({ scenario: 'steady-chat', overrides: small, seed: 3, ...quiet });
    const e2ee = report.e2ee!;
    assert.equal(e2ee.mode, 'modeled');
    assert.equal(e2ee.costSource, cost.source);
    assert.ok(e2ee.messages > 100, `messages ${e2ee.messages}`);
    // Most messages are 1:1 on a session already started (session starts are charged apart): one encrypt each.
    assert.equal(e2ee.encryptUs.p50, cost.encryptUs);
    assert.ok(e2ee.sessionsStarted > 0 && e2ee.sessionsAccepted > 0);
    assert.deepEqual(e2ee.undecryptable, {});
    // The sim's links carry objects; the bytes are still the frames' JSON, ciphertexts sized as the model says.
    assert.ok(e2ee.bytesPerMessage > e2ee.overheadBytesPerMessage, `bytes per message ${e2ee.bytesPerMessage}, overhead ${e2ee.overheadBytesPerMessage}`);

    const off = await runSim({ scenario: 'steady-chat', overrides: { ...small, e2ee: false }, seed: 3, ...quiet });
    assert.equal(off.report.e2ee!.mode, 'off');
    assert.equal(off.report.e2ee!.costSource, undefined);
    assert.equal(off.report.e2ee!.messages, 0);
    assert.ok(off.report.e2ee!.bytesPerMessage > 0 && off.report.e2ee!.bytesPerMessage < e2ee.bytesPerMessage, `plaintext ${off.report.e2ee!.bytesPerMessage} vs ${e2ee.bytesPerMessage} bytes per message`);
  });

  it("charges a calibration file's own e2ee figures", async () => {
    const e2ee = { ...DEFAULT_E2EE_COST, source: 'a test machine', encryptUs: 123, messageOverheadBytes: 50 };
    const { report } = await runSim({ scenario: 'steady-chat', overrides: small, seed: 3, calibration: { ...defaultCalibration, e2ee }, ...quiet });
    assert.equal(report.e2ee!.costSource, 'a test machine');
    assert.equal(report.e2ee!.encryptUs.p50, 123);
  });

  it('keeps a signed-in modeled E2EE device within 2 KB of heap beyond a plaintext one', () => {
    // Heap after a full GC while every device is signed in (keys published), per device, E2EE on against off, each
    // measured in a process of its own (test/support/sim-device-heap.ts):
    // the bundles in the keys store, the device's E2eeClient and ModeledCrypto. It was ~5.8 KB before the keys
    // store kept one-time keys without an object each, modeled keys shared one string and the client built its
    // rarely used collections on first use (a million devices then needed ~5.8 GB for E2EE alone), and ~2.55 KB
    // before the keys store held a device's one-time keys as a run of ids and one key, the client let its
    // pending-send and fetch maps go when empty and kept a lone device as its id, and modeled sessions were strings (~1.6 KB since).
    const perDevice = (mode: 'e2ee' | 'plaintext'): number => {
      const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', HEAP_SCRIPT, mode, '4000'], { encoding: 'utf8', timeout: 120_000 });
      assert.equal(r.status, 0, `sim-device-heap ${mode} failed: ${r.stderr}`);
      return (JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { bytesPerDevice: number }).bytesPerDevice;
    };
    const off = perDevice('plaintext');
    const on = perDevice('e2ee');
    assert.ok(off > 500, `a plaintext device measured ${off.toFixed(0)} B: the measurement saw no devices`);
    assert.ok(on - off < 2000, `E2EE adds ${(on - off).toFixed(0)} B a device (plaintext ${off.toFixed(0)} B, E2EE ${on.toFixed(0)} B)`);
  });
});
