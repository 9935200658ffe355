/**
 * Live vs sim at the knee: `npm run bench:sim-vs-live -- [--devices 1000] [--duration 15s]`.
 *
 * 1. Pins this process — the embedded world: every node, its memory stores,
 *    the push service — to CPU 0 and the driver's workers to CPU 1, so the
 *    cluster and the driver do not take each other's core (the sim models
 *    the cluster's CPU, not the driver's; on one shared core the driver's
 *    work would be charged to the cluster). The process runs with
 *    `--single-threaded-gc` (the npm script passes it): the collector's
 *    helper threads, pinned to the same CPU, would only take turns with the
 *    event loop and stop it for tens of ms at a time around each major
 *    cycle, where the sim's node is one server that pays its collections
 *    itself (as the driver's pinned workers run, worker-pool.ts).
 * 2. `chatlab calibrate --world embedded` (one calibration for everything
 *    below): a closed-loop run measures the live saturation throughput and
 *    the CPU a message costs, a light run the link latency.
 * 3. The same closed loop in the sim: its saturation throughput.
 * 4. Open-model steady-chat at 50%, 80%, 100% and 120% of the live
 *    saturation, live and sim, and prints acked msgs/s and e2e p50/p99 side
 *    by side. Each live row runs `--live-runs` times (3), each from a
 *    collected heap, and the run with the median p99 stands for it; the
 *    spread is printed beneath. Goals: saturation within ±25%; p50 and p99
 *    within ±25% at 50% and 80%. Beneath, the cluster's CPU over each
 *    row's load, live (this process's, written beside the run's report as
 *    cluster-cpu.json) and in the sim (its nodes' loop): at one rate, the
 *    world that is busier queues longer.
 * 5. The main job (steady-chat as `chatlab run steady-chat` runs it, nothing
 *    pinned, three fresh runs: the one with the median p99 stands for it)
 *    live, and in the sim with no calibration given (the shipped default,
 *    measured the same way by `chatlab calibrate`): within
 *    ±25% on e2e p50/p99; both reports are written, with the
 *    `chatlab compare` command that shows them side by side.
 *
 * `--calibration <file>` uses that calibration instead of step 2's (step 2
 * still runs its closed loop for the live saturation); `--write-default`
 * writes step 2's calibration where the sim's default lives.
 *
 * `--refit-default` fits the shipped default's device↔gateway hop again to
 * the light run recorded in it (`chatlab calibrate`'s, notes.lightRun), with
 * the sim as it is now, writes the file back, and runs the main job's sim
 * row with it: for when the sim's model of what surrounds the hop changes
 * and the measured figures do not.
 *
 * `--sim-only <dir>` runs no live load: it takes an earlier sitting's
 * calibration (or `--calibration`), its closed-loop report and its live
 * runs' reports from that sitting's `--out` directory, and runs only the
 * sim rows against them. A change to the sim's model is then compared with
 * the same live figures in two minutes, not a new sitting's (give the
 * sitting's `--duration`: the sim rows run for it).
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Report } from '../reports/report.ts';
import { cpusBesideFirst, pinToCpus } from '../scenarios/engine/live/affinity.ts';
import { calibrate, chatlabRun, collectGarbage, measuredThroughput, refitLinks } from '../scenarios/engine/calibrate.ts';
import { runLive } from '../scenarios/engine/live/live.ts';
import { loadCalibration, runSim } from '../scenarios/engine/sim/sim.ts';
import { defaultWorkers } from '../scenarios/engine/config.ts';
import type { Overrides } from '../scenarios/engine/config.ts';
import type { Calibration } from '../system/worlds/sim/calibration.ts';
import { parseDuration } from '../system/clock/duration.ts';

const { values } = parseArgs({
  options: {
    devices: { type: 'string', default: '1000' },
    duration: { type: 'string', default: '15s' },
    seed: { type: 'string', default: '1' },
    'live-runs': { type: 'string', default: '3' },
    calibration: { type: 'string' },
    'write-default': { type: 'boolean', default: false },
    'sim-only': { type: 'string' },
    'refit-default': { type: 'boolean', default: false },
    out: { type: 'string', default: join('out', `sim-vs-live-${new Date().toISOString().replace(/[:.]/g, '-')}`) },
  },
});
const devices = Number(values.devices);
const seed = Number(values.seed);
const duration = values.duration!;
const loadMs = parseDuration(duration);
const liveRuns = Number(values['live-runs']);
if (!Number.isInteger(liveRuns) || liveRuns < 1) throw new RangeError(`--live-runs must be an integer >= 1, got ${values['live-runs']}`);
const out = values.out!;
mkdirSync(out, { recursive: true });
const log = (l: string) => process.stderr.write(`${l}\n`);
const quiet = () => {};

const replay = values['sim-only'];
if (replay !== undefined && values['write-default']) throw new Error('--sim-only runs no calibration: --write-default has nothing to write');
if (values['refit-default'] && values['write-default']) throw new Error('--write-default writes a new calibration: --refit-default has nothing to refit');
const readReport = (file: string): Report => {
  if (!existsSync(file)) throw new Error(`--sim-only ${replay}: no ${file} (a directory bench:sim-vs-live wrote with --out)`);
  return JSON.parse(readFileSync(file, 'utf8')) as Report;
};

// As the live runs had them (with --sim-only, the sitting's machine is taken to be this one): the sim gives its devices as many driver loops.
const driverCpus = cpusBesideFirst();
if (replay !== undefined) log(`sim only: the live figures are ${replay}'s`);
else if (driverCpus) {
  pinToCpus(process.pid, '0');
  log(`pinned: the embedded world (this process) to CPU 0, the driver's workers to CPU ${driverCpus}`);
  if (!process.execArgv.includes('--single-threaded-gc')) log('note: run without --single-threaded-gc (npm run bench:sim-vs-live passes it): the collector\'s helper threads share CPU 0 with the cluster');
} else log('one CPU: the cluster and the driver share it (figures will differ from the sim\'s)');

// The sim resolves events 10 µs apart: the embedded world's stores answer in microseconds.
const resolutionMs = 0.01;
// The cluster's figures, as calibrate measures them: end-to-end crypto off in both worlds (its device cost is modeled apart).
const light: Overrides = { devices, duration, e2ee: false };
// Where the sim's default calibration lives (--write-default, --refit-default).
const defaultFile = new URL('../system/worlds/sim/calibrations/embedded.json', import.meta.url);
const measured = replay !== undefined
  ? { file: join(replay, 'calibration.json'), calibration: loadCalibration(values.calibration ?? join(replay, 'calibration.json')).calibration, saturation: readReport(join(replay, 'saturation.json')) }
  : await calibrate({ world: 'embedded', overrides: light, seed, out: join(out, 'calibration.json'), log: quiet, driverCpus });
// The closed loop's report, for a later --sim-only.
if (replay === undefined) writeFileSync(join(out, 'saturation.json'), JSON.stringify(measured.saturation));
if (values['write-default']) {
  copyFileSync(measured.file, defaultFile);
  log(`wrote the measured calibration to ${defaultFile.pathname}`);
}
// The main job's sim row: the shipped default as loaded, refitted (--refit-default), or as just written (--write-default:
// the default this process loaded at its start is the one it replaced).
let mainCalibration: Calibration | undefined = values['write-default'] ? measured.calibration : undefined;
const calibration = values.calibration ? loadCalibration(values.calibration).calibration : measured.calibration;
if (values['refit-default']) {
  const c = JSON.parse(readFileSync(defaultFile, 'utf8')) as Calibration;
  const notes = c.notes as { refit?: string } | undefined;
  const before = JSON.stringify(c.links['device-gateway']);
  await refitLinks(c, seed);
  if (notes) notes.refit = `${new Date().toISOString().slice(0, 10)}: the device-gateway hop fitted again to notes.lightRun with the sim then (npm run bench:sim-vs-live -- --refit-default); it was ${before}`;
  writeFileSync(defaultFile, `${JSON.stringify(c, null, 2)}\n`);
  log(`refitted the default calibration's hop: ${before} -> ${JSON.stringify(c.links['device-gateway'])} (${defaultFile.pathname})`);
  mainCalibration = c;
}
const liveSat = measuredThroughput(measured.saturation!);

// Each live run from a collected heap, as calibrate's runs start (collectGarbage): not with what the run before left.
// The cluster's CPU over each live run's load (this process is the cluster; the driver's workers are processes of their
// own): from the first send for --duration, in cores. Kept beside the run's report, for a later --sim-only.
const clusterCpu = new Map<Report, number>();
const CPU_FILE = 'cluster-cpu.json';
const liveOnce = async (o: Overrides, dir: string) => {
  if (replay !== undefined) {
    const report = readReport(join(replay, dir, 'report.json'));
    const file = join(replay, dir, CPU_FILE);
    if (existsSync(file)) clusterCpu.set(report, (JSON.parse(readFileSync(file, 'utf8')) as { cores: number }).cores);
    return report;
  }
  collectGarbage();
  let cores: number | undefined;
  const timers: NodeJS.Timeout[] = [];
  // onLoadStart comes 300 ms before the first send (live.ts's t0).
  const onLoadStart = () => timers.push(setTimeout(() => {
    const from = process.cpuUsage();
    const at = performance.now();
    timers.push(setTimeout(() => {
      const used = process.cpuUsage(from);
      cores = (used.user + used.system) / 1000 / (performance.now() - at);
    }, loadMs));
  }, 300));
  try {
    const { report } = await runLive({ scenario: 'steady-chat', world: 'embedded', overrides: o, seed, outDir: join(out, dir), progress: false, log: quiet, driverCpus, onLoadStart });
    if (cores !== undefined) {
      clusterCpu.set(report, cores);
      writeFileSync(join(out, dir, CPU_FILE), `${JSON.stringify({ cores: Math.round(cores * 1000) / 1000, overMs: loadMs })}\n`);
    }
    return report;
  } finally {
    for (const t of timers) clearTimeout(t);
  }
};
/** The sim's nodes' shared loop, busy over the load's seconds (its per-second gauge), in cores. */
const simCpu = (r: Report): number => {
  const v = (r.timeline.gauges.nodeCpuMax ?? []).slice(0, Math.ceil((r.warmupMs + r.durationMs) / 1000)).filter((x): x is number => typeof x === 'number');
  return v.length > 0 ? v.reduce((a, b) => a + b, 0) / v.length : NaN;
};
// One live run's p50 and p99 at these loads move by ±50% from run to run here (where a major cycle falls, how the
// driver's loop fares): `liveRuns` runs, and the one with the median p99 stands for the row.
const spreads: string[] = [];
const live = async (o: Overrides, dir: string, label: string) => {
  const runs: Report[] = [];
  for (let i = 1; i <= liveRuns; i++) runs.push(await liveOnce(o, liveRuns === 1 ? dir : `${dir}-${i}`));
  const median = [...runs].sort((a, b) => a.latency.e2eMs.p99 - b.latency.e2eMs.p99)[Math.floor((runs.length - 1) / 2)]!;
  if (runs.length > 1) spreads.push(`${label} live, ${runs.length} runs: e2e p50 ${runs.map((r) => r.latency.e2eMs.p50.toFixed(2)).join(' / ')} ms, p99 ${runs.map((r) => r.latency.e2eMs.p99.toFixed(2)).join(' / ')} ms`);
  return median;
};
// The sim's driver model splits the devices over as many workers as the pinned live runs have (one a driver CPU).
const sim = async (o: Overrides, cal: typeof calibration | undefined, dir?: string, driverWorkers = defaultWorkers(devices, driverCpus)) =>
  (await runSim({ scenario: 'steady-chat', overrides: o, seed, calibration: cal, resolutionMs, progress: false, log: quiet, outDir: dir ? join(out, dir) : undefined, driverWorkers })).report;

