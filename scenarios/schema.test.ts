import assert from 'node:assert/strict';
import { problemsOf } from '../system/schema/check.ts';
import { builtins } from './registry.ts';
import type { Scenario } from './scenario.ts';
import { scenarioSchema } from './schema.ts';
import { validateScenario } from './validate.ts';

/** A fresh steady-chat (the built-ins share nested objects between calls). */
function base(): Scenario {
  const s = builtins['steady-chat']!();
  return { ...(JSON.parse(JSON.stringify(s)) as Scenario), exec: s.exec };
}

/** The problems of steady-chat with `change` applied to a copy. */
function problemsWith(change: (s: Record<string, any>) => void): string[] {
  const s = base() as unknown as Record<string, any>;
  change(s);
  return problemsOf(scenarioSchema, s);
}

describe('scenarioSchema', () => {
  it('takes every built-in scenario', () => {
    for (const [name, make] of Object.entries(builtins)) assert.deepEqual(problemsOf(scenarioSchema, make()), [], name);
  });

  it('refuses each kind of bad value with its path, the rule and the value', () => {
    const cases: [(s: Record<string, any>) => void, string][] = [
      [(s) => (s.population.devices = 1), 'population.devices: expected an integer >= 2, got 1'],
      [(s) => (s.population.devicesPerUser = 10), 'population.devicesPerUser: expected an integer in [1, 9], got 10'],
      [(s) => (s.nodes = 65), 'nodes: expected an integer in [1, 64], got 65'],
      [(s) => (s.behaviour.bodyBytes = { min: 50, max: 10 }), 'behaviour.bodyBytes.max: expected max >= min (50), got 10'],
      [(s) => (s.behaviour.bodyBytes.max = 70_000), 'behaviour.bodyBytes.max: expected a number in [1, 60000], got 70000'],
      [(s) => (s.options.scenarios = { peak: { executor: 'constant-arrival-rate', rate: -5, duration: '30s' } }), 'options.scenarios.peak.rate: expected a positive number, got -5'],
      [(s) => (s.options.scenarios = { peak: { executor: 'constant-arrival-rate', rate: 5, duration: '30 s' } }), 'options.scenarios.peak.duration: expected a duration like 500ms, 30s, 2m or 1h30m, got "30 s"'],
      [(s) => (s.options.scenarios = { peak: { executor: 'constant-vus', vus: 2.5, duration: '30s' } }), 'options.scenarios.peak.vus: expected an integer >= 1, got 2.5'],
      [(s) => (s.options.scenarios = { peak: { executor: 'ramping-arrival-rate', startRate: 0, stages: [{ target: 5, duration: 'x' }] } }), 'options.scenarios.peak.stages[0].duration: expected a duration like 500ms, 30s, 2m or 1h30m, got "x"'],
      [(s) => (s.options.scenarios = { peak: { executor: 'shared-iterations' } }), 'options.scenarios.peak.executor: expected executor constant-arrival-rate, ramping-arrival-rate or constant-vus, got "shared-iterations"'],
      [(s) => (s.options.scenarios = {}), 'options.scenarios: expected at least one executor, got {}'],
      [(s) => (s.options.scenarios.chat.exec = 'gossip'), 'options.scenarios.chat.exec: expected a behaviour in scenario.exec (chat), got "gossip"'],
      [(s) => (s.options.scenarios = { chat: { executor: 'constant-vus', vus: 30_000, duration: '30s' } }), "options.scenarios.chat.vus: expected at most the population's 1000 devices: each VU is a device, got 30000"],
      [(s) => (s.timeline = [{ at: '1s', action: 'vanish', share: 0.5 }]), 'timeline[0].action: expected offline, online, drop, reinstall or rotate-keys, got "vanish"'],
      [(s) => (s.timeline = [{ at: '1s', action: 'drop', share: 1.5 }]), 'timeline[0].share: expected a share in [0, 1], got 1.5'],
      [(s) => (s.chaos = [{ fault: 'link-loss', link: 'push', p: 2, at: '1s' }]), 'chaos[0].p: expected a number in [0, 1], got 2'],
      [(s) => (s.exec = { chat: 'not a function' }), 'exec.chat: expected a behaviour function, got "not a function"'],
      [(s) => (s.warmup = 'soon'), 'warmup: expected a duration like 500ms, 30s, 2m or 1h30m, got "soon"'],
    ];
    for (const [change, refusal] of cases) assert.deepEqual(problemsWith(change), [refusal]);
  });

  it('names the metric of a threshold that does not parse', () => {
    const [problem] = problemsWith((s) => (s.options.thresholds = { e2e_latency: ['p(99)<<5'] }));
    assert.match(problem!, /^options\.thresholds\.e2e_latency: expected threshold expressions like "p\(99\)<500": .*got \["p\(99\)<<5"\]$/);
  });

  it('lists every problem of a scenario in one error', () => {
    const s = base();
    s.nodes = 0;
    s.population.devices = 1;
    assert.throws(() => validateScenario(s), (e: Error) => e.message === 'scenario steady-chat is not valid:\n  - population.devices: expected an integer >= 2, got 1\n  - nodes: expected an integer in [1, 64], got 0');
  });
});
