import assert from 'node:assert/strict';
import { defaultNodeOptions } from '../system/node/options.ts';
import { Population } from './population.ts';
import { builtins, loadScenario } from './registry.ts';

const OWN = ['steady-chat', 'offline-burst', 'group-fanout', 'reconnect-storm'];

describe('built-in scenarios', () => {
  it('bound the sends that end never acked in every built-in scenario', async () => {
    for (const name of OWN) {
      const s = await loadScenario(name);
      assert.deepEqual(s.options.thresholds.messages_failed, ['count==0'], name);
    }
    assert.ok(OWN.every((n) => Object.hasOwn(builtins, n)));
  });

  it('offline-burst takes half the devices offline, as its description says, and sends within the per-device rate limit', async () => {
    const s = await loadScenario('offline-burst');
    const p = new Population(s, 1, 't');
    const offline = p.cohort('burst', 0.5).size;
    assert.equal(offline, s.population.devices / 2);
    assert.match(s.description, new RegExp(`^half the devices \\(${offline} of ${s.population.devices}\\) go offline`));
    const burst = s.options.scenarios.burst!;
    assert.equal(burst.executor, 'constant-arrival-rate');
    const perSender = (burst as { rate: number }).rate / (s.population.devices - offline);
    assert.ok(perSender < defaultNodeOptions.rateLimitPerSec, `${perSender} msg/s per online sender`);
  });
});
