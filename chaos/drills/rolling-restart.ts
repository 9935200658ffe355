import type { Scenario } from '../../scenarios/scenario.ts';
import { chat } from '../../scenarios/builtin/behaviours.ts';

/** Every node stopped gracefully and restarted, one after another, under load: zero lost, zero visible duplicates. */
export const rollingRestart: Scenario = {
  name: 'rolling-restart',
  description: 'every node drained and restarted one after another under steady load',
  population: { devices: 600, devicesPerUser: 1 },
  social: { contactsPerUser: 10, groups: [{ count: 20, members: 8 }] },
  behaviour: { bodyBytes: { min: 20, max: 300 }, readDelayMs: -1 },
  exec: { chat: chat(0.1) },
  options: {
    scenarios: { chat: { executor: 'constant-arrival-rate', rate: 200, timeUnit: '1s', duration: '30s', exec: 'chat' } },
    thresholds: { lost: ['count==0'], duplicated_visible: ['count==0'] },
  },
  timeline: [],
  chaos: [{ fault: 'rolling-restart', at: '15%', duration: '60%' }],
  graceMs: 20_000,
  lateMs: 15_000,
  nodes: 3,
};