interface Row { load: string; rate: string; live: Report; sim: Report; goals: ('throughput' | 'p50' | 'p99')[] }
const rows: Row[] = [];
const simSat = await sim({ ...light, vus: devices }, calibration, 'sim-saturation');
rows.push({ load: 'saturation', rate: `${devices} VUs`, live: measured.saturation!, sim: simSat, goals: ['throughput'] });
for (const share of [0.5, 0.8, 1.0, 1.2]) {
  const rate = Math.round(liveSat * share);
  const o: Overrides = { ...light, rate };
  log(`${share * 100}% of saturation: ${rate} msgs/s`);
  rows.push({ load: `${share * 100}%`, rate: `${rate}/s`, live: await live(o, `live-${share * 100}`, `${share * 100}%`), sim: await sim(o, calibration, `sim-${share * 100}`), goals: share <= 0.8 ? ['p50', 'p99'] : [] });
}
// The main job as `chatlab run steady-chat` runs it: its own fresh process (a warm one shows a shorter tail), nothing pinned;
// and the sim with nothing given (the shipped default).
if (driverCpus && replay === undefined) pinToCpus(process.pid, `0,${driverCpus}`); // a child inherits its parent's CPUs
// One run's p99 moves by ±30% from run to run here: three runs, and the one with the median p99 stands for the main job.
const mainRuns: Report[] = [];
for (let i = 1; i <= 3; i++) {
  const dir = `main-job-embedded-${i}`;
  mainRuns.push(replay !== undefined ? readReport(join(replay, dir, 'report.json')) : chatlabRun('embedded', {}, seed, join(out, dir)));
}
const mainOrder = [0, 1, 2].sort((a, b) => mainRuns[a]!.latency.e2eMs.p99 - mainRuns[b]!.latency.e2eMs.p99);
const mainLive = mainRuns[mainOrder[1]!]!;
const mainDir = join(replay ?? out, `main-job-embedded-${mainOrder[1]! + 1}`);
log(`main job live, 3 fresh runs: e2e p50 ${mainRuns.map((r) => r.latency.e2eMs.p50.toFixed(2)).join(' / ')}, p99 ${mainRuns.map((r) => r.latency.e2eMs.p99.toFixed(2)).join(' / ')} ms`);
// The main job's workers are not pinned: as many as an unpinned live run has.
const mainSim = await sim({}, mainCalibration, 'main-job-sim', defaultWorkers(1000));
rows.push({ load: 'main job', rate: '400/s', live: mainLive, sim: mainSim, goals: ['p50', 'p99'] });

