import type { Scenario } from '../scenario.ts';
import { toOffline } from './behaviours.ts';

/**
 * Half the devices go offline, each accumulates about K pending messages
 * (`messagesPerOffline`, default 1,000), then all reconnect inside a short
 * window. Shows the drain rate and how long until every inbox is empty
 * (path `offline-drain`, and `push-wake` for devices a push brought back).
 */
export function offlineBurst(messagesPerOffline = 1000, devices = 40): Scenario {
  const share = 0.5;
  const offline = Math.max(1, Math.round(devices * share));
  const total = offline * messagesPerOffline;
  const rate = 2000;
  const burstMs = Math.ceil((total / rate) * 1000);
  return {
    name: 'offline-burst',
    description: `half the devices go offline, each gets ~${messagesPerOffline} messages, then all reconnect within 2s`,
    population: { devices, devicesPerUser: 1 },
    social: { contactsPerUser: 5, groups: [] },
    behaviour: { bodyBytes: { min: 20, max: 200 }, readDelayMs: -1, wakeOnPush: false },
    exec: { toOffline: toOffline('burst') },
    options: {
      scenarios: {
        burst: { executor: 'constant-arrival-rate', rate, timeUnit: '1s', duration: `${burstMs}ms`, startTime: '1s', exec: 'toOffline' },
      },
      thresholds: { lost: ['count==0'], duplicated_visible: ['count==0'] },
    },
    timeline: [
      { at: '500ms', action: 'offline', share, cohort: 'burst' },
      { at: `${burstMs + 3000}ms`, action: 'online', share, cohort: 'burst', windowMs: 2000 },
    ],
    chaos: [],
    graceMs: 60_000,
    lateMs: 120_000,
    nodes: 3,
  };
}
