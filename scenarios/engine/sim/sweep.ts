import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { builtins } from '../../registry.ts';
import type { ChaosEntry } from '../../scenario.ts';
import type { Overrides } from '../config.ts';
import { runSim } from './sim.ts';
import type { InjectedFault } from './sim-report.ts';
import type { Report } from '../../../reports/report.ts';
import { parseOrThrow } from '../../../system/schema/check.ts';
import { unhandledRejectionsOf } from '../../../system/testing/harness.ts';

/**
 * Fault mixes a sweep plays over each scenario, in simulated time (shares of
 * the load, so they scale with any duration). `own` keeps the scenario's
 * own schedule (none for steady chat; the drill's for a drill). `bus-loss`
 * is in the default set: the bus is at most once, and a node routes again
 * every bus delivery still in the device's inbox `redeliverAfterMs` later
 * (Redelivery), so nothing is left for the device's next drain. The last
 * goes beyond the design's guarantee on purpose and is opt-in: a lost push
 * leaves a backgrounded device asleep.
 */
export const sweepFaults: Record<string, { description: string; chaos?: ChaosEntry[] }> = {
  own: { description: "the scenario's own chaos schedule" },
  'node-kill': {
    description: 'node-2 crashes at 30% and is back at 50%',
    chaos: [{ fault: 'node-kill', target: 'node-2', at: '30%', duration: '20%' }],
  },
  'rolling-restart': {
    description: 'every node drained and restarted in turn from 20% to 70%',
    chaos: [{ fault: 'rolling-restart', target: 'all', at: '20%', duration: '50%' }],
  },
  'store-outage': {
    description: 'Redis away from 20% to 35%, Cassandra from 50% to 65%',
    chaos: [
      { fault: 'store-outage', store: 'redis', at: '20%', duration: '15%' },
      { fault: 'store-outage', store: 'cassandra', at: '50%', duration: '15%' },
    ],
  },
  partitions: {
    description: 'node-1 cut from Redis, node-2 from its devices, node-3 from Cassandra, one after another',
    chaos: [
      { fault: 'partition', target: 'node-1', peer: 'redis', at: '20%', duration: '20%' },
      { fault: 'partition', target: 'node-2', peer: 'devices', at: '50%', duration: '10%' },
      { fault: 'partition', target: 'node-3', peer: 'cassandra', at: '65%', duration: '15%' },
    ],
  },
  'slow-links': {
    description: '10% of device segments lost (TCP retransmits) from 10% to 40%, +300 ms on every store round trip from 50% to 70%',
    chaos: [
      { fault: 'link-loss', link: 'device-gateway', p: 0.1, at: '10%', duration: '30%' },
      { fault: 'link-latency', link: 'node-store', ms: 300, at: '50%', duration: '20%' },
    ],
  },
  'bus-loss': {
    description: '30% of bus envelopes lost from 10% to 40% (nodes redeliver what is still in an inbox after redeliverAfterMs)',
    chaos: [{ fault: 'link-loss', link: 'node-node', p: 0.3, at: '10%', duration: '30%' }],
  },
  'push-loss': {
    description: 'beyond the guarantee: half the push wake-ups lost for the whole run',
    chaos: [{ fault: 'link-loss', link: 'push', p: 0.5, at: '0%', duration: '100%' }],
  },
};

export const defaultSweepFaults = ['own', 'node-kill', 'rolling-restart', 'store-outage', 'partitions', 'slow-links', 'bus-loss'];

export interface SweepOptions {
  scenarios: string[];
  faults: string[];
  seeds: number[];
  devicesPerUser: number[];
  /** Applied to every run (devices, duration, rate, nodes). */
  overrides?: Overrides;
  /** Where the reports of runs with a violation go (each replayable), and sweep.json. */
  outDir: string;
  /** Test-only faults armed in every run (see SimRunOptions.inject). */
  inject?: InjectedFault[];
  /** One line per finished run. */
  onRun?: (r: SweepRun) => void;
}

export interface SweepRun {
  scenario: string;
  fault: string;
  devicesPerUser: number;
  seed: number;
  sent: number;
  acked: number;
  expected: number;
  lost: number;
  duplicatedVisible: number;
  /** Promise rejections nobody handled during the run: each would end a live node process. */
  unhandled: string[];
  /** The run itself failed (an engine or validation error). */
  error?: string;
  firstViolation?: unknown;
  /** Thresholds (latency SLOs included) all passed. */
  passed: boolean;
  /** A guarantee was broken: something acked was lost or shown twice, a crash, or the run failed. */
  violation: boolean;
  /** report.json of a run with a violation: `chatlab replay` reruns it exactly. */
  report?: string;
  wallMs: number;
}

/**
 * Plays every combination of scenario × fault mix × devices per user × seed
 * in the sim world, one after another, and judges each against the
 * guarantees (nothing acked lost, nothing shown twice, no unhandled
 * failure). A run that breaks one keeps its report, so the violation can be
 * replayed from its seed and looked into; the rest keep a line in
 * sweep.json. Throws on unknown fault mixes before running anything.
 */
