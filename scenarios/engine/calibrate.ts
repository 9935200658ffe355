import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Report } from '../../reports/report.ts';
import { defaultCalibration, type Calibration } from '../../system/worlds/sim/calibration.ts';
import type { Dist } from '../../system/worlds/sim/distribution.ts';
import { runLive } from './live.ts';
import type { Overrides } from './config.ts';

export interface CalibrateOptions {
  world: 'embedded' | 'local';
  overrides?: Overrides;
  seed?: number;
  /** Where to write the calibration JSON. */
  out: string;
  log?: (line: string) => void;
}

export interface CalibrateResult {
  calibration: Calibration;
  report: Report;
  file: string;
}

/**
 * `chatlab calibrate`: a short live run of steady-chat, and from it the
 * figures the sim needs.
 *
 * - CPU per frame: the node process's CPU time over the load divided by the
 *   frames its nodes handled (embedded: the nodes share the main process; the
 *   driver runs in worker processes, so it is not counted). One figure for
 *   every frame kind, weighted: a sign-in costs 3×, a send 2×, others 1×.
 * - device↔gateway link: half of the ack latency's p50 and p99 after taking
 *   off the node's own time (an ack is one round trip plus the send path).
 * - stores: the world's store latency as seen by the node; the embedded world
 *   runs them in memory, so their service time is the CPU already counted.
 *
 * Rough by design (one run, aggregate CPU); the sim report names the
 * calibration it used so a reader can judge.
 */
export async function calibrate(o: CalibrateOptions): Promise<CalibrateResult> {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const overrides = { devices: 200, duration: '10s', rate: 200, ...(o.overrides ?? {}) };
  let frames = () => 0;
  let cpu0 = process.cpuUsage();
  // (cpu µs, frames) while the load runs; the last sample where frames grew bounds the load, not the teardown.
  let last = { cpuUs: 0, frames: 0 };
  let sampler: NodeJS.Timeout | undefined;
  const { report } = await runLive({
    scenario: 'steady-chat', world: o.world, overrides, seed: o.seed ?? 1, outDir: mkdtempSync(join(tmpdir(), 'chatlab-calibrate-')),
    progress: false, log,
    onLoadStart: (world) => {
      cpu0 = process.cpuUsage();
      const nodes = world.embedded?.nodes ?? [];
      const base = nodes.reduce((n, x) => n + x.node.metrics.framesIn + x.node.metrics.framesOut, 0);
      frames = () => nodes.reduce((n, x) => n + x.node.metrics.framesIn + x.node.metrics.framesOut, 0) - base;
      sampler = setInterval(() => {
        const f = frames();
        if (f <= last.frames) return;
        const c = process.cpuUsage(cpu0);
        last = { cpuUs: c.user + c.system, frames: f };
      }, 250);
    },
  });
  clearInterval(sampler);
  const n = last.frames;
  const cpu = { user: last.cpuUs, system: 0 };
  const perFrameMs = n > 0 ? last.cpuUs / 1000 / n : NaN;
  const frame = (w: number): Dist => ({ kind: 'constant', ms: round((Number.isFinite(perFrameMs) ? perFrameMs : 0.02) * w) });
  const ack = report.latency.ackMs;
  const nodeMs = Number.isFinite(perFrameMs) ? perFrameMs * 4 : 0;
  const link: Dist = { kind: 'lognormal', p50Ms: round(Math.max(0.05, (ack.p50 - nodeMs) / 2)), p99Ms: round(Math.max(0.1, (ack.p99 - nodeMs) / 2)) };
  const memoryStores = o.world === 'embedded';
  const calibration: Calibration = {
    ...defaultCalibration,
    source: `${o.world} run of steady-chat (${overrides.devices} devices, ${overrides.rate} msgs/s, ${overrides.duration}) on ${new Date().toISOString()}`,
    links: {
      ...defaultCalibration.links,
      'device-gateway': link,
      'node-node': memoryStores ? { kind: 'constant', ms: 0.01 } : defaultCalibration.links['node-node'],
      'node-store': memoryStores ? { kind: 'constant', ms: 0.01 } : defaultCalibration.links['node-store'],
      push: memoryStores ? { kind: 'lognormal', p50Ms: 1, p99Ms: 5 } : defaultCalibration.links.push,
    },
    node: {
      frameMs: { hello: frame(3), send: frame(2), recv: frame(1), read: frame(1), other: frame(1) },
      envelopeMs: frame(0.5),
      frameOutMs: frame(0.25),
    },
    stores: memoryStores
      ? { redis: { servers: 64, opMs: { default: { kind: 'constant', ms: 0.002 } } }, cassandra: { servers: 64, opMs: { default: { kind: 'constant', ms: 0.005 } } }, push: { servers: 64, opMs: { default: { kind: 'constant', ms: 0.005 } } } }
      : defaultCalibration.stores,
    notes: {
      world: o.world, frames: n, cpuMs: Math.round((cpu.user + cpu.system) / 1000), perFrameMs: round(perFrameMs),
      ackP50Ms: ack.p50, ackP99Ms: ack.p99, e2eP50Ms: report.latency.e2eMs.p50, e2eP99Ms: report.latency.e2eMs.p99,
      ackedPerSec: round(report.messages.acked / (report.durationMs / 1000)),
    },
  };
  writeFileSync(o.out, `${JSON.stringify(calibration, null, 2)}\n`);
  return { calibration, report, file: o.out };
}

function round(x: number): number {
  return Math.round(x * 10000) / 10000;
}
