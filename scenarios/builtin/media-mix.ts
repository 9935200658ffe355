import type { Scenario } from '../scenario.ts';
import { steadyChat } from './steady-chat.ts';

/**
 * A steady chat where a share of messages carry uploaded media of each kind
 * (photos, voice notes, videos, documents; sizes in scenarios/media-kinds.ts):
 * the sender uploads, the message carries the reference, every recipient
 * downloads from its CDN edge. A media message counts as delivered when its
 * bytes arrived intact (the `media` path).
 */
export const mediaMix: Scenario = {
  ...steadyChat,
  name: 'media-mix',
  description: 'steady 1:1 and group chat where 20% of messages carry a photo, voice note, video or document, uploaded once and downloaded from CDN edges',
  population: { devices: 200, devicesPerUser: 1 },
  social: { contactsPerUser: 10, groups: [{ count: 10, members: 8 }] },
  behaviour: { ...steadyChat.behaviour, uploads: { share: 0.2 } },
  options: {
    scenarios: {
      // 20 msg/s: 4 media messages a second, ~2 MB/s uploaded and ~3.5 MB/s downloaded. On 2 cores the local world
      // (3 nodes, Redis, Cassandra, SeaweedFS, the media process and the driver) saturates at about twice that.
      chat: { executor: 'constant-arrival-rate', rate: 20, timeUnit: '1s', duration: '30s', exec: 'chat' },
    },
    thresholds: {
      lost: ['count==0'],
      duplicated_visible: ['count==0'],
      undecryptable: ['count==0'],
      messages_failed: ['count==0'],
      'e2e_latency{path:direct}': ['p(99)<500'],
      // Intended send to media downloaded: an upload and a download of up to 6 MB on loopback.
      'e2e_latency{path:media}': ['p(99)<5000'],
    },
  },
  timeline: [],
  graceMs: 10_000,
  lateMs: 5000,
};
