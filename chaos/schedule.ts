import { parseDuration, parseShare } from '../system/clock/duration.ts';
import type { World } from '../system/worlds/world.ts';
import { parseOrThrow } from '../system/schema/check.ts';
import { chaosEntrySchema, faultNames, type ChaosEntry, type ChaosEntryInput } from './fault-schema.ts';
import { faultKindOf, faultKinds } from './faults.ts';

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

/**
 * A time in a chaos entry: a duration ('9s') or a share of the load ('30%'), so drills scale with --duration.
 * Without a load (a fault injected into a running cluster) a share means nothing and is an error.
 */
function timeOf(text: string, loadEndMs: number | undefined, what: string): number {
  const share = parseShare(text);
  if (share === undefined) return parseDuration(text, what);
  if (loadEndMs === undefined) throw new Error(`${what}: ${text} is a share of a load, and there is none here; give a duration like 10s`);
  return share * loadEndMs;
}

/** Checks a chaos schedule against a world before the run: unknown faults, unsupported faults and bad times are errors. */
export function planChaos(entries: readonly ChaosEntryInput[], world: Pick<World, 'kind' | 'control' | 'nodes'>, loadEndMs: number): Planned[] {
  return entries.map((entry, i) => planFault(entry, `chaos[${i}]`, world, loadEndMs));
}

/**
 * Checks one fault (its fields against `chaosEntrySchema`, then against the
 * world) and resolves its times and targets; throws naming `path`, the
 * entry's place ('chaos[0]'): `chaos[0].ms: expected a number >= 0, got -1`.
 * `loadEndMs` undefined: there is no load to place it in (a fault injected into a running cluster).
 */
export function planFault(input: ChaosEntryInput, path: string, world: Pick<World, 'kind' | 'control' | 'nodes'>, loadEndMs?: number): Planned {
  const where = `${path} (${String(input.fault)})`;
  const kind = faultKindOf(input.fault);
  if (!kind) throw new Error(`${where}: unknown fault; known: ${faultNames.join(', ')}`);
  const missing = kind.needs.filter((c) => !world.control[c]);
  if (missing.length > 0) throw new Error(`${where}: cannot apply in the ${world.kind} world (it has no ${missing.join(', ')}); ${kind.hint ?? 'choose another world'}`);
  const entry: ChaosEntry = parseOrThrow(chaosEntrySchema, input, path, (m) => new Error(m));
  const atMs = timeOf(entry.at, loadEndMs, `${path}.at`);
  const durationMs = entry.duration === undefined ? 0 : timeOf(entry.duration, loadEndMs, `${path}.duration`);
  if (kind.durationRequired && durationMs <= 0) throw new Error(`${where}: needs a duration`);
  if (loadEndMs !== undefined && atMs > loadEndMs) throw new Error(`${where}: at ${entry.at} is after the load ends (${loadEndMs} ms)`);
  kind.validate?.(entry, where, world);
  const targets = entry.fault === 'rolling-restart'
    ? resolveTargets('all', world.nodes.length)
    : kind.nodeTarget === false ? [0] : resolveTargets(entry.target, world.nodes.length);
  return { entry, atMs, durationMs, targets };
}

/** The time a chaos schedule runs on: ms since the load's start, and a way to wait until then. */
export interface ChaosTime {
  now(): number;
  sleepUntil(ms: number): Promise<unknown>;
}

/** Wall time in ms since `t0` (an epoch time; 0: epoch ms), monotonic within this process. */
export function wallTime(t0: number): ChaosTime {
  const now = () => performance.timeOrigin + performance.now() - t0;
  return { now, sleepUntil: (ms) => sleepUntilWall(now, ms) };
}

/**
 * Settles once `now()` has reached `ms`. A timer can fire a fraction of a
 * millisecond before `performance.now()` says its delay has passed (timers
 * run on a coarser clock), so it re-arms until the time has truly come: a
 * fault given 3 s lasts at least 3 s on the clock that marks it.
 */
export function sleepUntilWall(now: () => number, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      const left = ms - now();
      if (left <= 0) resolve();
      else setTimeout(check, Math.ceil(left));
    };
    check();
  });
}

/**
 * Runs a planned schedule against the world, relative to the load's start
 * (t0, wall ms; or `time`, e.g. the sim's virtual clock). Each fault is
 * marked with its real start and end times. Returns a promise that settles
 * once every fault has been reverted.
 */
export async function runChaos(plan: Planned[], world: World, t0: number, loadEndMs: number, mark: (m: FaultMark) => void, time?: ChaosTime): Promise<void> {
  const clock = time ?? wallTime(t0);
  // A fault without a duration lasts at least to the end of the load.
  const ended = (kind: string, target: string, startMs: number, endMs: number | undefined) =>
    mark({ kind, target, startMs, endMs: endMs ?? Math.max(clock.now(), loadEndMs) });
  await Promise.all(plan.map(async (p) => {
    await clock.sleepUntil(p.atMs);
    await applyPlanned(p, world, clock, { ended });
  }));
}

/** Follows one fault on each of its targets, on the clock it was applied with. */
export interface FaultObserver {
  /** The fault is about to be applied to `target` (what the report names); its mark starts here. */
  started?(kind: string, target: string, startMs: number): void;
  /** The fault ended on `target`: reverted at `endMs`, or left in place (no duration) — `endMs` undefined. */
  ended(kind: string, target: string, startMs: number, endMs: number | undefined): void;
}

/**
 * Applies one planned fault now (its `atMs` is the caller's business), to
 * one target after another, each reverted after the duration. The one
 * implementation behind a scenario's schedule and `chatlab chaos`. Settles
 * once the last target is reverted; rejects with the first failure, leaving
 * the targets after it untouched.
 */
export async function applyPlanned(p: Planned, world: World, time: ChaosTime, observe: FaultObserver): Promise<void> {
  if (p.entry.fault === 'rolling-restart') {
    const step = Math.max(1000, p.durationMs / p.targets.length);
    for (const t of p.targets) {
      const start = time.now();
      const target = labelOf(p, world, t);
      observe.started?.('rolling-restart', target, start);
      await world.control.stopNode!(t);
      await time.sleepUntil(start + step / 2);
      await world.control.restartNode!(t);
      observe.ended('rolling-restart', target, start, time.now());
      await time.sleepUntil(start + step);
    }
    return;
  }
  const kind = faultKinds[p.entry.fault];
  for (const t of p.targets) {
    const start = time.now();
    const target = labelOf(p, world, t);
    observe.started?.(p.entry.fault, target, start);
    const revert = await kind.apply(world, t, p.entry);
    if (p.durationMs > 0 && revert) {
      await time.sleepUntil(start + p.durationMs);
      await revert();
    }
    observe.ended(p.entry.fault, target, start, p.durationMs > 0 ? time.now() : undefined);
  }
}

/** What a planned fault's mark on node `t` names as its target: the node, or the fault's own label (a link, a store). */
export function labelOf(p: Planned, world: Pick<World, 'nodes'>, t: number): string {
  const label = p.entry.fault === 'rolling-restart' ? undefined : faultKinds[p.entry.fault].label;
  return label?.(p.entry, world as World, t) ?? world.nodes[t]!.id;
}
