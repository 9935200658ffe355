import assert from 'node:assert/strict';
import { datacenterCalibration, type Calibration } from '../../system/worlds/sim/calibration.ts';
import { loadScenario } from '../registry.ts';
import { validateScenario } from '../validate.ts';
import { measuredThroughput } from './calibrate.ts';
import { applyOverrides } from './config.ts';
import { runSim } from './sim/sim.ts';

/** A calibration whose nodes are the bottleneck: 1 ms of CPU per frame, a fast network and stores. */
function cpuBound(cpu: 'shared' | 'per-node'): Calibration {
  const k = (ms: number) => ({ kind: 'constant' as const, ms });
  return {
    ...datacenterCalibration,
    source: `test: cpu-bound, ${cpu}`,
    links: { 'device-gateway': k(0.1), 'node-node': k(0.01), 'node-store': k(0.01), push: k(1) },
    node: { frameMs: { hello: k(1), send: k(1), recv: k(1), read: k(1), other: k(1) }, envelopeMs: k(0), frameOutMs: k(0), cpu },
    stores: { redis: { servers: 64, opMs: { default: k(0) } }, cassandra: { servers: 64, opMs: { default: k(0) } }, push: { servers: 64, opMs: { default: k(0) } } },
  };
}

describe('closed loop (--vus)', () => {
  it('turns every executor into constant-vus over the same span and behaviour, warm-up included', async () => {
    const s = applyOverrides(await loadScenario('steady-chat'), { vus: 300, duration: '10s' });
    assert.deepEqual(s.options.scenarios.chat, { executor: 'constant-vus', vus: 300, duration: '10s', startTime: '2000ms', exec: 'chat' });
    assert.equal(s.options.scenarios['warmup-chat']!.executor, 'constant-vus');
  });

  it('refuses more VUs than devices: each VU is a device', async () => {
    const s = applyOverrides(await loadScenario('steady-chat'), { vus: 2000 });
    assert.throws(() => validateScenario(s), /options\.scenarios\.\w+\.vus: expected at most the population's 1000 devices: each VU is a device, got 2000/);
  });

  it('saturates where the CPU model says: nodes sharing one event loop carry far less than three loops', async function () {
    this.timeout(120_000);
    const run = async (cpu: 'shared' | 'per-node') =>
      measuredThroughput((await runSim({ scenario: 'steady-chat', overrides: { devices: 300, vus: 300, duration: '4s', warmup: '1s' }, seed: 1, calibration: cpuBound(cpu), progress: false, log: () => {} })).report);
    const shared = await run('shared');
    const perNode = await run('per-node');
    // Each message costs a few ms of frames (send, recv, receipts, reads) on 1 ms a frame: one loop carries a few hundred a second.
    assert.ok(shared > 50 && shared < 1000, `shared: ${shared.toFixed(0)} msgs/s`);
    // A third at most, less still once the one loop's backlog makes the nodes shed (overloaded) and the VUs retry.
    assert.ok(perNode / shared > 2.5, `per-node ${perNode.toFixed(0)} vs shared ${shared.toFixed(0)} msgs/s`);
  });
});
