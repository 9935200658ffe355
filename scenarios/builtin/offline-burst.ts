import type { Scenario } from '../scenario.ts';
import { chat, toOffline } from './behaviours.ts';

/** The chat node's per-device send limit (system/node/options.ts rateLimitPerSec) the burst stays under, with room for the picks' randomness. */
const PER_SENDER_PER_SEC = 40;

/**
 * Half the devices (exactly: the cohort is half the users) go offline, each
 * accumulates about K pending messages (`messagesPerOffline`, default
 * 1,000) from the online half, then all reconnect inside a 2 s window.
 * Shows the drain rate and how long until every inbox is empty (path
 * `offline-drain`, and `push-wake` for devices a push brought back).
 *
 * The burst's rate is what the online senders may send: each device may
 * send 50 messages/s (burst 100) before the node answers `rate_limited`. A
 * faster burst measures the rate limit and the senders' retries, not the
 * offline inboxes, and leaves sends never acked; every send must be acked.
 */
export function offlineBurst(messagesPerOffline = 1000, devices = 40): Scenario {
  const share = 0.5;
  const offline = Math.max(1, Math.round(devices * share));
  const total = offline * messagesPerOffline;
  const rate = Math.min(2000, Math.max(1, devices - offline) * PER_SENDER_PER_SEC);
  const burstMs = Math.ceil((total / rate) * 1000);
  return {
    name: 'offline-burst',
    description: `half the devices (${offline} of ${devices}) go offline, each gets ~${messagesPerOffline} messages from the other half at ${rate} msg/s, then all reconnect within 2s`,
    population: { devices, devicesPerUser: 1 },
    social: { contactsPerUser: 5, groups: [] },
    behaviour: { bodyBytes: { min: 20, max: 200 }, readDelayMs: -1, wakeOnPush: false },
    // The warm-up is ordinary 1:1 chat: nobody is offline yet for `toOffline` to write to.
    exec: { toOffline: toOffline('burst'), warmup: chat(0) },
    options: {
      scenarios: {
        burst: { executor: 'constant-arrival-rate', rate, timeUnit: '1s', duration: `${burstMs}ms`, startTime: '1s', exec: 'toOffline' },
      },
      thresholds: { lost: ['count==0'], duplicated_visible: ['count==0'], undecryptable: ['count==0'], messages_failed: ['count==0'] },
    },
    timeline: [
      { at: '500ms', action: 'offline', share, cohort: 'burst' },
      { at: `${burstMs + 3000}ms`, action: 'online', share, cohort: 'burst', windowMs: 2000 },
    ],
    chaos: [],
    warmup: '2s',
    graceMs: 60_000,
    lateMs: 120_000,
    nodes: 3,
  };
}
