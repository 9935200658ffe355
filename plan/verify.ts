import { datacenterCalibration, type Calibration } from '../system/worlds/sim/calibration.ts';
import { runSim } from '../scenarios/engine/sim/sim.ts';
import type { Plan } from './plan.ts';
import type { Verdict } from './render.ts';

export interface VerifyOptions {
  /**
   * Devices in the simulated cell at most. Default: the planned connections
   * of the cell's nodes, up to MAX_CELL_DEVICES; below the planned figure the
   * verdict lists per-node connections as not tested.
   */
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

/** The largest cell simulated by default: 1M devices are proven in the sim (docs/sim.md); 3 planned nodes rarely need more. */
export const MAX_CELL_DEVICES = 1_000_000;
const NODES = 3;

/**
 * `plan --verify`: simulates one cell at the planned per-node load — three
 * gateway nodes, each with the planned connections (devices) and the planned
 * message rate, node-2 killed at 30% of the run and back at 60% — and says
 * whether the SLOs hold, which threshold decided it, and which planned
 * figures the cell tested and which it did not.
 */
export async function verifyPlan(p: Plan, o: VerifyOptions = {}): Promise<Verdict> {
  const get = (key: string) => p.lines.find((l) => l.key === key)!.value;
  const gateways = get('gatewayNodes');
  const perNodeMsgs = get('peakMsgsPerSec') / gateways;
  const perNodeConns = get('concurrentConnections') / gateways;
  const plannedDevices = Math.round(perNodeConns * NODES);
  const devices = Math.max(20, Math.min(o.cellDevices ?? MAX_CELL_DEVICES, plannedDevices));
  const rate = Math.max(1, Math.round(perNodeMsgs * NODES));
  const slo = o.sloP99Ms ?? 1000;
  const { report } = await runSim({
    scenario: 'node-failure',
    overrides: {
      devices, nodes: NODES, rate, duration: o.duration ?? '30s',
      thresholds: { e2e_latency: [`p(99)<${slo}`], lost: ['count==0'], messages_failed: ['count==0'] },
    },
    seed: o.seed ?? 1,
    // A plan is for a datacenter: its figures, unless the planner measured their own.
    calibration: o.calibration ?? datacenterCalibration,
    outDir: o.outDir,
    log: o.log,
    progress: false,
  });
  const failed = report.thresholds.filter((t) => !t.passed);
  const decider = failed[0] ?? closestToBound(report.thresholds);
  const decided = decider ? `${decider.metric} ${decider.expression} (actual ${decider.actual ?? 'no data'})` : 'no threshold';
  const connsPerNode = Math.round(devices / NODES);
  const tested = [
    `per-node message rate: ${Math.round(perNodeMsgs).toLocaleString('en-US')} msgs/s per node (${rate.toLocaleString('en-US')} msgs/s over ${NODES} nodes)`,
    ...(devices >= plannedDevices ? [`per-node connections: ${connsPerNode.toLocaleString('en-US')} devices per node, as planned`] : []),
    `the loss of one gateway node of ${NODES} (its devices reconnect to the other two)`,
  ];
  const untested = [
    ...(devices < plannedDevices
      ? [`per-node connections: the cell held ${connsPerNode.toLocaleString('en-US')} devices per node, the plan ${Math.round(perNodeConns).toLocaleString('en-US')}`]
      : []),
    `the store fleet (${get('storeNodes').toLocaleString('en-US')} store nodes): the cell's stores are one simulated store of each kind at the calibration's service times`,
    'storage volume, gateway bandwidth and push rate at the fleet scale',
    'the media tier (uploads, media storage, CDN edges): the cell sends no media',
    `calls and relays (${get('concurrentCalls').toLocaleString('en-US', { maximumFractionDigits: 0 })} concurrent calls, ${get('relayNodes').toLocaleString('en-US')} relay servers planned): the cell places no calls`,
    `traffic between cells: the cell is ${NODES} of ${gateways.toLocaleString('en-US')} gateway nodes and all its messages stay inside it`,
  ];
  const cellText = `${NODES} nodes, ${devices.toLocaleString('en-US')} devices at ${rate.toLocaleString('en-US')} msgs/s, node-2 killed at 30%`;
  const summary = failed.length === 0
    ? `holds: a ${NODES}-node cell at the planned per-node load survived the loss of a node within its thresholds; decided by ${decided}, the threshold closest to its bound (cell: ${cellText})`
    : `does not hold, because ${failed.map((t) => `${t.metric} ${t.expression} was ${t.actual ?? 'no data'}`).join('; ')} (cell: ${cellText})`;
  return {
    holds: failed.length === 0,
    summary,
    decidedBy: decided,
    tested,
    untested,
    cell: {
      nodes: NODES, devices, msgsPerSec: rate, plannedMsgsPerNodeSec: Math.round(perNodeMsgs), plannedConnsPerNode: Math.round(perNodeConns),
      e2eP50Ms: report.latency.e2eMs.p50, e2eP99Ms: report.latency.e2eMs.p99, lost: report.delivery.lost, failedSends: report.messages.failed,
      seed: o.seed ?? 1, calibration: String((report.meta.calibration as { source: string }).source),
    },
    thresholds: report.thresholds,
  };
}

type Threshold = Verdict['thresholds'][number];

/** The passed threshold with the least room left (the share of its bound used up). */
function closestToBound(ts: readonly Threshold[]): Threshold | undefined {
  let best: Threshold | undefined;
  let bestUse = -Infinity;
  for (const t of ts) {
    const m = /([<>]=?|==)\s*([\d.]+)\s*$/.exec(t.expression);
    if (!m || t.actual === null) continue;
    const bound = Number(m[2]);
    const use = m[1]!.startsWith('<') ? (bound > 0 ? t.actual / bound : 0)
      : m[1] === '==' ? (t.actual === bound ? 0 : 1)
      // A rate (at most 1) uses up the room between its bound and 1; another lower bound, the ratio.
      : bound < 1 ? (1 - t.actual) / (1 - bound) : bound / Math.max(t.actual, 1e-9);
    if (use > bestUse) {
      bestUse = use;
      best = t;
    }
  }
  return best;
}
