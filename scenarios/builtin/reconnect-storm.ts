import type { Scenario } from '../scenario.ts';
import { chat } from './behaviours.ts';

/** Steady chat, then every device drops at once and reconnects (backoff with jitter): nothing acked may be lost. */
export const reconnectStorm: Scenario = {
  name: 'reconnect-storm',
  description: 'steady chat; at 40% of the run every device drops and reconnects at once',
  population: { devices: 1000, devicesPerUser: 1 },
  social: { contactsPerUser: 10, groups: [{ count: 20, members: 8 }] },
  behaviour: { bodyBytes: { min: 20, max: 300 }, readDelayMs: -1 },
  exec: { chat: chat(0.1) },
  options: {
    scenarios: { chat: { executor: 'constant-arrival-rate', rate: 200, timeUnit: '1s', duration: '25s', exec: 'chat' } },
    thresholds: { lost: ['count==0'], duplicated_visible: ['count==0'], undecryptable: ['count==0'], messages_failed: ['count==0'] },
  },
  timeline: [{ at: '10s', action: 'drop', share: 1, windowMs: 0 }],
  chaos: [],
  warmup: '2s',
  graceMs: 15_000,
  lateMs: 10_000,
  nodes: 3,
};
