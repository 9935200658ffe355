import type { CellSpec } from './cells.ts';
import type { ChatNodeOptions } from '../../../system/node/options.ts';
import type { SimCallModel } from './sim-calls.ts';
import type { SimMediaModel } from './sim-media.ts';
import { DUP_VISIBLE, OUT_OF_ORDER, Paths, type Ledger } from '../../../reports/ledger.ts';
import type { Report } from '../../../reports/report.ts';
import type { Calibration } from '../../../system/worlds/sim/calibration.ts';
import type { PortName } from '../../../system/worlds/memory-ports.ts';
import type { Population } from '../../population.ts';
import type { Overrides } from '../config.ts';
import type { MidIndex } from './sim-devices.ts';

/**
 * A test-only fault armed at a virtual time: `faults[port].dropNext(op, count)`
 * (or `failNext`). Data, not code, so report.json can carry it and
 * `chatlab replay` arms it again at the same instant.
 */
export interface InjectedFault {
  /** ms since the load started (virtual). */
  atMs: number;
  port: PortName;
  op: string;
  action: 'drop' | 'fail';
  count?: number;
}

/** Everything `chatlab replay` needs to rerun a sim exactly: stored in report.json `meta.replay`. */
export interface ReplaySpec {
  engine: 'sim';
  version: 1;
  scenario: string;
  overrides: Overrides;
  seed: number;
  /** The calibration itself, so a replay does not depend on a file that may have changed. */
  calibration: Calibration;
  inject: InjectedFault[];
  resolutionMs: number;
  /** Node options the run set (beyond the defaults; calls' relay and ring time come from the scenario, not from here). */
  node: Partial<Omit<ChatNodeOptions, 'nodeId' | 'nodeNumber'>>;
  /** The media model, when the scenario uploads media (absent in older reports: the defaults). */
  media?: SimMediaModel;
  calls?: SimCallModel;
  /** One cell of a `--cells` run (cells.ts): the replay reruns that cell alone. */
  cell?: CellSpec;
  /** The driver loops the run gave its devices, when its calibration had a driver model. */
  driverWorkers?: number;
}

/** The first message that broke a guarantee, named so a person can find it: mid, path, virtual time, seed. */
export interface Violation {
  kind: 'lost' | 'duplicated' | 'reordered';
  seed: number;
  msg: number;
  mid: string | null;
  device: string;
  path: string;
  /** ms since the load started (virtual): the send for a loss, the delivery otherwise. */
  virtualMs: number;
}

export function firstViolation(report: Report, ledger: Ledger, mids: MidIndex, population: Population, seed: number): Violation | null {
  const lost = report.delivery.firstLost;
  if (lost) {
    return { kind: 'lost', seed, msg: lost.msg, mid: mids.get(lost.msg) ?? null, device: population.deviceId(lost.dev), path: lost.path, virtualMs: lost.sentAtMs };
  }
  const d = ledger.deliveries;
  let best = -1;
  for (let i = 0; i < d.length; i++) {
    if ((d.cols.flags[i]! & (DUP_VISIBLE | OUT_OF_ORDER)) === 0) continue;
    if (best < 0 || d.cols.at[i]! < d.cols.at[best]!) best = i;
  }
  if (best < 0) return null;
  const msg = d.cols.msg[best]!;
  return {
    kind: d.cols.flags[best]! & DUP_VISIBLE ? 'duplicated' : 'reordered',
    seed, msg, mid: mids.get(msg) ?? null, device: population.deviceId(d.cols.dev[best]!),
    path: Paths[d.cols.path[best]!]!, virtualMs: d.cols.at[best]!,
  };
}

export function describeViolation(v: Violation): string {
  const at = `${(v.virtualMs / 1000).toFixed(3)} s`;
  return `${v.kind} message mid ${v.mid ?? '?'} (msg ${v.msg}) for device ${v.device} on path ${v.path} at virtual ${at}; seed ${v.seed}`;
}

/** Fields that are wall-clock by nature (docs/report-schema.md): removed before two sim reports are compared. */
export function withoutWallClock(report: Report): unknown {
  const copy = JSON.parse(JSON.stringify(report)) as Record<string, unknown> & { meta?: Record<string, unknown> };
  delete copy.startedAt;
  delete copy.wallMs;
  delete copy.driver;
  if (copy.meta) {
    delete copy.meta.wall;
    delete copy.meta.outDir;
  }
  return copy;
}

/** Top-level report paths (a.b.c) whose values differ, ignoring wall-clock fields; empty when identical. */
export function reportDiff(a: Report, b: Report, limit = 20): string[] {
  const out: string[] = [];
  const walk = (x: unknown, y: unknown, path: string) => {
    if (out.length >= limit) return;
    if (typeof x === 'object' && x !== null && typeof y === 'object' && y !== null) {
      const keys = new Set([...Object.keys(x), ...Object.keys(y)]);
      for (const k of keys) walk((x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k], path ? `${path}.${k}` : k);
      return;
    }
    if (JSON.stringify(x) !== JSON.stringify(y)) out.push(`${path}: ${JSON.stringify(x)} vs ${JSON.stringify(y)}`);
  };
  walk(withoutWallClock(a), withoutWallClock(b), '');
  return out;
}
