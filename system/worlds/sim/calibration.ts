import type { E2eeCostModel } from './e2ee-cost.ts';
import { readFileSync } from 'node:fs';
import { parseOrThrow } from '../../schema/check.ts';
import { calibrationFileSchema, FrameKinds, LinkClasses, StoreKinds, type FrameKind, type LinkClass, type StoreKind } from './calibration-schema.ts';
import type { Dist } from './distribution.ts';
import type { Pause } from './sim-service.ts';

export type { Pause };

export { FrameKinds, LinkClasses, StoreKinds, type FrameKind, type LinkClass, type StoreKind };

export interface StoreModel {
  /** Requests served at once (Redis shards, Cassandra nodes × concurrency): an M/G/c queue. */
  servers: number;
  /** Service time per request, by `<port>.<method>` (e.g. `inbox.put`), else `default`. */
  opMs: Record<string, Dist> & { default: Dist };
}

/**
 * What the sim world needs to know about the real one: link latencies per
 * link class, CPU per frame on a node, and store service times. `chatlab
 * calibrate` measures one from a short live run; without one the sim uses
 * `defaultCalibration` (figures typical of one datacenter and mobile
 * clients, not measured here — a report says which one it used).
 */
export interface Calibration {
  version: 1;
  /** Where the figures come from: `defaults`, or the world and time of the calibration run. */
  source: string;
  links: Record<LinkClass, Dist>;
  node: {
    /** CPU time per client frame, by kind. */
    frameMs: Record<FrameKind, Dist>;
    /** CPU time per bus envelope handled. */
    envelopeMs: Dist;
    /** CPU time per frame written to a device. */
    frameOutMs: Dist;
    /**
     * Whose CPU a node's work waits for: `per-node` (default) — each node is
     * its own process with its own event loop; `shared` — every node runs on
     * one event loop, as in the embedded world, where the nodes, their
     * memory stores and the push service share the main process.
     */
    cpu?: 'per-node' | 'shared';
    /**
     * CPU time (ms) a node's event loop pays on top of a frame's when the
     * frame finds it idle: the wake-up (poll, read, timers) one frame pays
     * alone at light load and many frames share when busy. So a message
     * costs more at light load than at saturation, as live. Absent: 0.
     * `chatlab calibrate` measures it (embedded) from the CPU per message at
     * half the closed loop's throughput against the closed loop's.
     */
    wakeMs?: number;
    /**
     * What pays `wakeMs`: `idle` (absent; files before it) — work that
     * finds the CPU idle, so a busy stretch pays one wake-up however long
     * it lasts; `turn` — each turn of the event loop, where a turn takes
     * every frame that arrived before it began, so work that arrives while
     * a turn runs waits for the next and that turn pays again (how a busy
     * loop runs: its batches grow with the load, and with them what a
     * turn's overhead costs a message shrinks). `chatlab calibrate` writes
     * `turn`.
     */
    wakePer?: 'idle' | 'turn';
    /**
     * CPU time (ms) a node's loop pays to read a device's socket, on top of
     * the frames the read brings (`wakePer: 'turn'`): a turn reads each
     * ready socket once, so the frames of one connection that arrived
     * before the turn began share one read, and under a backlog a read
     * brings more of them. Absent: 0 (the read is in the frame costs).
     */
    readMs?: number;
    /**
     * The node process's collections, each charged to the node's CPU as one
     * block of `pauseMs` every `everyCpuMs` of its other work: `minor`, the
     * scavenges (a few ms every few tens of ms of CPU under load); `major`,
     * the major cycles (incremental marking in small steps on the loop's
     * thread, then the final mark-compact: ~80-130 ms of the loop's time
     * every several seconds of CPU). `chatlab calibrate` (embedded)
     * measures both over its open load: the scavenges' mean pause and
     * spacing (perf_hooks `gc` entries); the major cycles' spacing, and
     * each one's marking (a CPU profile's collector samples) and final
     * pause (a major cycle's block). The frame costs above are the CPU
     * without the scavenges. Absent: no pauses, the CPU spread evenly over
     * the frames.
     */
    gc?: NodeGc;
  };
  stores: Record<StoreKind, StoreModel>;
  /**
   * The sim time step these figures need (ms; a run's own `resolutionMs`
   * wins). Stores that answer in microseconds need a step finer than the
   * default 0.1 ms, or every store round trip costs a whole step.
   */
  resolutionMs?: number;
  /** What end-to-end encryption costs a device (the sim charges it; default DEFAULT_E2EE_COST). */
  e2ee?: E2eeCostModel;
  /**
   * The load driver's own event loops (live: worker processes the devices
   * share, on the same machine as the cluster). With it the sim passes
   * every frame a device reads or writes through its worker's loop, a
   * single-server queue: `frameMs` of CPU a frame, `wakeMs` more for a
   * frame that finds the loop idle, and a collector pause of `gcPauseMs`
   * every `gcEveryFrames` frames. A delivery is seen, and a send leaves,
   * when the worker gets to it, as live. `chatlab calibrate` measures it
   * from its live runs (driver CPU over frames at saturation and at the
   * light load, GC pauses over the light load). Absent: devices cost
   * nothing (the sim's older figures).
   */
  driver?: DriverModel;
  /** Free-form notes of the calibration run (measured rates, sample counts). */
  notes?: Record<string, unknown>;
}

