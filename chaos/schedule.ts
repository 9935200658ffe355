import { parseDuration } from '../scenarios/duration.ts';
import type { ChaosEntry } from '../scenarios/scenario.ts';
import type { World } from '../scenarios/engine/worlds.ts';
import { faultKinds } from './faults.ts';

export interface FaultMark {
  kind: string;
  target: string;
  startMs: number;
  endMs: number;
}

export interface Planned {
  entry: ChaosEntry;
  atMs: number;
  durationMs: number;
  targets: number[];
}

/** Resolves a target selector against the world's nodes: 'node-2' (1-based name), '2' (index from 1), 'all', or omitted = the last node. */
function resolveTargets(target: string | undefined, nodes: number): number[] {
  if (target === undefined) return [nodes - 1];
  if (target === 'all') return Array.from({ length: nodes }, (_, i) => i);
  const m = /^(?:node-)?(\d+)$/.exec(target);
  const i = m ? Number(m[1]) - 1 : -1;
  if (i < 0 || i >= nodes) throw new Error(`chaos target "${target}": this world has nodes node-1..node-${nodes}`);
  return [i];
}

/** A time in a chaos entry: a duration ('9s') or a share of the load ('30%'), so drills scale with --duration. */
function timeOf(text: string, loadEndMs: number, what: string): number {
  const m = /^(\d+(?:\.\d+)?)%$/.exec(String(text));
  return m ? (Number(m[1]) / 100) * loadEndMs : parseDuration(text, what);
}

/** Checks a chaos schedule against a world before the run: unknown faults, unsupported faults and bad times are errors. */
export function planChaos(entries: readonly ChaosEntry[], world: Pick<World, 'kind' | 'control' | 'nodes'>, loadEndMs: number): Planned[] {
  return entries.map((entry, i) => {
    const where = `chaos[${i}] (${entry.fault})`;
    const kind = faultKinds[entry.fault];
    if (!kind) throw new Error(`${where}: unknown fault; known: ${Object.keys(faultKinds).join(', ')}`);
    const missing = kind.needs.filter((c) => !world.control[c]);
    if (missing.length > 0) throw new Error(`${where}: cannot apply in the ${world.kind} world (it has no ${missing.join(', ')}); ${kind.hint ?? 'choose another world'}`);
    const atMs = timeOf(entry.at, loadEndMs, `${where}.at`);
    const durationMs = entry.duration === undefined ? 0 : timeOf(entry.duration, loadEndMs, `${where}.duration`);
    if (kind.durationRequired && durationMs <= 0) throw new Error(`${where}: needs a duration`);
    if (atMs > loadEndMs) throw new Error(`${where}: at ${entry.at} is after the load ends (${loadEndMs} ms)`);
    kind.validate?.(entry, where, world);
    const targets = entry.fault === 'rolling-restart'
      ? resolveTargets('all', world.nodes.length)
      : kind.nodeTarget === false ? [0] : resolveTargets(entry.target, world.nodes.length);
    return { entry, atMs, durationMs, targets };
  });
}

/** The time a chaos schedule runs on: ms since the load's start, and a way to wait until then. */
export interface ChaosTime {
  now(): number;
  sleepUntil(ms: number): Promise<unknown>;
}

/**
 * Runs a planned schedule against the world, relative to the load's start
 * (t0, wall ms; or `time`, e.g. the sim's virtual clock). Each fault is
 * marked with its real start and end times. Returns a promise that settles
 * once every fault has been reverted.
 */
export async function runChaos(plan: Planned[], world: World, t0: number, loadEndMs: number, mark: (m: FaultMark) => void, time?: ChaosTime): Promise<void> {
  const now = time ? () => time.now() : () => performance.timeOrigin + performance.now() - t0;
  const sleepUntil = time ? (ms: number) => time.sleepUntil(ms) : (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms - now())));
  await Promise.all(plan.map(async (p) => {
    await sleepUntil(p.atMs);
    if (p.entry.fault === 'rolling-restart') {
      const step = Math.max(1000, p.durationMs / p.targets.length);
      for (const t of p.targets) {
        const start = now();
        await world.control.stopNode!(t);
        await sleepUntil(start + step / 2);
        await world.control.restartNode!(t);
        mark({ kind: 'rolling-restart', target: world.nodes[t]!.id, startMs: start, endMs: now() });
        await sleepUntil(start + step);
      }
      return;
    }
    const kind = faultKinds[p.entry.fault]!;
    for (const t of p.targets) {
      const start = now();
      const revert = await kind.apply(world, t, p.entry);
      if (p.durationMs > 0 && revert) {
        await sleepUntil(start + p.durationMs);
        await revert();
      }
      const target = kind.label?.(p.entry, world, t) ?? world.nodes[t]!.id;
      mark({ kind: p.entry.fault, target, startMs: start, endMs: p.durationMs > 0 ? now() : Math.max(now(), loadEndMs) });
    }
  }));
}
