import { spawnSync } from 'node:child_process';
import { constants } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cpus as cpuList, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import type { Report } from '../../reports/report.ts';
import { datacenterCalibration, type Calibration, type DriverModel, type NodeGc, type Pause } from '../../system/worlds/sim/calibration.ts';
import { normal, Z99, type Dist } from '../../system/worlds/sim/distribution.ts';
import { SeededRandom } from '../../system/random/random.ts';
import type { SimWorld } from '../../system/worlds/sim/sim-world.ts';
import { runLive } from './live/live.ts';
import { onEveryCpu } from './live/affinity.ts';
import { GcPauseMeter } from './live/gc-pauses.ts';
import { GcSampler, majorCyclesOf, type GcSample, type MajorCycle } from './gc-marking.ts';
import { runSim } from './sim/sim.ts';
import { measureE2eeCost } from './measure-e2ee.ts';
import { measureReadCost } from './measure-reads.ts';
import { defaultWorkers, type Overrides } from './config.ts';

export interface CalibrateOptions {
  world: 'embedded' | 'local';
  /** The light run's load; default: steady-chat as the main job runs it, for 15 s. */
  overrides?: Overrides;
  seed?: number;
  /** Where to write the calibration JSON. */
  out: string;
  log?: (line: string) => void;
  /** Pin the driver's workers to these CPUs (see LiveRunOptions.driverCpus). */
  driverCpus?: string;
}

export interface CalibrateResult {
  calibration: Calibration;
  /** The light run (link latencies). */
  report: Report;
  /** embedded: the closed-loop run (CPU per message, saturation throughput). */
  saturation?: Report;
  file: string;
}

/** Light runs, each in a fresh process; the median p99's run is used. */
const LIGHT_RUNS = 3;
const CLI = fileURLToPath(new URL('../../cli/chatlab.ts', import.meta.url));

/** `chatlab run steady-chat` in a process of its own, as a user runs it (nothing pinned); its report, written to `out` (kept), or to a scratch folder removed once read. */
export function chatlabRun(world: string, o: Overrides, seed: number, keep?: string): Report {
  const out = keep ?? tmp();
  try {
    return runReport(world, o, seed, out);
  } finally {
    if (keep === undefined) rmSync(out, { recursive: true, force: true });
  }
}

function runReport(world: string, o: Overrides, seed: number, out: string): Report {
  const args = ['--import', 'tsx', CLI, 'run', 'steady-chat', '--world', world, '--seed', String(seed), '--out', out, '--no-progress'];
  if (o.devices !== undefined) args.push('--devices', String(o.devices));
  if (o.rate !== undefined) args.push('--rate', String(o.rate));
  if (o.duration !== undefined) args.push('--duration', String(o.duration));
  if (o.e2ee === false) args.push('--no-e2ee');
  // Thresholds may fail on a busy machine; the report is written either way.
  // On every CPU, as a user's run is, even when this process is pinned (bench:sim-vs-live pins it to CPU 0).
  const [command, argv] = onEveryCpu(process.execPath, args);
  spawnSync(command, argv, { stdio: 'ignore', timeout: 600_000 });
  try {
    return JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as Report;
  } catch (err) {
    throw new Error(`calibration light run (chatlab run steady-chat --world ${world}) wrote no report: ${(err as Error).message}`);
  }
}

/** Relative CPU weights of the sim's cost model: a sign-in costs 3 units, a send 2, other frames 1, a bus envelope ½, a frame written ¼. */
const WEIGHTS = { hello: 3, send: 2, recv: 1, read: 1, other: 1, envelope: 0.5, frameOut: 0.25 } as const;
/** Unit of the weight-counting sim run: small enough that nothing queues, so the load runs as it would with no CPU cost. */
const PROBE_UNIT_MS = 0.0001;

