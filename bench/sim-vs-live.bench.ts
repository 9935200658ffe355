/**
 * Live vs sim: `npm run bench:sim-vs-live -- [--devices 200] [--rate 200] [--duration 10s]`.
 * Calibrates from a short embedded live run of steady-chat, then runs the
 * same scenario at the same scale in the sim with that calibration, and
 * prints throughput (acked msgs/s) and e2e p50/p99 of both with the
 * difference (goal: within ±25%).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Report } from '../reports/report.ts';
import { calibrate } from '../scenarios/engine/calibrate.ts';
import { runSim } from '../scenarios/engine/sim.ts';

const { values } = parseArgs({
  options: { devices: { type: 'string', default: '200' }, rate: { type: 'string', default: '200' }, duration: { type: 'string', default: '10s' }, 'resolution-ms': { type: 'string', default: '0.01' } },
});
// The embedded world's stores answer in microseconds: the sim's time step must be finer than that, or every store
// round trip costs a whole step (0.1 ms by default) and a message's path gains ~0.6 ms that live does not have.
const resolutionMs = Number(values['resolution-ms']);
const overrides = { devices: Number(values.devices), rate: Number(values.rate), duration: values.duration! };
const dir = mkdtempSync(join(tmpdir(), 'chatlab-simlive-'));
const { report: live, calibration } = await calibrate({ world: 'embedded', overrides, out: join(dir, 'calibration.json') });
const { report: sim } = await runSim({ scenario: 'steady-chat', overrides, seed: 1, calibration, resolutionMs, progress: false });
const figures = (r: Report) => ({ throughput: r.messages.acked / (r.durationMs / 1000), p50: r.latency.e2eMs.p50, p99: r.latency.e2eMs.p99 });
const a = figures(live);
const b = figures(sim);
const pct = (x: number, y: number) => `${(((y - x) / x) * 100).toFixed(1)}%`;
process.stdout.write(`calibration: ${calibration.source}; sim resolution ${resolutionMs} ms\n`);
process.stdout.write(`${'figure'.padEnd(14)}${'live'.padStart(10)}${'sim'.padStart(10)}${'sim vs live'.padStart(13)}\n`);
for (const k of ['throughput', 'p50', 'p99'] as const) {
  process.stdout.write(`${(k === 'throughput' ? 'acked msgs/s' : `e2e ${k} ms`).padEnd(14)}${a[k].toFixed(2).padStart(10)}${b[k].toFixed(2).padStart(10)}${pct(a[k], b[k]).padStart(13)}\n`);
}