export async function runSweep(o: SweepOptions): Promise<SweepRun[]> {
  validateSweep(o);
  mkdirSync(o.outDir, { recursive: true });
  const runs: SweepRun[] = [];
  for (const scenario of o.scenarios) {
    for (const fault of o.faults) {
      for (const devicesPerUser of o.devicesPerUser) {
        for (const seed of o.seeds) {
          const run = await sweepOne(o, scenario, fault, devicesPerUser, seed);
          runs.push(run);
          o.onRun?.(run);
        }
      }
    }
  }
  writeFileSync(join(o.outDir, 'sweep.json'), `${JSON.stringify({ runs }, null, 2)}\n`);
  return runs;
}

/** One sweep run as a line: verdict, what ran, what it found. */
export function sweepLine(r: SweepRun): string {
  const what = `${r.scenario} ${r.fault} x${r.devicesPerUser} seed ${r.seed}`;
  if (r.error) return `FAIL ${what}: ${r.error}`;
  const unhandled = r.unhandled.length ? `, unhandled ${r.unhandled.length} (${r.unhandled[0]})` : '';
  const counts = `sent ${r.sent}, acked ${r.acked}, owed ${r.expected}, lost ${r.lost}, shown twice ${r.duplicatedVisible}${unhandled}`;
  const slo = r.passed ? '' : ' (a threshold failed)';
  const first = r.violation && r.firstViolation ? ` first: ${JSON.stringify(r.firstViolation)}` : '';
  return `${r.violation ? 'FAIL' : 'ok  '} ${what}: ${counts}${slo}, ${(r.wallMs / 1000).toFixed(1)} s${first}`;
}

const atLeastOne = (what: string) => ({ error: `expected at least one ${what}` });

/** What a sweep can run: known scenarios (or scenario files) and fault mixes, no empty dimension. */
const sweepSchema = z.object({
  scenarios: z
    .array(z.string().refine((s) => Object.hasOwn(builtins, s) || /\.(ts|js|mjs)$/.test(s), { error: `expected one of ${Object.keys(builtins).join(', ')} or a path to a .ts file` }))
    .min(1, atLeastOne('scenario')),
  faults: z
    .array(z.string().refine((f) => Object.hasOwn(sweepFaults, f), { error: `expected a fault mix: ${Object.keys(sweepFaults).join(', ')}` }))
    .min(1, atLeastOne('fault mix')),
  seeds: z.array(z.number()).min(1, atLeastOne('seed')),
  devicesPerUser: z.array(z.number()).min(1, atLeastOne('devices-per-user value')),
});

/** Throws on what a sweep cannot run, naming the field: `faults[1]: expected a fault mix: own, ..., got "meteor"`. */
export function validateSweep(o: Pick<SweepOptions, 'scenarios' | 'faults' | 'seeds' | 'devicesPerUser'>): void {
  parseOrThrow(sweepSchema, o, '', (m) => new Error(m));
}

async function sweepOne(o: SweepOptions, scenario: string, fault: string, devicesPerUser: number, seed: number): Promise<SweepRun> {
  const chaos = sweepFaults[fault]!.chaos;
  const overrides: Overrides = { ...o.overrides, devicesPerUser, ...(chaos ? { chaos } : {}) };
  const label = `${scenario.replace(/[^A-Za-z0-9_-]/g, '_')}-${fault}-x${devicesPerUser}-seed${seed}`;
  const base = { scenario, fault, devicesPerUser, seed };
  const wall0 = performance.now();
  let report: Report | undefined;
  let error: Error | undefined;
  const unhandled = (await unhandledRejectionsOf(async () => {
    try {
      ({ report } = await runSim({ scenario, overrides, seed, inject: o.inject, progress: false, log: () => {} }));
    } catch (err) {
      error = err as Error;
    }
  })).map(describe);
  if (!report) {
    return {
      ...base, sent: 0, acked: 0, expected: 0, lost: 0, duplicatedVisible: 0, unhandled,
      error: error?.message, passed: false, violation: true, wallMs: Math.round(performance.now() - wall0),
    };
  }
  const d = report.delivery;
  const violation = d.lost > 0 || d.duplicated > 0 || unhandled.length > 0;
  let file: string | undefined;
  if (violation) {
    // Rerun into its folder (identical, so the report on disk is the one judged): only runs worth replaying are written.
    const dir = join(o.outDir, label);
    await runSim({ scenario, overrides, seed, inject: o.inject, outDir: dir, progress: false, log: () => {} });
    file = join(dir, 'report.json');
  }
  return {
    ...base, sent: report.messages.sent, acked: report.messages.acked, expected: d.expected, lost: d.lost, duplicatedVisible: d.duplicated,
    unhandled, firstViolation: report.meta.firstViolation ?? undefined, passed: report.passed, violation, report: file,
    wallMs: Math.round(performance.now() - wall0),
  };
}

function describe(reason: unknown): string {
  return reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason);
}
