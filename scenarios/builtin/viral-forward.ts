import type { Scenario } from '../scenario.ts';
import { chat } from './behaviours.ts';
import { steadyChat } from './steady-chat.ts';

/**
 * One video goes viral: it is posted to a group, and each device that gets
 * it forwards it, with some odds, to two of its contacts, up to 6 hops
 * along the chains. A forward moves no bytes: the media service answers
 * "already stored" by the video's SHA-256, so the dedup ratio climbs with
 * every forward; the devices download it from their CDN edge, so the edge
 * hit ratio climbs as the video spreads.
 */
export const viralForward: Scenario = {
  ...steadyChat,
  name: 'viral-forward',
  description: 'one video posted to a group and forwarded along contact chains (up to 6 hops): dedup by SHA-256 and CDN edge hits climb as it spreads',
  population: { devices: 300, devicesPerUser: 1 },
  social: { contactsPerUser: 10, groups: [{ count: 5, members: 8 }] },
  behaviour: {
    ...steadyChat.behaviour,
    uploads: { share: 1, kinds: { video: { weight: 1, bytes: { min: 1_000_000, max: 2_000_000 } }, photo: { weight: 0, bytes: { min: 1, max: 1 } }, voice: { weight: 0, bytes: { min: 1, max: 1 } }, document: { weight: 0, bytes: { min: 1, max: 1 } } }, forward: { share: 0.7, fanout: 2, hops: 6 } },
  },
  exec: { seed: chat(1) },
  options: {
    scenarios: {
      // The one video: the first arrival comes at half the time unit over the number of driver workers (25 s in the sim, 12.5 s
      // with two live workers), and the next ones after the load (up to two workers).
      seed: { executor: 'constant-arrival-rate', rate: 1, timeUnit: '50s', duration: '30s', exec: 'seed' },
    },
    thresholds: {
      lost: ['count==0'],
      duplicated_visible: ['count==0'],
      undecryptable: ['count==0'],
      messages_failed: ['count==0'],
      'e2e_latency{path:media}': ['p(99)<5000'],
    },
  },
  timeline: [],
  graceMs: 10_000,
  lateMs: 5000,
};
