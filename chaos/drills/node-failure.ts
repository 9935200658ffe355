import type { Scenario } from '../../scenarios/scenario.ts';
import { chat } from '../../scenarios/builtin/behaviours.ts';

const durationMs = 30_000;

/**
 * 3 nodes under steady load; node-2 is killed at 30% of the run and brought
 * back at 60%. Its devices reconnect to the survivors and drain their
 * inboxes. The guarantee under test: nothing acked as sent is lost, and no
 * user sees a message twice.
 */
export const nodeFailure: Scenario = {
  name: 'node-failure',
  description: 'steady chat on 3 nodes; node-2 killed at 30% of the run, back at 60%',
  population: { devices: 600, devicesPerUser: 1 },
  social: { contactsPerUser: 10, groups: [{ count: 20, members: 8 }] },
  behaviour: { bodyBytes: { min: 20, max: 300 }, readDelayMs: -1 },
  exec: { chat: chat(0.1) },
  options: {
    scenarios: { chat: { executor: 'constant-arrival-rate', rate: 200, timeUnit: '1s', duration: `${durationMs}ms`, exec: 'chat' } },
    thresholds: { lost: ['count==0'], duplicated_visible: ['count==0'], delivery_ratio: ['rate>0.999'] },
  },
  timeline: [],
  chaos: [{ fault: 'node-kill', target: 'node-2', at: '30%', duration: '30%' }],
  graceMs: 20_000,
  lateMs: 15_000,
  nodes: 3,
};