/**
 * `chatlab calibrate`: what the sim needs to know about a live world,
 * measured on this machine.
 *
 * - Node CPU (embedded world): a closed-loop run (`vus` = every device, each
 *   sending as soon as its last message is acked) keeps the main process —
 *   every node, their memory stores, the push service — busy; its CPU time
 *   over the load divided by the messages acked is the CPU one message
 *   costs, everything it causes included (deliveries, receipts,
 *   heartbeats). The sim's cost model (WEIGHTS) is then scaled so that the
 *   same load costs the same CPU in the sim: the scenario runs in the sim
 *   once with unit costs, and the unit is the measured CPU per message over
 *   the units the sim charged per message. The nodes share one event loop
 *   (`node.cpu: shared`), as they do in the embedded world. The closed
 *   loop's throughput is the world's saturation, kept in the notes.
 * - Node wake-up (embedded world): the same scenario open-model at half the
 *   closed loop's throughput costs the main process more CPU per message
 *   (frames arrive one at a time, and each turn of the event loop — poll,
 *   reads, timers — is paid for by few). `node.wakeMs` is what each turn
 *   of the sim's event loop pays on top (`wakePer: turn`: a turn takes the
 *   frames that arrived before it began), found by bisection so that the
 *   sim at that load spends the same CPU per message (`simProbe`;
 *   notes.openLoad).
 * - Node collections (embedded world): over the open load, the main
 *   process's scavenges (their mean pause, the CPU between two), and over
 *   a second run of it under a CPU profile its major cycles (the CPU
 *   between two; each one's incremental marking on the loop's thread and
 *   its final pause, majorCyclesOf): `node.gc`, blocks the sim charges to
 *   the node's CPU. The frame costs above are the CPU less the scavenges'
 *   share. Each measured run starts from a collected heap (collectGarbage).
 * - device↔gateway link: from light runs at the main job's load (three
 *   `chatlab run`s, each in a fresh process, as the main job runs; the one
 *   with the median p99 counts), a lognormal hop such that two
 *   hops in a row — a message up to its node and down to the recipient —
 *   have the run's e2e p50 and p99 after taking off the node's CPU for a
 *   send (fitHop). On loopback this link is mostly the driver's own time:
 *   its workers' event loops, its send lag and the kernel.
 * - stores: the embedded world runs them in memory, their time is in the
 *   CPU above; the local world keeps the datacenter figures (Redis and
 *   Cassandra on this machine are measured by bench:local, not here).
 * - e2ee: what end-to-end encryption costs a device here, each figure of
 *   the sim's E2eeCostModel measured with the real crypto
 *   (measureE2eeCost), first, before any run loads the machine.
 * - socket reads (embedded world): what one read of a socket costs a
 *   gateway's loop and a driver worker's (measureReadCost), after the
 *   e2ee figures: `node.readMs` and `driver.readMs`, charged once a socket
 *   and turn. The closed loop's CPU a message and a frame is taken apart
 *   with them (one read for each frame read there) before the units above.
 *
 * The sim report names the calibration it used so a reader can judge.
 */
