/**
 * Load plans as steady-chat variants (one ramping-arrival-rate executor
 * holding each rate for a while), and what the run's per-second timeline
 * says about each phase. Shared by bench:overload and bench:soak.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TimelineBucket } from '../../reports/report.ts';

export interface Phase {
  name: string;
  /** Messages per second offered. */
  rate: number;
  seconds: number;
}

const STEADY_CHAT = fileURLToPath(new URL('../../scenarios/builtin/steady-chat.ts', import.meta.url));

/**
 * Writes a scenario file: steady-chat whose load is `phases` one after the
 * other (each rate reached in 1 s and held), for `devices` devices. The
 * driver workers load it by path, as they do any scenario file.
 */
export function writePlan(phases: Phase[], o: { devices: number; graceMs?: number; extra?: string }): string {
  const stages = phases.flatMap((p) => [{ target: p.rate, duration: '1s' }, { target: p.rate, duration: `${Math.max(1, p.seconds - 1)}s` }]);
  const dir = mkdtempSync(join(tmpdir(), 'chatlab-plan-'));
  const file = join(dir, 'plan.ts');
  writeFileSync(file, [
    `import { steadyChat } from ${JSON.stringify(STEADY_CHAT)};`,
    `const s = steadyChat;`,
    `export default {`,
    `  ...s, name: 'steady-chat-plan', description: 'steady-chat in phases: ${phases.map((p) => `${p.name} ${p.rate}/s ${p.seconds}s`).join(', ')}',`,
    `  population: { ...s.population, devices: ${o.devices} },`,
    `  options: { ...s.options, scenarios: { chat: { executor: 'ramping-arrival-rate', startRate: ${phases[0]?.rate ?? 1}, timeUnit: '1s', stages: ${JSON.stringify(stages)}, exec: 'chat' } } },`,
    // The phases carry their own warm-up, and their times are read off the timeline: no scenario warm-up shifts them.
    `  warmup: '0s', timeline: [], chaos: [], graceMs: ${o.graceMs ?? 10_000},${o.extra ?? ''}`,
    `};`,
    '',
  ].join('\n'));
  return file;
}

export interface PhaseFigures {
  name: string;
  rate: number;
  /** Acked messages per second over the phase's settled seconds (its first second is the ramp). */
  ackedPerSec: number;
  /** Median and worst of the per-second e2e p99s of the settled seconds, ms (null: nothing delivered). */
  p99MedianMs: number | null;
  p99MaxMs: number | null;
  errors: number;
}

/** Phase start times in seconds since the load began. */
export function phaseStarts(phases: Phase[]): number[] {
  let t = 0;
  return phases.map((p) => ((t += p.seconds), t - p.seconds));
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)]!;
}

/** Figures of each phase from 1-second timeline buckets. */
export function phaseFigures(phases: Phase[], buckets: TimelineBucket[]): PhaseFigures[] {
  const starts = phaseStarts(phases);
  return phases.map((p, i) => {
    const from = starts[i]! + 1;
    const to = starts[i]! + p.seconds;
    const bs = buckets.filter((b) => b.t >= from && b.t < to);
    const p99s = bs.map((b) => b.p99).filter((x): x is number => x !== null);
    return {
      name: p.name, rate: p.rate,
      ackedPerSec: bs.length > 0 ? bs.reduce((n, b) => n + b.acked, 0) / bs.length : 0,
      p99MedianMs: median(p99s), p99MaxMs: p99s.length > 0 ? Math.max(...p99s) : null,
      errors: bs.reduce((n, b) => n + b.errors, 0),
    };
  });
}

/**
 * Seconds from `fromS` until the first of `holdS` consecutive seconds in
 * which e2e p99 is at most `p99MaxMs` and acked messages are at least
 * `ackedMin` per second; null when that never happens before `untilS`.
 */
export function backToNormal(buckets: TimelineBucket[], o: { fromS: number; untilS: number; p99MaxMs: number; ackedMin: number; holdS: number }): number | null {
  let streak = 0;
  for (let t = Math.floor(o.fromS); t < o.untilS; t++) {
    const b = buckets.find((x) => x.t === t);
    const ok = b !== undefined && b.p99 !== null && b.p99 <= o.p99MaxMs && b.acked >= o.ackedMin;
    streak = ok ? streak + 1 : 0;
    if (streak === o.holdS) return t - o.holdS + 1 - o.fromS;
  }
  return null;
}