const fig = (r: Report) => ({ throughput: measuredThroughput(r), p50: r.latency.e2eMs.p50, p99: r.latency.e2eMs.p99 });
const pct = (a: number, b: number) => (b - a) / a;
const cell = (a: number, b: number, digits: number) => `${a.toFixed(digits).padStart(9)}${b.toFixed(digits).padStart(9)}${`${(pct(a, b) * 100).toFixed(0)}%`.padStart(7)}`;
const w = (s: string, n: number) => s.padEnd(n);
process.stdout.write(`\ncalibration: ${calibration.source}; main-job sim: the default calibration${values['refit-default'] ? ' (its hop refitted)' : values['write-default'] ? ' (as just written)' : ''}; sim resolution ${resolutionMs} ms\n`);
process.stdout.write(`cluster on CPU 0, driver on CPU ${driverCpus ?? '(shared)'}; live saturation ${liveSat.toFixed(0)} msgs/s (closed loop, ${devices} VUs)\n\n`);
process.stdout.write(`${w('load', 11)}${w('offered', 10)}${'acked msgs/s'.padStart(25)}${'e2e p50 ms'.padStart(25)}${'e2e p99 ms'.padStart(25)}   goal\n`);
process.stdout.write(`${w('', 21)}${'    live      sim      Δ'.repeat(3)}\n`);
let misses = 0;
for (const r of rows) {
  const a = fig(r.live);
  const b = fig(r.sim);
  const outside = r.goals.filter((g) => Math.abs(pct(a[g], b[g])) > 0.25);
  misses += outside.length;
  const verdict = r.goals.length === 0 ? '-' : outside.length === 0 ? `within ±25% (${r.goals.join(', ')})` : `OUTSIDE ±25%: ${outside.join(', ')}`;
  process.stdout.write(`${w(r.load, 11)}${w(r.rate, 10)}${cell(a.throughput, b.throughput, 0)}${cell(a.p50, b.p50, 2)}${cell(a.p99, b.p99, 2)}   ${verdict}\n`);
}
// Where the sim's cost model is off shows first here: at one rate, a cluster busier live than in the sim queues longer.
const closedCores = (measured.calibration.notes as { closedLoop?: { clusterCpuCores?: number } } | undefined)?.closedLoop?.clusterCpuCores;
const cores = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? '-' : n.toFixed(2)).padStart(7);
process.stdout.write(`\ncluster CPU over the load, cores busy (live: this process, the row's run, over its first ${duration}; sim: its nodes' shared loop)\n`);
process.stdout.write(`${w('load', 11)}${'live'.padStart(7)}${'sim'.padStart(7)}\n`);
for (const r of rows) {
  if (r.load === 'main job') continue;
  const live = r.load === 'saturation' ? closedCores : clusterCpu.get(r.live);
  process.stdout.write(`${w(r.load, 11)}${cores(live)}${cores(simCpu(r.sim))}\n`);
}
process.stdout.write(`\n${spreads.map((line) => `${line} (the row: the median p99's run)\n`).join('')}`);
process.stdout.write(`main job live, 3 fresh runs: e2e p50 ${mainRuns.map((r) => r.latency.e2eMs.p50.toFixed(2)).join(' / ')} ms, p99 ${mainRuns.map((r) => r.latency.e2eMs.p99.toFixed(2)).join(' / ')} ms (the row: the median p99's run)\n`);
process.stdout.write(`reports: ${out}; the main job side by side: npx chatlab compare ${join(mainDir, 'report.json')} ${join(out, 'main-job-sim', 'report.json')}\n`);
process.stdout.write(`sim vs live: ${misses === 0 ? 'every goal met' : `${misses} figure(s) outside ±25%`}\n`);