export async function calibrate(o: CalibrateOptions): Promise<CalibrateResult> {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const seed = o.seed ?? 1;
  // The cluster's figures: the devices' end-to-end crypto is measured apart (its cost model), and the driver's share of
  // the CPU it takes would be charged to the cluster here.
  const light = { duration: '15s', e2ee: false, ...(o.overrides ?? {}) };
  const memoryStores = o.world === 'embedded';
  // The light runs are the main job as it runs — end-to-end encryption on, for the scenario's own duration (live, a run's
  // tail shrinks as its processes warm: 30 s read p99 15 ms where 15 s read 18): what an uncalibrated sim of it should
  // land near. The devices and rate, when given, are the caller's. Only where the sim then runs the same load to fit the
  // hop (closeTheLoop: embedded): without that fit the hop would carry the crypto the sim also charges, so the local
  // world's light runs stay plaintext, at the runs' duration.
  const { duration: _closedLoopDuration, ...lightLoad } = light;
  const mainLoad: Overrides = memoryStores ? { ...lightLoad, e2ee: true } : light;
  const e2ee = measureE2eeCost();
  log(`e2ee cost: encrypt ${e2ee.model.encryptUs} µs, decrypt ${e2ee.model.decryptUs} µs, session start ${e2ee.model.sessionStartUs} µs (${e2ee.detail.elapsedMs} ms to measure)`);
  // What a socket read costs a loop here, the gateway's and the driver's (embedded: the closed loop's frame costs are
  // taken apart into frames and reads; the local world's nodes are not fitted so).
  const reads = memoryStores ? await measureReadCost(o.driverCpus ? { peerCpus: o.driverCpus } : {}) : undefined;
  if (reads) log(`socket reads: ${reads.serverMs} ms a gateway read, ${reads.clientMs} ms a driver read`);
  // The light runs first, each `chatlab run` in a fresh process of its own: their latencies are what an uncalibrated sim should
  // land near. One run's p99 moves by ±30% from run to run here; the run with the median p99 stands for them.
  const lights = Array.from({ length: LIGHT_RUNS }, () => chatlabRun(o.world, mainLoad, seed));
  const report = [...lights].sort((a, b) => a.latency.e2eMs.p99 - b.latency.e2eMs.p99)[Math.floor(LIGHT_RUNS / 2)]!;
  let cpu: CpuFit | undefined;
  let saturation: Report | undefined;
  const devices = light.devices ?? 1000;
  if (memoryStores) {
    const closed = await measureCpu({ world: o.world, overrides: { ...light, devices, vus: devices }, seed, log, driverCpus: o.driverCpus });
    saturation = closed.report;
    const { unitsPerMessage } = await simProbe({ ...light, devices, rate: Math.max(1, Math.round(measuredThroughput(saturation))) }, seed, PROBE_UNIT_MS);
    cpu = { ...closed, unitsPerMessage };
  }
  // The frame costs are the CPU without the scavenges: the sim charges those as pauses (node.gc.minor, from the open load).
  // With reads measured, the reads' share comes off first: in the closed loop each frame a node reads is taken to come in
  // a read of its own (its devices wait for their acks), so the frames' units carry the rest.
  const closedReadsMs = cpu && reads ? cpu.framesInPerMessage * reads.serverMs : 0;
  const unitMs = cpu ? Math.max(0, cpu.cpuMsPerMessage * (1 - minorShare(cpu.gc)) - closedReadsMs) / cpu.unitsPerMessage : 0.02;
  const readMs = reads && cpu ? reads.serverMs : 0;
  // The devices' share of the frames they read, of all their frames (the nodes' out over in and out, in the closed loop).
  const driverReads = reads && cpu ? { ms: reads.clientMs, share: cpu.framesOutPerMessage / Math.max(1e-9, cpu.framesInPerMessage + cpu.framesOutPerMessage) } : undefined;
  // The wake-up: open load at half the closed loop's throughput costs the cluster more per message than the closed
  // loop (frames come one at a time, each turn of the event loop paid for by few). node.wakeMs is found by bisection
  // so that the sim at that load, with the driver's loops and the cluster's collections as its runs have them, spends
  // the same CPU per message, pauses included: a dearer wake-up also keeps the CPU busy more often, so fewer frames
  // find it idle, and no closed form holds.
  let wake: { msgsPerSec: number; cpuMsPerMessage: number; withoutScavengesMs: number; simCpuMsPerMessage: number; simWakesPerMessage: number; simReadsPerMessage: number; wakeMs: number } | undefined;
  let open: Awaited<ReturnType<typeof measureCpu>> | undefined;
  let marked: Awaited<ReturnType<typeof measureCpu>> | undefined;
  let openLoad: Overrides | undefined;
  let driver: DriverModel | undefined;
  let nodeGc: NodeGc | undefined;
  if (cpu && saturation) {
    const rate = Math.max(1, Math.round(measuredThroughput(saturation) / 2));
    openLoad = { ...light, devices, rate };
    open = await measureCpu({ world: o.world, overrides: openLoad, seed, log, driverCpus: o.driverCpus });
    // The same load again under a CPU profile: each major cycle's marking (its CPU figures are not used: the profiler's own).
    marked = await measureCpu({ world: o.world, overrides: openLoad, seed, log, driverCpus: o.driverCpus, profile: true });
    // As the sim of this load runs: the driver's loops and the cluster's collections (ProbeAs), so the CPU it spends a
    // message, pauses and all, is held to live's whole figure.
    driver = driverModelOf(report, saturation, o.world, open.report, driverReads);
    nodeGc = open.gc.minor.count > 0 || marked.gc.major.count > 0 ? nodeGcOf(open.gc, marked.gc, openLoad) : undefined;
    const as: ProbeAs = { driver, driverWorkers: defaultWorkers(devices, o.driverCpus), gc: nodeGc };
    const probe = (w: number) => simProbe({ ...light, devices, rate }, seed, unitMs, w, as, readMs);
    let lo = 0;
    let hi = 1;
    let fit = await probe(hi);
    const liveCpu = open.cpuMsPerMessage;
    if (fit.cpuMsPerMessage > liveCpu) {
      for (let i = 0; i < 10; i++) {
        const mid = (lo + hi) / 2;
        const at = await probe(mid);
        if (at.cpuMsPerMessage < liveCpu) lo = mid;
        else [hi, fit] = [mid, at];
      }
    }
    wake = { msgsPerSec: rate, cpuMsPerMessage: round(open.cpuMsPerMessage), withoutScavengesMs: round(open.cpuMsPerMessage * (1 - minorShare(open.gc))), simCpuMsPerMessage: round(fit.cpuMsPerMessage), simWakesPerMessage: round(fit.wakesPerMessage), simReadsPerMessage: round(fit.readsPerMessage), wakeMs: round(hi) };
    log(`node wake-up: ${round(hi)} ms (open load at ${rate} msgs/s: ${round(open.cpuMsPerMessage)} ms of CPU a message live, ${round(fit.cpuMsPerMessage)} in the sim)`);
  }
  const frame = (w: number): Dist => ({ kind: 'constant', ms: round(unitMs * w) });
  const sendMs = unitMs * (WEIGHTS.send + WEIGHTS.frameOut) + (wake?.wakeMs ?? 0);
  const ack = report.latency.ackMs;
  const e2e = report.latency.e2eMs;
  const link = fitHop(e2e.p50 - sendMs, e2e.p99 - sendMs);
  const d = datacenterCalibration;
  driver ??= driverModelOf(report, saturation, o.world, open?.report, driverReads);
  const calibration: Calibration = {
    version: 1,
    source: `${o.world} world on ${new Date().toISOString().slice(0, 10)}: steady-chat, ${devices} devices, ${light.rate ?? 400} msgs/s for ${report.durationMs / 1000}s${mainLoad.e2ee ? ', encrypted' : ''}${cpu ? `, and closed loop (${devices} VUs, ${light.duration})` : ''}`,
    links: {
      ...d.links,
      'device-gateway': link,
      'node-node': memoryStores ? { kind: 'constant', ms: 0.001 } : d.links['node-node'],
      'node-store': memoryStores ? { kind: 'constant', ms: 0.001 } : d.links['node-store'],
      push: memoryStores ? link : d.links.push,
    },
    node: {
      frameMs: { hello: frame(WEIGHTS.hello), send: frame(WEIGHTS.send), recv: frame(WEIGHTS.recv), read: frame(WEIGHTS.read), other: frame(WEIGHTS.other) },
      envelopeMs: frame(WEIGHTS.envelope),
      frameOutMs: frame(WEIGHTS.frameOut),
      ...(memoryStores ? { cpu: 'shared' as const } : {}),
      ...(wake ? { wakeMs: wake.wakeMs, wakePer: 'turn' as const } : {}),
      ...(wake && readMs > 0 ? { readMs: round(readMs) } : {}),
      ...(nodeGc ? { gc: nodeGc } : {}),
    },
    stores: memoryStores
      ? { redis: { servers: 64, opMs: { default: { kind: 'constant', ms: 0 } } }, cassandra: { servers: 64, opMs: { default: { kind: 'constant', ms: 0 } } }, push: { servers: 64, opMs: { default: { kind: 'constant', ms: 0 } } } }
      : d.stores,
    // In-memory stores answer in microseconds: 10 µs steps, or each store round trip would cost 0.1 ms the world does not spend.
    ...(memoryStores ? { resolutionMs: 0.01 } : {}),
    e2ee: e2ee.model,
    ...(driver ? { driver } : {}),
    notes: {
      world: o.world,
      machine: machine(),
      lightRuns: lights.map((r) => ({ e2eP50Ms: r.latency.e2eMs.p50, e2eP99Ms: r.latency.e2eMs.p99 })),
      // `load`: what the light runs ran (steady-chat's options over the main job's), so the hop can be fitted again to them (refitLinks).
      lightRun: { ackP50Ms: ack.p50, ackP99Ms: ack.p99, e2eP50Ms: report.latency.e2eMs.p50, e2eP99Ms: report.latency.e2eMs.p99, ackedPerSec: round(measuredThroughput(report)), load: { ...mainLoad, devices: mainLoad.devices ?? 1000 } },
      ...(cpu ? {
        closedLoop: {
          saturationMsgsPerSec: round(measuredThroughput(saturation!)), clusterCpuCores: round(cpu.cpuShare), cpuMsPerMessage: round(cpu.cpuMsPerMessage), simUnitsPerMessage: round(cpu.unitsPerMessage),
          unitMs: round(unitMs), ackP50Ms: saturation!.latency.ackMs.p50, ackP99Ms: saturation!.latency.ackMs.p99,
          framesInPerMessage: round(cpu.framesInPerMessage), framesOutPerMessage: round(cpu.framesOutPerMessage), readsMsPerMessage: round(closedReadsMs),
        },
        ...(wake ? { openLoad: wake } : {}),
      } : {}),
      ...(open ? { collections: { cpuMs: round(open.gc.cpuMs), scavenges: open.gc.minor.count, scavengeMeanMs: round(open.gc.minor.meanMs), scavengeShare: round(minorShare(open.gc)), majorCycles: open.gc.major.count, profiledRun: marked ? { cpuMs: round(marked.gc.cpuMs), scavenges: marked.gc.minor.count, majorCycles: marked.gc.major.count, majorFinalPauseMeanMs: round(marked.gc.major.meanMs), majorMarkingMeanMs: round(marked.gc.major.marking?.meanMs ?? 0), majorMarkingWallMeanMs: round(marked.gc.major.marking?.wallMeanMs ?? 0), majorMarkingWorkMeanMs: round(marked.gc.major.marking?.workMeanMs ?? 0) } : undefined } } : {}),
      e2ee: e2ee.detail,
      ...(reads ? { reads } : {}),
      command: `chatlab calibrate --world ${o.world}${o.overrides?.devices ? ` --devices ${o.overrides.devices}` : ''}${o.overrides?.rate ? ` --rate ${o.overrides.rate}` : ''}${o.overrides?.duration ? ` --duration ${o.overrides.duration}` : ''}${o.driverCpus ? ` --driver-cpus ${o.driverCpus}` : ''}`,
    },
  };
  if (memoryStores) await closeTheLoop(calibration, mainLoad, seed, e2e.p50, e2e.p99);
  writeFileSync(o.out, `${JSON.stringify(calibration, null, 2)}\n`);
  return { calibration, report, ...(saturation ? { saturation } : {}), file: o.out };
}

