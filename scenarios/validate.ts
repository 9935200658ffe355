import { problemsOf } from '../system/schema/check.ts';
import { parseDuration } from '../system/clock/duration.ts';
import type { Scenario } from './scenario.ts';
import { scenarioSchema } from './schema.ts';

/**
 * Checks a scenario once, at the edge, against `scenarioSchema`, and throws
 * one error naming every problem found, each with its path:
 * `options.scenarios.peak.rate: expected a positive number, got -5`.
 */
export function validateScenario(s: Scenario): void {
  const problems = problemsOf(scenarioSchema, s);
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