export interface NodeGc {
  source?: string;
  minor?: Pause;
  major?: Pause;
}

/** The node's collector pauses, as a ServiceQueue takes them: scavenges, then major cycles. */
export function nodePauses(c: Calibration): Pause[] {
  const gc = c.node.gc;
  return gc ? [gc.minor, gc.major].filter((p): p is Pause => p !== undefined) : [];
}

export interface DriverModel {
  source?: string;
  frameMs: number;
  wakeMs?: number;
  /** A device socket's read in a turn, on top of its frames (as the node's `readMs`); it applies to frames read, not written. */
  readMs?: number;
  gcEveryFrames: number;
  gcPauseMs: number;
}

const ln = (p50Ms: number, p99Ms: number): Dist => ({ kind: 'lognormal', p50Ms, p99Ms });
const k = (ms: number): Dist => ({ kind: 'constant', ms });

/**
 * Figures typical of one datacenter and mobile clients (20 ms median to a
 * phone, sub-millisecond inside the datacenter, Cassandra writes at ~0.3 ms):
 * not measured here. `--calibration datacenter`; `chatlab plan --verify`
 * uses them unless given a calibration.
 */
export const datacenterCalibration: Calibration = {
  version: 1,
  source: 'datacenter (typical figures, not measured)',
  links: {
    'device-gateway': ln(20, 120),
    'node-node': ln(0.25, 2),
    'node-store': ln(0.3, 2),
    push: ln(150, 1200),
  },
  node: {
    frameMs: { hello: k(0.12), send: k(0.05), recv: k(0.02), read: k(0.03), other: k(0.02) },
    envelopeMs: k(0.01),
    frameOutMs: k(0.005),
  },
  stores: {
    redis: { servers: 16, opMs: { default: ln(0.02, 0.1) } },
    cassandra: { servers: 32, opMs: { default: ln(0.15, 1.5), 'inbox.put': ln(0.3, 3), 'log.append': ln(0.3, 3) } },
    push: { servers: 64, opMs: { default: k(0.05) } },
  },
};

/**
 * Checks a parsed calibration file against `calibrationFileSchema` (a
 * RangeError naming the field: `c.json.node.cpu: expected "per-node" or
 * "shared", got "both"`) and fills the sections it leaves out from the
 * datacenter figures.
 */
export function validateCalibration(raw: unknown, where = 'calibration'): Calibration {
  const o = parseOrThrow(calibrationFileSchema, raw, where);
  const d = datacenterCalibration;
  const links = {} as Calibration['links'];
  for (const c of LinkClasses) links[c] = o.links?.[c] ?? d.links[c];
  const frameMs = {} as Calibration['node']['frameMs'];
  for (const f of FrameKinds) frameMs[f] = o.node?.frameMs?.[f] ?? d.node.frameMs[f];
  const stores = {} as Calibration['stores'];
  for (const s of StoreKinds) {
    const m = o.stores?.[s] ?? d.stores[s];
    stores[s] = { servers: m.servers, opMs: { default: m.opMs?.default ?? d.stores[s].opMs.default, ...m.opMs } };
  }
  return {
    version: 1,
    source: o.source ?? 'unnamed',
    links,
    node: {
      frameMs,
      envelopeMs: o.node?.envelopeMs ?? d.node.envelopeMs,
      frameOutMs: o.node?.frameOutMs ?? d.node.frameOutMs,
      ...(o.node?.cpu === undefined ? {} : { cpu: o.node.cpu }),
      ...(o.node?.wakeMs === undefined ? {} : { wakeMs: o.node.wakeMs }),
      ...(o.node?.wakePer === undefined ? {} : { wakePer: o.node.wakePer }),
      ...(o.node?.readMs === undefined ? {} : { readMs: o.node.readMs }),
      ...(o.node?.gc === undefined ? {} : { gc: o.node.gc }),
    },
    stores,
    ...(o.resolutionMs === undefined ? {} : { resolutionMs: o.resolutionMs }),
    ...(o.e2ee === undefined ? {} : { e2ee: o.e2ee }),
    ...(o.driver === undefined ? {} : { driver: o.driver }),
    ...(o.notes ? { notes: o.notes } : {}),
  };
}

/**
 * The sim's default: `chatlab calibrate --world embedded` on a 2-core
 * machine, shipped so that an uncalibrated sim run of the main job lands
 * near the embedded world's figures (bench:sim-vs-live checks it).
 */
export const defaultCalibration: Calibration = validateCalibration(
  JSON.parse(readFileSync(new URL('./calibrations/embedded.json', import.meta.url), 'utf8')),
  'calibrations/embedded.json',
);

/** Calibrations chatlab ships, by the name `--calibration` takes. */
export const builtinCalibrations: Record<string, Calibration> = { embedded: defaultCalibration, datacenter: datacenterCalibration };