/**
 * The driver's own loops (Calibration.driver) from live runs' driver
 * figures. `busy`, the closed loop, keeps the workers' loops full: its CPU
 * a frame is a frame's own cost (`frameMs`). At the light load frames come
 * one at a time and each pays a turn of the loop alone: what the light
 * run's CPU a frame has beyond `frameMs` and the devices' crypto (which
 * the sim charges apart, from its cost model: the light run's own
 * encryptions and decryptions are taken off) is the wake-up (`wakeMs`).
 * The collector's pauses (their mean, and the frames between two) are
 * `plain`'s when given (the open load, crypto off, as the sim's loads of
 * the cluster run), else the light run's. Without a closed loop (the local
 * world) the light run's CPU a frame less its crypto is `frameMs` and there
 * is no wake-up. With `reads` (a read's cost and the share of the frames
 * the devices read) and a closed loop, each frame read there is taken to
 * have come in a read of its own: the reads come off `frameMs` and are
 * charged apart (`readMs`, once a socket and turn). None when a report has
 * no such figures (a report of an older chatlab).
 */
export function driverModelOf(light: Report, busy: Report | undefined, world: string, plain?: Report, reads?: { ms: number; share: number }): DriverModel | undefined {
  const d = light.driver;
  const gcOf = plain?.driver?.gcPauses?.everyFrames ? plain : light;
  const gc = gcOf.driver?.gcPauses;
  if (!d?.cpuMsPerFrame || !gc?.everyFrames) return undefined;
  const crypto = cryptoMsPerFrame(light);
  const lightFrameMs = Math.max(0, d.cpuMsPerFrame - crypto);
  const perFrame = busy?.driver?.cpuMsPerFrame ?? lightFrameMs;
  const wakeMs = Math.max(0, lightFrameMs - perFrame);
  // With a read's cost: in the closed loop each frame a device reads is taken to come in a read of its own; the rest is the frame's.
  const readMs = reads && busy ? reads.ms : 0;
  const frameMs = Math.max(0, perFrame - readMs * (reads?.share ?? 0));
  return {
    source: `${world} runs of steady-chat (${light.devices.planned} devices): ${(perFrame * 1000).toFixed(1)} µs of CPU a frame${busy ? ` in the closed loop (${busy.driver!.workers as number} workers)` : ''}${readMs > 0 ? ` (${(frameMs * 1000).toFixed(1)} of it the frame, a read ${(readMs * 1000).toFixed(1)} for the ${Math.round((reads!.share) * 100)}% it reads)` : ''}, ${(d.cpuMsPerFrame * 1000).toFixed(1)} at the light load (${d.workers as number} workers)${crypto > 0 ? `, ${(crypto * 1000).toFixed(1)} of it the devices' crypto` : ''}, ${gc.count} GC pauses of ${round(gc.meanMs)} ms mean (max ${round(gc.maxMs)}) every ${Math.round(gc.everyFrames)} frames${gcOf === plain ? ' (the open load, crypto off)' : ''}`,
    frameMs: round(frameMs),
    ...(wakeMs > 0 ? { wakeMs: round(wakeMs) } : {}),
    ...(readMs > 0 ? { readMs: round(readMs) } : {}),
    gcEveryFrames: Math.round(gc.everyFrames),
    gcPauseMs: round(gc.meanMs),
  };
}

