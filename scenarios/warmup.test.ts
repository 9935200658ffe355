import assert from 'node:assert/strict';
import { planChaos } from '../chaos/schedule.ts';
import { applyOverrides } from './engine/config.ts';
import { builtins, loadScenario } from './registry.ts';
import { loadEndMs } from './validate.ts';
import { expandWarmup } from './warmup.ts';

const world = { kind: 'embedded', control: { killNode: async () => {}, restartNode: async () => {} }, nodes: [1, 2, 3].map((n) => ({ id: `node-${n}`, url: `ws://127.0.0.1:${n}`, number: n })) };

describe('warm-up', () => {
  it('runs every executor at its starting load before the measured window and moves the rest after it', async () => {
    const s = applyOverrides(await loadScenario('steady-chat'), { warmup: '3s' });
    assert.equal(s.measuredFromMs, 3000);
    assert.deepEqual(s.options.scenarios['warmup-chat'], { executor: 'constant-arrival-rate', rate: 400, timeUnit: '1s', duration: '3000ms', startTime: '0ms', exec: 'chat' });
    assert.equal(s.options.scenarios.chat!.startTime, '3000ms');
    assert.equal(s.timeline[0]!.at, '8000ms');
    assert.equal(loadEndMs(s), 33_000);
  });

  it("keeps a drill's chaos on what it was meant to hit: a share of the load stays a share of the scenario's own load", async () => {
    const s = applyOverrides(await loadScenario('node-failure'), { warmup: '2s', duration: '20s' });
    const [kill] = planChaos(s.chaos, world, loadEndMs(s));
    assert.equal(kill!.atMs, 2000 + 0.3 * 20_000);
    assert.equal(kill!.durationMs, 0.3 * 20_000);
  });

  it("uses the scenario's warmup behaviour when it has one (offline-burst's own needs offline users)", async () => {
    const s = applyOverrides(await loadScenario('offline-burst'), {});
    assert.equal(s.options.scenarios['warmup-burst']!.exec, 'warmup');
    assert.equal(s.options.scenarios.burst!.startTime, `${2000 + 1000}ms`);
  });

  it('is applied once, and --warmup 0s removes it', async () => {
    const once = applyOverrides(await loadScenario('steady-chat'), {});
    assert.equal(expandWarmup(once), once);
    const none = applyOverrides(await loadScenario('steady-chat'), { warmup: '0s' });
    assert.equal(none.measuredFromMs, 0);
    assert.deepEqual(Object.keys(none.options.scenarios), ['chat']);
  });

  it('is short in every built-in scenario and drill', async () => {
    for (const name of Object.keys(builtins)) {
      const s = applyOverrides(await loadScenario(name), {});
      assert.ok(s.measuredFromMs! >= 1000 && s.measuredFromMs! <= 3000, `${name}: warm-up ${s.measuredFromMs} ms`);
    }
  });
});
