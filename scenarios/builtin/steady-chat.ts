import type { Scenario } from '../scenario.ts';
import { chat } from './behaviours.ts';

/** The default run: 1:1 and small-group chat at a steady open-model rate. */
export const steadyChat: Scenario = {
  name: 'steady-chat',
  description: '1:1 and small-group chat at a steady open-model rate (constant-arrival-rate)',
  population: { devices: 1000, devicesPerUser: 1 },
  social: { contactsPerUser: 10, groups: [{ count: 50, members: 8 }] },
  behaviour: { bodyBytes: { min: 20, max: 400 }, readDelayMs: 1500 },
  exec: { chat: chat(0.2) },
  options: {
    scenarios: {
      chat: { executor: 'constant-arrival-rate', rate: 400, timeUnit: '1s', duration: '30s', exec: 'chat' },
    },
    thresholds: {
      lost: ['count==0'],
      duplicated_visible: ['count==0'],
      undecryptable: ['count==0'],
      e2e_latency: ['p(99)<500'],
      ack_latency: ['p(99)<500'],
      messages_failed: ['count==0'],
    },
  },
  // 5% of devices go to the background for a while; a message to them arrives by push wake-up.
  timeline: [{ at: '5s', action: 'offline', share: 0.05, cohort: 'background' }],
  chaos: [],
  warmup: '2s',
  graceMs: 5000,
  lateMs: 2000,
  nodes: 3,
};