/** What a run's devices spent encrypting and decrypting, a driver frame (ms; 0 with crypto off). */
function cryptoMsPerFrame(r: Report): number {
  const e = r.e2ee;
  const frames = r.driver?.frames;
  if (!e || e.mode !== 'real' || !frames) return 0;
  return (e.encryptUs.mean * e.encryptUs.count + e.decryptUs.mean * e.decryptUs.count) / 1000 / frames;
}

/**
 * Fits a calibration's device↔gateway hop again to the light run it was
 * measured with (`notes.lightRun`: its e2e p50 and p99, and the load it
 * ran, `load`), with the sim as it is now: when the sim's model of the
 * rest changes (the driver's loops, their timers, the node's collections),
 * the hop stops standing for what they now model. Changes `c` and returns it.
 */
export async function refitLinks(c: Calibration, seed = 1): Promise<Calibration> {
  const run = (c.notes as { lightRun?: { e2eP50Ms?: number; e2eP99Ms?: number; load?: Overrides } } | undefined)?.lightRun;
  if (!(run?.e2eP50Ms && run.e2eP99Ms)) throw new Error(`calibration "${c.source}" has no light run to fit its hop to (notes.lightRun)`);
  if (!run.load) throw new Error(`calibration "${c.source}" does not say what its light run ran (notes.lightRun.load)`);
  await closeTheLoop(c, run.load, seed, run.e2eP50Ms, run.e2eP99Ms);
  return c;
}

/** At most this many fits of the hop after the first try (each a sim run of the light load). */
const FIT_SCALINGS = 4;

/**
 * The sim's e2e is more than two hops and a send: group fan-out, the node's
 * queue, a connection's frames in order, the driver's loops and timers.
 * So the fitted hop is checked by running the light load in the sim with
 * it and moved by how far the sim's e2e p50 and p99 land from the live
 * run's (the median by the difference, the tail by the ratio), until both
 * are within 3% or FIT_SCALINGS times, so an uncalibrated sim of that load
 * lands on what was measured.
 */
async function closeTheLoop(c: Calibration, light: Overrides, seed: number, liveP50: number, liveP99: number): Promise<void> {
  for (let scalings = 0; ; scalings++) {
    const { report } = await runSim({ scenario: 'steady-chat', overrides: light, seed, calibration: c, progress: false, log: () => {} });
    const sim = report.latency.e2eMs;
    (c.notes as Record<string, unknown>).fit = { scalings, simE2eP50Ms: sim.p50, simE2eP99Ms: sim.p99, liveE2eP50Ms: liveP50, liveE2eP99Ms: liveP99 };
    const hop = c.links['device-gateway'];
    const close = Math.abs(sim.p50 - liveP50) <= 0.03 * liveP50 && Math.abs(sim.p99 - liveP99) <= 0.03 * liveP99;
    if (close || scalings === FIT_SCALINGS || hop.kind !== 'lognormal') return;
    // The median moves by what the two hops add (the rest of the sim's e2e — the driver's timers and loops, the
    // node's CPU — does not scale with the hop); the tail by its ratio.
    const p50 = round(Math.max(0.01, hop.p50Ms + (liveP50 - sim.p50) / 2));
    const p99 = round(Math.max(p50 * 1.01, hop.p99Ms * (liveP99 / sim.p99)));
    c.links['device-gateway'] = { kind: 'lognormal', p50Ms: p50, p99Ms: p99 };
    c.links.push = c.links['device-gateway'];
  }
}

