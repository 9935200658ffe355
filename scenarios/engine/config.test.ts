import assert from 'node:assert/strict';
import { parseDuration } from '../../system/clock/duration.ts';
import { loadScenario } from '../registry.ts';
import { loadEndMs, validateScenario } from '../validate.ts';
import type { Executor } from '../scenario.ts';
import { applyOverrides, lasting } from './config.ts';

const span = (e: Executor) => (e.executor === 'ramping-arrival-rate' ? e.stages.reduce((n, st) => n + parseDuration(st.duration), 0) : parseDuration(e.duration));

describe('--duration (applyOverrides)', () => {
  it('makes every executor last the duration, a ramping one too: its stages scaled, their shape and targets kept', () => {
    const ramp: Executor = { executor: 'ramping-arrival-rate', startRate: 2, timeUnit: '1s', startTime: '3s', stages: [{ target: 20, duration: '10s' }, { target: 20, duration: '5s' }, { target: 2, duration: '15s' }] };
    const e = lasting(ramp, '6s');
    assert.ok(e.executor === 'ramping-arrival-rate');
    assert.deepEqual(e.stages, [{ target: 20, duration: '2000ms' }, { target: 20, duration: '1000ms' }, { target: 2, duration: '3000ms' }]);
    assert.equal(e.startTime, '3s', 'its start stays where the scenario put it');
    // Stage ends are rounded, never their lengths: the stages add up to the duration exactly.
    const odd = lasting({ ...ramp, stages: [{ target: 1, duration: '1s' }, { target: 2, duration: '1s' }, { target: 3, duration: '1s' }] }, '1s');
    assert.equal(span(odd), 1000);
    const flat = lasting({ ...ramp, stages: [{ target: 1, duration: '0s' }, { target: 2, duration: '0s' }] }, '2s');
    assert.equal(span(flat), 2000, 'stages of no length: the last one takes the duration');
    assert.deepEqual(lasting({ executor: 'constant-arrival-rate', rate: 5, duration: '30s' }, '6s'), { executor: 'constant-arrival-rate', rate: 5, duration: '6s' });
  });

  it('shortens stories-peak (two ramping executors beside a constant one) to the duration given', async () => {
    const s = applyOverrides(await loadScenario('stories-peak'), { duration: '6s', warmup: '0s' });
    validateScenario(s);
    for (const [name, e] of Object.entries(s.options.scenarios)) assert.equal(span(e), 6000, name);
    // The views start 3 s in, as written: the load ends at 9 s, not at the scenario's own 30 s.
    assert.equal(loadEndMs(s), 9000);
  });
});
