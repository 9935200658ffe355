import { Checking, type CheckOptions } from '../../reports/checker.ts';
import type { FaultMark, Ledger } from '../../reports/ledger.ts';
import type { Report } from '../../reports/report.ts';
import { writeReports, type WrittenReports } from '../../reports/write.ts';
import { runChaos, type ChaosTime, type Planned } from '../../chaos/schedule.ts';
import type { InboxAccess, World } from '../../system/worlds/world.ts';
import { loadScenario } from '../registry.ts';
import type { Scenario } from '../scenario.ts';
import { validateScenario } from '../validate.ts';
import { classifyUndelivered } from './classify.ts';
import { applyOverrides, type Overrides } from './config.ts';
import { timelineMarks } from './timeline-marks.ts';

/*
 * The steps every engine takes around its load, in order: load the scenario,
 * run the chaos schedule beside the load, then mark faults and timeline
 * actions in the ledger, check it, ask the world's inbox which undelivered
 * messages are late rather than lost, and write the reports. The engines
 * differ only in how they start the world and drive the load between.
 */

/** A built-in scenario name or file, with the command line's overrides applied, validated. */
export async function prepareScenario(name: string, overrides: Overrides): Promise<Scenario> {
  const scenario = applyOverrides(await loadScenario(name), overrides);
  validateScenario(scenario);
  return scenario;
}

/** 'node-kill node-2 from 9.0s to 18.0s': a fault mark on the run's clock, for the log. */
export function describeMark(m: FaultMark): string {
  return `${m.kind} ${m.target} from ${(m.startMs / 1000).toFixed(1)}s to ${(m.endMs / 1000).toFixed(1)}s`;
}

/**
 * Runs a planned chaos schedule against the world from `t0`, pushing each
 * fault's mark into `marks` (and the log, with `note` after it) once it ends.
 * Settles once every fault has been reverted.
 */
export function startChaos(
  plan: Planned[], world: World, t0: number, loadEndMs: number, marks: FaultMark[], log: (line: string) => void,
  o: { time?: ChaosTime; note?: string } = {},
): Promise<void> {
  return runChaos(plan, world, t0, loadEndMs, (m) => {
    marks.push(m);
    log(`chaos: ${describeMark(m)}${o.note ?? ''}`);
  }, o.time);
}

/** What the engine hands over once the load is over and the devices are quiet. */
export interface FinishedRun {
  scenario: Scenario;
  /** The run's whole history (the live engine's is the workers' ledgers merged). */
  ledger: Ledger;
  loadEndMs: number;
  /** Faults that happened during the load, on the run's clock: scheduled, injected or observed. */
  faults: readonly FaultMark[];
}

export interface FinishOptions {
  world: string;
  seed: number;
  nodes: number;
  devicesPlanned: number;
  startedAt: Date;
  /** Wall time the run took, read just before the ledger is checked. */
  wallMs: () => number;
  /** Driver figures and notes for the report, given the wall time. */
  extra: (wallMs: number) => CheckOptions['extra'];
  /** The world's inbox, for "late or lost?"; absent: undelivered messages count lost. */
  inbox?: () => Promise<InboxAccess>;
  deviceId: (dev: number) => string;
  /** The run clock now (ms since t0), when the inbox is asked. */
  nowMs: () => number;
  /** Judges the report before it is written (the sim looks for the first violation). */
  judge?: (report: Report) => void;
  /** Where the reports go; nothing is written without it. */
  outDir?: string;
  /** Where the inbox's answer is logged; not logged without it. */
  log?: (line: string) => void;
}

/** Checks a finished run's ledger, classifies what is still undelivered and writes the reports. */
export async function finishRun(run: FinishedRun, o: FinishOptions): Promise<{ report: Report; files?: WrittenReports }> {
  const { scenario, ledger, loadEndMs } = run;
  for (const f of run.faults) ledger.fault(f);
  for (const m of timelineMarks(scenario, loadEndMs, ledger)) ledger.fault(m);
  const wallMs = o.wallMs();
  const checking = new Checking(ledger, {
    startMs: 0, endMs: loadEndMs, graceMs: scenario.graceMs, lateMs: scenario.lateMs, warmupMs: scenario.measuredFromMs ?? 0,
    thresholds: scenario.options.thresholds, scenario: scenario.name, world: o.world, seed: o.seed,
    nodes: o.nodes, devicesPlanned: o.devicesPlanned, startedAt: o.startedAt, wallMs, extra: o.extra(wallMs),
  });
  // The devices have stopped (nothing acks any more) and the world still runs: ask its inbox what is still owed.
  const asked = await classifyUndelivered(o.inbox, checking.undelivered(), o.deviceId, o.nowMs());
  o.log?.(`chatlab: late or lost: ${asked.note}`);
  const report = checking.finish(asked.stores);
  report.meta.storeCheck = asked.note;
  o.judge?.(report);
  const files = o.outDir ? writeReports(report, o.outDir) : undefined;
  return { report, files };
}