/** Calibration.node.gc from the open load's collections: the scavenges of its run (`gc`), the major cycles of its profiled run (`marked`). */
function nodeGcOf(gc: ClusterGc, marked: ClusterGc, load: Overrides): NodeGc {
  const minor = gc.minor.count > 0 ? scavenges(gc) : undefined;
  const major = majorCycles(marked, [gc]);
  const m = marked.major;
  return {
    source: `the cluster's collections over the open load at ${load.rate} msgs/s (perf_hooks gc entries; a CPU profile of a second run for the marking): ${gc.minor.count} scavenges of ${round(gc.minor.meanMs)} ms mean; ${gc.major.count} + ${m.count} major cycles in the two runs${major && m.marking ? `, each of the profiled run's ${round(m.marking.meanMs)} ms of marking over ${round(m.marking.wallMeanMs)} ms (with ${round(m.marking.workMeanMs)} ms of the loop's work) and a final pause of ${round(m.meanMs)} ms on average` : ''}`,
    ...(minor ? { minor } : {}),
    ...(major ? { major } : {}),
  };
}

/** The scavenges of a run as the sim's pauses: their mean, every so much of the other CPU. */
export function scavenges(gc: ClusterGc): Pause {
  return { everyCpuMs: round((gc.cpuMs - gc.minor.totalMs) / gc.minor.count), pauseMs: round(gc.minor.meanMs) };
}

/**
 * The node process's major cycles as the sim's pauses (Calibration.node.gc.major):
 * what each took of the event loop's thread on average (`gc`, a profiled
 * run) — its incremental marking's steps (`marking`: their ms, and their
 * share of the loop's busy time while they last, the rest its own work)
 * and its final mark-compact (`pauseMs`) —
 * every so much of the CPU besides the scavenges, counted over `gc` and
 * `others` (runs of the same load: a 15 s load has one to four cycles, and
 * one run's count alone halves or doubles the spacing). None without a
 * cycle in the profiled run.
 */
export function majorCycles(gc: ClusterGc, others: readonly ClusterGc[] = []): Pause | undefined {
  if (gc.major.count === 0 || !gc.major.marking) return undefined;
  const runs = [gc, ...others];
  const cpuMs = runs.reduce((n, r) => n + r.cpuMs - r.minor.totalMs, 0);
  const cycles = runs.reduce((n, r) => n + r.major.count, 0);
  const m = gc.major.marking;
  // The marking takes the loop in steps between its own work (allocation sets them going): its share of the two.
  const share = m.meanMs + m.workMeanMs > 0 ? Math.min(0.95, m.meanMs / (m.meanMs + m.workMeanMs)) : 0;
  if (!(share > 0)) return { everyCpuMs: round(cpuMs / cycles), pauseMs: round(gc.major.meanMs + m.meanMs) };
  return { everyCpuMs: round(cpuMs / cycles), pauseMs: round(gc.major.meanMs), marking: { ms: round(m.meanMs), share: round(share) } };
}

interface CpuFit {
  cpuMsPerMessage: number;
  framesInPerMessage: number;
  framesOutPerMessage: number;
  /** The main process's CPU over the closed loop, in cores: near 1 when the cluster, not the driver, set the saturation. */
  cpuShare: number;
  unitsPerMessage: number;
  gc: ClusterGc;
}

/**
 * A live run whose main-process CPU over the load is divided by the
 * messages it acked, with the process's collections over the load
 * (perf_hooks `gc` entries); `profile`: a CPU profile of the load as well,
 * for each major cycle's marking (GcSampler; its sampling costs the run
 * a few % of CPU, so such a run's CPU is not the one a message is taken from).
 */
