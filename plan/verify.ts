import type { Calibration } from '../system/worlds/sim/calibration.ts';
import { runSim } from '../scenarios/engine/sim.ts';
import type { Plan } from './plan.ts';
import type { Verdict } from './render.ts';

export interface VerifyOptions {
  /** Devices in the simulated cell at most (the cell keeps the planned per-node message rate). Default 3,000. */
  cellDevices?: number;
  /** Simulated load duration. Default '30s'. */
  duration?: string;
  /** e2e p99 the plan must hold, ms. Default 1000. */
  sloP99Ms?: number;
  seed?: number;
  calibration?: Calibration;
  outDir?: string;
  log?: (line: string) => void;
}

/**
 * `plan --verify`: simulates one cell — three gateway nodes at the planned
 * per-node message rate, node-2 killed at 30% of the run and back at 60% —
 * and says whether the SLOs hold. The cell has fewer devices than a planned
 * node holds (it would not fit in one process), so each device sends more
 * often: the per-node message load is the planned one, the per-node
 * connection count is not (the report says both).
 */
export async function verifyPlan(p: Plan, o: VerifyOptions = {}): Promise<Verdict> {
  const get = (key: string) => p.lines.find((l) => l.key === key)!.value;
  const nodes = 3;
  const gateways = get('gatewayNodes');
  const perNodeMsgs = get('peakMsgsPerSec') / gateways;
  const perNodeConns = get('concurrentConnections') / gateways;
  const devices = Math.max(20, Math.min(o.cellDevices ?? 3000, Math.round(perNodeConns * nodes)));
  const rate = Math.max(1, Math.round(perNodeMsgs * nodes));
  const slo = o.sloP99Ms ?? 1000;
  const { report } = await runSim({
    scenario: 'node-failure',
    // No warm-up: the cell's node failure keeps the timing the plan's figures were checked with.
    overrides: { devices, nodes, rate, duration: o.duration ?? '30s', warmup: '0s', thresholds: { e2e_latency: [`p(99)<${slo}`] } },
    seed: o.seed ?? 1,
    calibration: o.calibration,
    outDir: o.outDir,
    log: o.log,
    progress: false,
  });
  const failed = report.thresholds.filter((t) => !t.passed);
  const summary = failed.length === 0
    ? `holds: a ${nodes}-node cell at ${rate} msgs/s survived the loss of a node within its thresholds (e2e p99 ${report.latency.e2eMs.p99} ms < ${slo} ms, lost ${report.delivery.lost})`
    : `does not hold, because ${failed.map((t) => `${t.metric} ${t.expression} was ${t.actual ?? 'no data'}`).join('; ')} (cell: ${nodes} nodes at ${rate} msgs/s, node-2 killed at 30%)`;
  return {
    holds: failed.length === 0,
    summary,
    cell: {
      nodes, devices, msgsPerSec: rate, plannedMsgsPerNodeSec: Math.round(perNodeMsgs), plannedConnsPerNode: Math.round(perNodeConns),
      e2eP50Ms: report.latency.e2eMs.p50, e2eP99Ms: report.latency.e2eMs.p99, lost: report.delivery.lost, seed: o.seed ?? 1,
      calibration: String((report.meta.calibration as { source: string }).source),
    },
    thresholds: report.thresholds,
  };
}
