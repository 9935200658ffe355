import type { ChaosEntry, Scenario } from '../scenario.ts';
import { chat } from '../builtin/behaviours.ts';

/**
 * A chaos drill: steady 1:1 and small-group chat on 3 nodes with a fault
 * schedule, and thresholds that encode the guarantee — nothing acked as sent
 * is lost, no user sees a message twice, and every send a device keeps
 * retrying is acked in the end (`failed`): a crashed node's in-progress
 * claims lapse with its liveness.
 */
export function drill(name: string, description: string, chaos: ChaosEntry[], extra: Partial<Scenario> = {}): Scenario {
  return {
    name,
    description,
    population: { devices: 600, devicesPerUser: 1 },
    social: { contactsPerUser: 10, groups: [{ count: 20, members: 8 }] },
    behaviour: { bodyBytes: { min: 20, max: 300 }, readDelayMs: -1 },
    exec: { chat: chat(0.1) },
    options: {
      scenarios: { chat: { executor: 'constant-arrival-rate', rate: 200, timeUnit: '1s', duration: '30s', exec: 'chat' } },
      thresholds: { lost: ['count==0'], failed: ['count==0'], duplicated_visible: ['count==0'], delivery_ratio: ['rate>0.999'] },
    },
    timeline: [],
    chaos,
    warmup: '2s',
    graceMs: 20_000,
    lateMs: 15_000,
    nodes: 3,
    ...extra,
  };
}

/** The drill with its load stretched to `duration`, so a fault of a fixed length fits at the defaults. */
export function lasting(s: Scenario, duration: string): Scenario {
  const scenarios = Object.fromEntries(Object.entries(s.options.scenarios).map(([k, e]) => [k, { ...e, duration }]));
  return { ...s, options: { ...s.options, scenarios } };
}

/** The drill with more thresholds. */
export function gated(s: Scenario, thresholds: Record<string, string[]>): Scenario {
  return { ...s, options: { ...s.options, thresholds: { ...s.options.thresholds, ...thresholds } } };
}
