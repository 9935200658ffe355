import type { Scenario } from '../scenario.ts';
import { groupPost } from './behaviours.ts';

/**
 * Large groups: a 1,024-member group on the write path (one inbox entry per
 * member device) and a 50,000-member channel on the read path (one log copy,
 * one notification per node). Members beyond the connected population are
 * phantom users: they count toward fan-out, never toward expected deliveries.
 */
export const groupFanout: Scenario = {
  name: 'group-fanout',
  description: 'a 1,024-member group (fan-out on write) and a 50,000-member channel (fan-out on read)',
  population: { devices: 1200, devicesPerUser: 1 },
  social: {
    contactsPerUser: 0,
    groups: [
      { count: 1, members: 1024, phantomMembers: 24, fanout: 'write' },
      { count: 1, members: 50_000, phantomMembers: 48_800, fanout: 'read' },
    ],
  },
  behaviour: { bodyBytes: { min: 50, max: 300 }, readDelayMs: -1 },
  exec: { group: groupPost },
  options: {
    scenarios: { posts: { executor: 'constant-arrival-rate', rate: 4, timeUnit: '1s', duration: '20s', exec: 'group' } },
    thresholds: { lost: ['count==0'], duplicated_visible: ['count==0'], undecryptable: ['count==0'], e2e_latency: ['p(99)<3000'], messages_failed: ['count==0'] },
  },
  timeline: [],
  chaos: [],
  warmup: '2s',
  graceMs: 10_000,
  lateMs: 5000,
  nodes: 3,
};
