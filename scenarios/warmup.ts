import { parseDuration, parseShare } from '../system/clock/duration.ts';
import { loadEndMs } from './validate.ts';
import type { ChaosEntry, Executor, Scenario } from './scenario.ts';

/**
 * Warm-up: load run before the measured window, so a freshly started
 * cluster's first seconds (JIT, connection pools, caches) do not set the
 * run's latencies. The scenario is rewritten once, at the edge, and every
 * engine (live main process, each driver worker, the sim) runs the result:
 *
 *  - every executor also runs over [0, warmup) at its starting rate (or its
 *    VUs), with the scenario's `exec.warmup` behaviour when it has one
 *    (offline-burst's own behaviour needs users who go offline later), else
 *    its own;
 *  - everything the scenario scheduled — executors, timeline events, chaos —
 *    moves `warmup` later, so a drill still hits what it was meant to hit. A
 *    chaos time given as a share of the load ('30%') stays a share of the
 *    scenario's own load, not of the longer one: it is resolved to
 *    milliseconds here.
 *
 * The checker is told `warmupMs`: latencies and late counts start after it;
 * delivery guarantees (lost, shown twice) count warm-up messages too.
 */
export function expandWarmup(s: Scenario): Scenario {
  if (s.measuredFromMs !== undefined) return s;
  const w = warmupMs(s);
  if (w === 0) return { ...s, measuredFromMs: 0 };
  const loadMs = loadEndMs(s);
  const scenarios: Record<string, Executor> = {};
  for (const [name, ex] of Object.entries(s.options.scenarios)) {
    const warm = warmupExecutor(ex, w, s.exec.warmup ? 'warmup' : ex.exec);
    if (warm) scenarios[`warmup-${name}`] = warm;
  }
  for (const [name, ex] of Object.entries(s.options.scenarios)) scenarios[name] = { ...ex, startTime: ms(parseDuration(ex.startTime ?? '0s') + w) };
  return {
    ...s,
    measuredFromMs: w,
    options: { ...s.options, scenarios },
    timeline: s.timeline.map((ev) => ({ ...ev, at: ms(parseDuration(ev.at, 'timeline at') + w) })),
    chaos: s.chaos.map((c) => shiftChaos(c, w, loadMs)),
  };
}

/** The scenario's warm-up in ms (0 when it has none). */
export function warmupMs(s: Scenario): number {
  return s.warmup === undefined ? 0 : parseDuration(s.warmup, 'warmup');
}

function ms(n: number): string {
  return `${Math.round(n * 1000) / 1000}ms`;
}

/** The executor's load at its start, held for `w` ms from 0; none for a ramp that starts at nothing. */
function warmupExecutor(ex: Executor, w: number, exec: string | undefined): Executor | undefined {
  const base = { duration: ms(w), startTime: '0ms', ...(exec ? { exec } : {}) };
  if (ex.executor === 'constant-vus') return { executor: 'constant-vus', vus: ex.vus, thinkTimeMs: ex.thinkTimeMs, ...base };
  const rate = ex.executor === 'constant-arrival-rate' ? ex.rate : ex.startRate || (ex.stages[0]?.target ?? 0);
  if (!(rate > 0)) return undefined;
  return { executor: 'constant-arrival-rate', rate, timeUnit: ex.timeUnit, ...base };
}

function shiftChaos(c: ChaosEntry, w: number, loadMs: number): ChaosEntry {
  const at = parseShare(c.at);
  const out: ChaosEntry = { ...c, at: ms((at !== undefined ? at * loadMs : parseDuration(c.at, 'chaos at')) + w) };
  if (c.duration !== undefined) {
    const d = parseShare(c.duration);
    out.duration = d !== undefined ? ms(d * loadMs) : c.duration;
  }
  return out;
}