async function measureCpu(o: { world: 'embedded' | 'local'; overrides: Overrides; seed: number; log: (l: string) => void; driverCpus?: string; profile?: boolean }): Promise<{ cpuMsPerMessage: number; cpuShare: number; cpuMs: number; gc: ClusterGc; report: Report; framesInPerMessage: number; framesOutPerMessage: number }> {
  let cpu0 = process.cpuUsage();
  let wall0 = performance.now();
  // The cluster's (this process's) collections over the load: perf_hooks `gc` entries, scavenges and major cycles.
  const gcSeen = new GcPauseMeter(true);
  const sampler = o.profile ? new GcSampler() : undefined;
  // Started from onLoadStart, a callback that cannot wait for it: a failure to start is kept and thrown once the run ends.
  let sampling: Promise<unknown> | undefined;
  let frames = () => 0;
  // (cpu µs) at the last sample where the nodes' frame count grew: it bounds the load, not the teardown.
  let last = { cpuUs: 0, frames: 0, wallMs: 0, framesIn: 0 };
  let framesIn = () => 0;
  let ticker: NodeJS.Timeout | undefined;
  const outDir = tmp();
  let report: Report;
  let samples: GcSample[] = [];
  collectGarbage();
  try {
    ({ report } = await runLive({
      scenario: 'steady-chat', world: o.world, overrides: o.overrides, seed: o.seed, outDir, progress: false, log: o.log, driverCpus: o.driverCpus,
      onLoadStart: (world) => {
        cpu0 = process.cpuUsage();
        wall0 = performance.now();
        gcSeen.start();
        sampling = sampler?.start().then(() => undefined, (err: unknown) => err);
        const nodes = world.embedded?.nodes ?? [];
        frames = () => nodes.reduce((n, x) => n + x.node.metrics.framesIn + x.node.metrics.framesOut, 0);
        framesIn = () => nodes.reduce((n, x) => n + x.node.metrics.framesIn, 0);
        ticker = setInterval(() => {
          const f = frames();
          if (f <= last.frames) return;
          const c = process.cpuUsage(cpu0);
          last = { cpuUs: c.user + c.system, frames: f, wallMs: performance.now() - wall0, framesIn: framesIn() };
        }, 250);
      },
    }));
  } finally {
    clearInterval(ticker);
    gcSeen.stop();
    rmSync(outDir, { recursive: true, force: true });
    if (sampler && sampling) {
      const failed = await sampling;
      // Stopped (and its inspector session closed) either way.
      const got = await sampler.stop().catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));
      if (failed !== undefined) throw new Error(`could not start the CPU profile of the open load: ${(failed as Error).message}`);
      if (got instanceof Error) throw got;
      samples = got;
    }
  }
  // Only the cycles within the load (up to the last sample where frames grew), not the teardown's.
  const within = gcSeen.entries.filter((e) => e.at - wall0 >= 0 && e.at - wall0 <= last.wallMs);
  const of = (kind: number) => {
    const es = within.filter((e) => e.kind === kind);
    const totalMs = es.reduce((n, e) => n + e.ms, 0);
    return { count: es.length, totalMs, meanMs: es.length > 0 ? totalMs / es.length : 0 };
  };
  const cycles = sampler ? majorCyclesOf(within, samples) : [];
  const mean = (f: (c: MajorCycle) => number) => cycles.reduce((n, c) => n + f(c), 0) / cycles.length;
  const cpuMs = last.cpuUs / 1000;
  return {
    cpuMsPerMessage: cpuMs / Math.max(1, report.messages.acked), cpuShare: cpuMs / Math.max(1, last.wallMs), cpuMs, report,
    // The nodes' frames over the load, each way: what the devices wrote (the nodes read) and what they read, a message.
    framesInPerMessage: last.framesIn / Math.max(1, report.messages.acked), framesOutPerMessage: (last.frames - last.framesIn) / Math.max(1, report.messages.acked),
    gc: {
      cpuMs, minor: of(constants.NODE_PERFORMANCE_GC_MINOR),
      major: { ...of(constants.NODE_PERFORMANCE_GC_MAJOR), ...(cycles.length > 0 ? { marking: { meanMs: mean((c) => c.markingMs), wallMeanMs: mean((c) => c.wallMs), workMeanMs: mean((c) => c.workMs) } } : {}) },
    },
  };
}

/**
 * A full collection of this process's heap, now. The embedded world runs in
 * this process, so a run after another (the closed loop, then the open
 * load) would start with the heap and the collector's limits the last one
 * left: after a big one, no major cycle for a while, where a fresh process
 * at the same load has one every few seconds. Each measured run starts from
 * a collected heap instead (bench:sim-vs-live's live rows too).
 */
export function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/** A live run's collections in the cluster's process over its load: its scavenges and its major cycles' final pauses, as perf_hooks reports them. */
export interface ClusterGc {
  /** The process's CPU over the load, ms. */
  cpuMs: number;
  minor: { count: number; totalMs: number; meanMs: number };
  /**
   * `meanMs`: the final pauses' mean. `marking` (a profiled run's): the
   * mean over the cycles of the collector's time on this thread from each
   * one's marking start to its final pause, less scavenges
   * (majorCyclesOf), of the wall time that took, and of the loop's other
   * work in that time.
   */
  major: { count: number; totalMs: number; meanMs: number; marking?: { meanMs: number; wallMeanMs: number; workMeanMs: number } };
}

/** The share of a run's CPU its scavenges took: the sim charges it as pauses (node.gc.minor), not in the frame costs. */
export function minorShare(gc: ClusterGc): number {
  return gc.cpuMs > 0 ? Math.min(0.5, gc.minor.totalMs / gc.cpuMs) : 0;
}

/**
 * What the wake-up probe runs with beside the unit costs, as the sim of the
 * same load will: the driver's modeled loops (they bunch the arrivals a
 * node's turns take together) and the cluster's collections (each pause
 * leaves a queue that one turn takes). Without them the probe's frames come
 * evenly spaced, more of them find the loop idle than in the sim it is for,
 * and the wake-up fitted on them is too cheap there (svl24: the sim's
 * cluster at 50% spent 0.70 of its CPU where live spent 0.75).
 */
export interface ProbeAs {
  driver?: DriverModel;
  driverWorkers?: number;
  gc?: NodeGc;
}

