import { parseThresholds } from '../reports/thresholds.ts';
import { parseDuration } from '../system/clock/duration.ts';
import type { Scenario } from './scenario.ts';

/** Checks a scenario once, at the edge, and throws one error naming every problem found. */
export function validateScenario(s: Scenario): void {
  const problems: string[] = [];
  const at = (what: string, fn: () => void) => {
    try {
      fn();
    } catch (e) {
      problems.push(`${what}: ${(e as Error).message}`);
    }
  };
  const p = s.population;
  if (!Number.isInteger(p?.devices) || p.devices < 2) problems.push(`population.devices must be an integer >= 2, got ${p?.devices}`);
  if (!Number.isInteger(p?.devicesPerUser) || p.devicesPerUser < 1 || p.devicesPerUser > 9) problems.push('population.devicesPerUser must be 1..9');
  if (!Number.isInteger(s.nodes) || s.nodes < 1 || s.nodes > 64) problems.push(`nodes must be 1..64, got ${s.nodes}`);
  const b = s.behaviour;
  if (!(b.bodyBytes.min >= 1 && b.bodyBytes.max >= b.bodyBytes.min && b.bodyBytes.max <= 60_000)) problems.push('behaviour.bodyBytes must satisfy 1 <= min <= max <= 60000');
  const names = Object.keys(s.options.scenarios);
  if (names.length === 0) problems.push('options.scenarios needs at least one executor');
  for (const [name, ex] of Object.entries(s.options.scenarios)) {
    const known = ['constant-arrival-rate', 'ramping-arrival-rate', 'constant-vus'];
    if (!known.includes(ex.executor)) {
      problems.push(`options.scenarios.${name}.executor "${ex.executor}" is not one of ${known.join(', ')}`);
      continue;
    }
    at(`options.scenarios.${name}.startTime`, () => parseDuration(ex.startTime ?? '0s'));
    if ('duration' in ex) at(`options.scenarios.${name}.duration`, () => parseDuration(ex.duration));
    if (ex.executor === 'constant-arrival-rate' && !(ex.rate > 0)) problems.push(`options.scenarios.${name}.rate must be > 0`);
    if (ex.executor === 'constant-vus' && !(Number.isInteger(ex.vus) && ex.vus > 0)) problems.push(`options.scenarios.${name}.vus must be a positive integer`);
    else if (ex.executor === 'constant-vus' && ex.vus > s.population.devices) problems.push(`options.scenarios.${name}.vus (${ex.vus}) must be at most the population's ${s.population.devices} devices: each VU is a device`);
    if (ex.executor === 'ramping-arrival-rate') for (const st of ex.stages) at(`options.scenarios.${name}.stages`, () => parseDuration(st.duration));
    if (!s.exec[ex.exec ?? 'chat']) problems.push(`options.scenarios.${name}.exec "${ex.exec ?? 'chat'}" is not a behaviour in scenario.exec (${Object.keys(s.exec).join(', ')})`);
  }
  at('options.thresholds', () => parseThresholds(s.options.thresholds));
  for (const [i, ev] of s.timeline.entries()) {
    at(`timeline[${i}].at`, () => parseDuration(ev.at));
    if (!['offline', 'online', 'drop'].includes(ev.action)) problems.push(`timeline[${i}].action must be offline, online or drop`);
    if (!(ev.share >= 0 && ev.share <= 1)) problems.push(`timeline[${i}].share must be in [0, 1]`);
  }
  if (problems.length > 0) throw new Error(`scenario ${s.name} is not valid:\n  - ${problems.join('\n  - ')}`);
}

/** When the load ends: the last executor's end (ms since start). */
export function loadEndMs(s: Scenario): number {
  let end = 0;
  for (const ex of Object.values(s.options.scenarios)) {
    const start = parseDuration(ex.startTime ?? '0s');
    const len = ex.executor === 'ramping-arrival-rate' ? ex.stages.reduce((n, st) => n + parseDuration(st.duration), 0) : parseDuration(ex.duration);
    end = Math.max(end, start + len);
  }
  for (const ev of s.timeline) end = Math.max(end, parseDuration(ev.at) + (ev.windowMs ?? 0));
  return end;
}
