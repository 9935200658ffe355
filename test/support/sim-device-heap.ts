/**
 * Heap per signed-in sim device, measured in a process of its own (run with
 * `node --expose-gc --import tsx`; argument `e2ee` or `plaintext`): a mocha
 * run's earlier tests leave garbage and caches that a full GC frees or
 * builds while a measured run is under way, which moved the figure by ~800 B
 * a device from one suite to the next. Prints `{"bytesPerDevice": n}`.
 *
 * Heap after a full GC while every device is signed in (keys published),
 * above the heap before the run, at the highest of the sampled seconds,
 * after a small run of the same kind has warmed up the code.
 */
import { runSim } from '../../scenarios/engine/sim/sim.ts';
import { defaultCalibration } from '../../system/worlds/sim/calibration.ts';

// At scale (the sim's millions of devices) there is no driver model's prewarm: what a device holds then.
const { driver: _driver, ...atScale } = defaultCalibration;

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('sim-device-heap: run with node --expose-gc');
const e2ee = process.argv[2] === 'e2ee';
const devices = Number(process.argv[3] ?? 4000);
const quiet = { progress: false, log: () => {} };

async function perDevice(n: number): Promise<number> {
  gc!();
  await new Promise((r) => setImmediate(r));
  gc!();
  const base = process.memoryUsage().heapUsed;
  let peak = 0;
  let samples = 0;
  await runSim({
    scenario: 'steady-chat', overrides: { devices: n, duration: '2s', rate: n / 300, e2ee }, seed: 5, calibration: atScale, ...quiet,
    onSample: () => {
      if (samples++ % 4 !== 0) return;
      gc!();
      peak = Math.max(peak, process.memoryUsage().heapUsed);
    },
  });
  return (peak - base) / n;
}

await perDevice(500);
process.stdout.write(`${JSON.stringify({ bytesPerDevice: await perDevice(devices) })}\n`);