/**
 * The scenario in the sim at an open-model rate with `unitMs` per unit of
 * WEIGHTS and `wakeMs` per wake-up: the units charged per acked message,
 * the frames per message that found the CPU idle, and the CPU per message. With a negligible unit
 * (PROBE_UNIT_MS: nothing queues; a closed loop would spin) at the closed
 * loop's throughput, the units; with the measured unit at a lighter rate,
 * the wake-ups. The rate matters: a read marker covers every message read
 * so far, so the faster the messages, the fewer frames each one costs.
 */
export async function simProbe(overrides: Overrides, seed: number, unitMs: number, wakeMs = 0, as?: ProbeAs, readMs = 0): Promise<{ unitsPerMessage: number; wakesPerMessage: number; readsPerMessage: number; cpuMsPerMessage: number }> {
  const unit = (w: number): Dist => ({ kind: 'constant', ms: unitMs * w });
  const probe: Calibration = {
    ...datacenterCalibration,
    source: 'unit-cost probe',
    links: { 'device-gateway': { kind: 'constant', ms: 0.2 }, 'node-node': { kind: 'constant', ms: 0.001 }, 'node-store': { kind: 'constant', ms: 0.001 }, push: { kind: 'constant', ms: 0.2 } },
    node: {
      frameMs: { hello: unit(WEIGHTS.hello), send: unit(WEIGHTS.send), recv: unit(WEIGHTS.recv), read: unit(WEIGHTS.read), other: unit(WEIGHTS.other) },
      envelopeMs: unit(WEIGHTS.envelope), frameOutMs: unit(WEIGHTS.frameOut), cpu: 'shared', wakeMs, wakePer: 'turn', ...(readMs > 0 ? { readMs } : {}),
      ...(as?.gc ? { gc: as.gc } : {}),
    },
    ...(as?.driver ? { driver: as.driver } : {}),
  };
  let busy0 = 0;
  let wakes0 = 0;
  let reads0 = 0;
  const reads = (w: SimWorld) => w.transports[0]!.cpu.totalReads;
  const busy = (w: SimWorld) => w.transports[0]!.cpu.totalBusyMs;
  const wakes = (w: SimWorld) => w.transports[0]!.cpu.totalWakes;
  const { report, world } = await runSim({
    scenario: 'steady-chat', overrides, seed, calibration: probe, resolutionMs: 0.01, progress: false, log: () => {},
    ...(as?.driverWorkers ? { driverWorkers: as.driverWorkers } : {}),
    onLoadStart: (w) => {
      busy0 = busy(w);
      wakes0 = wakes(w);
      reads0 = reads(w);
    },
  });
  const acked = Math.max(1, report.messages.acked);
  const wakesPerMessage = (wakes(world) - wakes0) / acked;
  const readsPerMessage = (reads(world) - reads0) / acked;
  const cpuMsPerMessage = (busy(world) - busy0) / acked;
  return { unitsPerMessage: (cpuMsPerMessage - wakesPerMessage * wakeMs - readsPerMessage * readMs) / unitMs, wakesPerMessage, readsPerMessage, cpuMsPerMessage };
}

/**
 * The lognormal hop whose sum of two independent draws has median `p50Ms`
 * and 99th percentile `p99Ms` (a p99 of a sum is less than the sum of p99s,
 * so halving each figure would make the tail too short). Found by bisection
 * on the spread, each step a seeded Monte Carlo estimate of the sum.
 */
export function fitHop(p50Ms: number, p99Ms: number): Dist {
  const target = Math.max(1.0001, p99Ms / Math.max(1e-6, p50Ms));
  const draws = 40_000;
  const quantiles = (sigma: number): [number, number] => {
    const r = new SeededRandom(7);
    const sums = new Float64Array(draws);
    for (let i = 0; i < draws; i++) sums[i] = Math.exp(sigma * normal(r)) + Math.exp(sigma * normal(r));
    sums.sort();
    return [sums[Math.floor(draws * 0.5)]!, sums[Math.floor(draws * 0.99)]!];
  };
  let lo = 0;
  let hi = 4;
  for (let i = 0; i < 40; i++) {
    const mid = (lo + hi) / 2;
    const [q50, q99] = quantiles(mid);
    if (q99 / q50 < target) lo = mid;
    else hi = mid;
  }
  const sigma = (lo + hi) / 2;
  const [q50] = quantiles(sigma);
  const hopP50 = Math.max(0.01, p50Ms / q50);
  return { kind: 'lognormal', p50Ms: round(hopP50), p99Ms: round(hopP50 * Math.exp(sigma * Z99)) };
}

/** Acked messages per second over the measured window (warm-up left out). */
export function measuredThroughput(r: Report): number {
  const from = r.warmupMs / 1000;
  const to = r.durationMs / 1000;
  const secs = r.timeline.bucketMs / 1000;
  const acked = r.timeline.buckets.filter((b) => b.t * secs >= from && b.t * secs < to).reduce((n, b) => n + b.acked, 0);
  return acked / Math.max(1e-9, to - from);
}

function machine(): string {
  const cpus = cpuList();
  return `${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, ${process.platform} ${process.arch}, node ${process.version}`;
}

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'chatlab-calibrate-'));
}

function round(x: number): number {
  return Math.round(x * 10000) / 10000;
}
