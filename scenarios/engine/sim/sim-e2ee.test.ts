import assert from 'node:assert/strict';
import { defaultCalibration } from '../../../system/worlds/sim/calibration.ts';
import { DEFAULT_E2EE_COST } from '../../../system/worlds/sim/e2ee-cost.ts';
import { runSim } from './sim.ts';

const quiet = { progress: false, log: () => {} };
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
});
