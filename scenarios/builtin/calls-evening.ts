import type { Scenario } from '../scenario.ts';
import { call, chat, DEFAULT_CALL_BEHAVIOUR } from './behaviours.ts';

/**
 * An evening of calls beside light chat: users with two devices each
 * (every device rings), a few calls a second, a third of them video, a
 * tenth ringing a small group; most are answered, some declined, some ring
 * out. Calls between two users behind symmetric NATs (about a quarter)
 * go through the world's TURN relay, the others device to device. The
 * report has outcomes, setup times, the relayed share, the relay's peak
 * bandwidth, and media loss and jitter; a ring after its timeout or a ring
 * that outlives its call fails the run.
 */
export const callsEvening: Scenario = {
  name: 'calls-evening',
  description: 'an evening of voice and video calls (2 devices per user ring; ~a quarter relayed through TURN) beside light chat',
  population: { devices: 240, devicesPerUser: 2 },
  social: { contactsPerUser: 10, groups: [{ count: 10, members: 6 }] },
  behaviour: { bodyBytes: { min: 20, max: 300 }, readDelayMs: 1500, calls: DEFAULT_CALL_BEHAVIOUR },
  exec: { chat: chat(0.1), call },
  options: {
    scenarios: {
      chat: { executor: 'constant-arrival-rate', rate: 20, timeUnit: '1s', duration: '40s', exec: 'chat' },
      calls: { executor: 'constant-arrival-rate', rate: 2, timeUnit: '1s', duration: '40s', exec: 'call' },
    },
    thresholds: {
      lost: ['count==0'],
      duplicated_visible: ['count==0'],
      messages_failed: ['count==0'],
      calls_failed: ['count==0'],
      calls_unresolved: ['count==0'],
      call_ring_setup: ['p(99)<1000'],
      call_late_rings: ['count==0'],
      call_phantom_rings: ['count==0'],
      call_media_loss: ['rate<0.01'],
    },
  },
  timeline: [],
  chaos: [],
  warmup: '2s',
  graceMs: 25_000,
  lateMs: 5000,
  nodes: 3,
};
