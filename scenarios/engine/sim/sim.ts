import { readFileSync } from 'node:fs';
import { Ledger } from '../../../reports/ledger.ts';
import type { Report } from '../../../reports/report.ts';
import type { WrittenReports } from '../../../reports/write.ts';
import { planChaos, type FaultMark } from '../../../chaos/schedule.ts';
import type { ChatNodeOptions } from '../../../system/node/options.ts';
import { SeededRandom } from '../../../system/random/random.ts';
import { builtinCalibrations, defaultCalibration, validateCalibration, type Calibration, type DriverModel, type NodeGc } from '../../../system/worlds/sim/calibration.ts';
import { DeviceCpu, DriverLoop, nodeTimers } from '../../../system/worlds/sim/sim-driver.ts';
import type { Clock } from '../../../system/clock/clock.ts';
import { mean } from '../../../system/worlds/sim/distribution.ts';
import { SimWorld } from '../../../system/worlds/sim/sim-world.ts';
import type { World } from '../../../system/worlds/world.ts';
import { VirtualDevice } from '../../device/device.ts';
import { emptyStats } from '../../device/stats.ts';
import { Population } from '../../population.ts';
import type { Scenario } from '../../scenario.ts';
import { loadEndMs } from '../../validate.ts';
import { E2eeStats } from '../../device/e2ee/e2ee-stats.ts';
import type { E2eeSetup } from '../../device/e2ee/e2ee-client.ts';
import { e2eeCostSource, prewarm, simE2ee } from '../e2ee-setup.ts';
import { callNodeOptions, defaultWorkers, driverDeviceOptions, PREWARM_MAX_MS, scenarioCodecs, type Overrides } from '../config.ts';
import { MediaStats } from '../media-stats.ts';
import { SimMedia, simMediaModel, type SimMediaModel } from './sim-media.ts';
import { mediaOptionsFromEnv } from '../../../system/media/media-world.ts';
import { StoriesStats } from '../stories-stats.ts';
import { CallStats } from '../call-stats.ts';
import { DEFAULT_SIM_CALLS, SimCalls, type SimCallModel } from './sim-calls.ts';
import { DeviceLedger } from '../device-ledger.ts';
import { Load } from '../load.ts';
import { finishRun, prepareScenario, startChaos } from '../pipeline.ts';
import { DeviceTable, MidIndex, OnlineSet, setupGroupsSim } from './sim-devices.ts';
import { describeViolation, firstViolation, reportDiff, type InjectedFault, type ReplaySpec } from './sim-report.ts';
import { cellMembers, cellSeed, GHOST, OWN, type CellSpec } from './cells.ts';
import { storyPost, storyView } from '../../builtin/behaviours.ts';
import { writeShard } from '../live/shard.ts';

export interface SimRunOptions {
  /** Built-in name or path of a scenario file. */
  scenario: string;
  overrides: Overrides;
  seed: number;
  /** Where to write report.json/html and summary.md; nothing is written when omitted. */
  outDir?: string;
  /** A calibration file (`chatlab calibrate`), or the calibration itself; default: defaultCalibration. */
  calibration?: string | Calibration;
  /** Test-only faults armed at virtual times (replayable: they are stored in the report). */
  inject?: InjectedFault[];
  /** Events within this window share one instant. Default: the calibration's, else 0.1 ms. */
  resolutionMs?: number;
  /** Node options for every node (e.g. a longer heartbeat for huge populations; see docs/sim.md). */
  node?: Partial<Omit<ChatNodeOptions, 'nodeId' | 'nodeNumber'>>;
  log?: (line: string) => void;
  /** Print a progress line every few wall seconds. Default true. */
  progress?: boolean;
  /** The media model (default: DEFAULT_SIM_MEDIA with the CHATLAB_MEDIA_* options of the environment); replays pass the run's. */
  media?: SimMediaModel;
  /** The relay model calls use (replay passes the recorded one); default DEFAULT_SIM_CALLS. */
  calls?: SimCallModel;
  /**
   * Driver workers the calibration's driver model (Calibration.driver) splits
   * the devices over, as a live run of the same devices would (default:
   * defaultWorkers, unpinned; a comparison against a pinned live run passes
   * its count). Without a driver model in the calibration, nothing.
   */
  driverWorkers?: number;
  /** Called when the load starts (calibration reads the simulated CPU spent from here on). */
  onLoadStart?: (world: SimWorld) => void;
  /** Called every simulated second of the load with the messages sent so far and the events scheduled (benchmarks). */
  onSample?: (s: { virtualMs: number; sent: number; events: number }) => void;
  /**
   * Run one cell of a `--cells` run (cells.ts): the users u % count == index
   * and ghosts for those they send to, on a seed derived from `seed` and the
   * cell. With `outDir`, the cell's ledger and shard.json go there too, for
   * `chatlab report merge`.
   */
  cell?: CellSpec;
}

export interface SimRunResult {
  report: Report;
  files?: WrittenReports;
  world: SimWorld;
}

/** Devices started per second per node while the population connects (a sign-in costs a node ~0.1 ms of CPU). */
const CONNECTS_PER_NODE_PER_SEC = 4000;
/**
 * The calibration's driver model (and with it the live engine's e2ee
 * prewarm) applies to runs of up to this many devices, not cells: what one
 * machine's live driver plays (the embedded world tops out near 19,000).
 * Beyond, the sim is the cluster's model at scale, with devices that cost
 * nothing, as before.
 */
const SIM_DRIVER_MAX_DEVICES = 20_000;
/** Store requests one sign-in makes, at most, per store: accounts read and write and the inbox drain (Cassandra); registry, presence (Redis). */
const SIGN_IN_REQUESTS = 3;

/**
 * Sign-ins per second the shared stores take at half their capacity. The
 * stores do not grow with the node count, so above a few nodes they, not the
 * nodes, bound the ramp: faster, their queues grow past the devices' connect
 * timeout and every retry adds load (a sign-in storm that never converges).
 */
function storeConnectsPerSec(c: Calibration): number {
  let rate = Infinity;
  for (const s of ['redis', 'cassandra'] as const) {
    const m = c.stores[s];
    rate = Math.min(rate, (0.5 * m.servers * 1000) / (mean(m.opMs.default) * SIGN_IN_REQUESTS));
  }
  return rate;
}

/**
 * Sign-ins per second the nodes' CPU takes at half its capacity: a hello's
 * cost (and a wake-up's) on one event loop for all nodes when they share it
 * (the embedded world), on each node's own otherwise. A ramp faster than
 * the CPU queues hellos past the devices' connect timeout, and their
 * retries pile on: a calibration measured on a slow machine must not turn
 * a large population's sign-in into a reconnect storm.
 */
function nodeConnectsPerSec(c: Calibration, nodes: number): number {
  const helloMs = mean(c.node.frameMs.hello) + (c.node.wakeMs ?? 0);
  if (!(helloMs > 0)) return Infinity;
  return ((0.5 * 1000) / helloMs) * (c.node.cpu === 'shared' ? 1 : nodes);
}

export function loadCalibration(source: string | Calibration | undefined): { calibration: Calibration; file?: string } {
  if (source === undefined) return { calibration: defaultCalibration };
  if (typeof source !== 'string') return { calibration: validateCalibration(source) };
  const builtin = builtinCalibrations[source];
  if (builtin) return { calibration: builtin };
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(source, 'utf8'));
  } catch (err) {
    throw new Error(`--calibration ${source}: cannot read it as JSON: ${(err as Error).message}`);
  }
  return { calibration: validateCalibration(raw, source), file: source };
}

/**
 * The sim engine: the scenario as a discrete-event simulation. One SimWorld
 * (the real node core on memory adapters, simulated links and service
 * times), the same VirtualDevice, Load, DeviceLedger, chaos schedule and
 * checker as the live engine, everything on one virtual clock and one seed.
 * The report has world "sim", time axes in virtual time, and in
 * `meta.replay` what `chatlab replay` needs to rerun it exactly.
 */
export async function runSim(o: SimRunOptions): Promise<SimRunResult> {
  const wall0 = performance.now();
  const startedAt = new Date();
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const scenario = await prepareScenario(o.scenario, o.overrides);
  const { calibration, file } = loadCalibration(o.calibration);
  const n = scenario.population.devices;
  const resolutionMs = o.resolutionMs ?? calibration.resolutionMs ?? 0.1;
  const cell = o.cell;
  if (cell) refuseInCells(scenario);
  // A cell's world, devices and load have the cell's seed; the population is the run's in every cell.
  const seed = cell ? cellSeed(o.seed, cell) : o.seed;
  const cellNote = cell ? ` — cell ${cell.index}/${cell.count}, seed ${seed}` : '';
  log(`chatlab sim: ${scenario.name} — ${n} devices, ${scenario.nodes} nodes, seed ${o.seed}, calibration ${file ?? calibration.source}${cellNote}`);

  const world = new SimWorld({ nodes: scenario.nodes, seed, calibration, resolutionMs, node: { ...callNodeOptions(scenario, SIM_RELAY), ...o.node } });
  const clock = world.clock;
  await clock.settle(world.start(), 60_000, 'node start');
  const population = new Population(scenario, o.seed, `s${o.seed.toString(36)}`);
  const members = cell ? cellMembers(population, scenario, cell) : undefined;
  await clock.settle(setupGroupsSim(world, population), 600_000, 'group setup');

  const ledger = new Ledger();
  const nodes = world.nodeIds.map((id, i) => ({ id, url: world.urls[i]!, number: i + 1 }));
  const online = new OnlineSet(n);
  const background = new Uint8Array(n);
  const mids = new MidIndex();
  let t0 = 0;
  const recorder = new DeviceLedger(ledger, population, { nodes }, scenario, () => t0, {
    online: (d, up) => (up && !background[d] ? online.add(d) : online.remove(d)),
    acked: (k, mid) => mids.set(k, mid),
  });
  const e2eeStats = new E2eeStats();
  const e2ee = simE2ee(scenario, e2eeStats, calibration.e2ee);
  const mediaStats = new MediaStats();
  const mediaModel = scenario.behaviour.uploads ? (o.media ?? simMediaModel(mediaOptionsFromEnv())) : undefined;
  const media = mediaModel ? new SimMedia(clock, mediaStats, mediaModel) : undefined;
  const stories = new StoriesStats();
  const callStats = new CallStats();
  const callModel = scenario.behaviour.calls ? (o.calls ?? DEFAULT_SIM_CALLS) : undefined;
  const calls = callModel ? { hooks: callStats, plane: new SimCalls(clock, callStats, callModel, scenarioCodecs(scenario)) } : undefined;
  // One driver loop per worker (Calibration.driver): device d's frames wait for worker d % workers's, as live slices the population.
  const driverModel = !cell && population.devices <= SIM_DRIVER_MAX_DEVICES ? calibration.driver : undefined;
  const deviceCpu = new DeviceCpu(() => e2ee.cpuNow());
  const driverLoops = driverModel ? Array.from({ length: o.driverWorkers ?? defaultWorkers(population.devices) }, () => new DriverLoop(world.clock, driverModel, deviceCpu)) : [];
  // With the driver modeled, a device's timers (its recv acks' flush, its retries) and the load's arrivals wait for the
  // worker's timers, as live: Node's, in whole ms of the loop's time, at a phase drawn from the seed.
  const driverTimers = driverLoops.length > 0 ? nodeTimers(world.clock, new SeededRandom(seed).fork('driver-timers').next()) : undefined;
  const devices = makeDevices(world, population, scenario, recorder, seed, e2ee, media, stories, calls, members, driverLoops, driverTimers ? deviceCpu.clock(world.clock, driverTimers) : world.clock);
  const present = members ? devices.filter((d): d is VirtualDevice => d !== undefined) : (devices as VirtualDevice[]);
  if (cell) log(`chatlab sim: cell ${cell.index}/${cell.count} plays ${count(members!, OWN)} devices and stands in for ${count(members!, GHOST)} of other cells`);
  world.onWake((id) => {
    const d = population.deviceIndex(id);
    if (d >= 0) devices[d]?.onPush();
  });

  const connectsPerSec = Math.min(CONNECTS_PER_NODE_PER_SEC * scenario.nodes, storeConnectsPerSec(calibration), nodeConnectsPerSec(calibration, scenario.nodes));
  const rampMs = await connectAll(world, present, connectsPerSec, () => recorder.connected + recorder.ghostsConnected, log);
  // Every device's keys are stored before the load starts. Without a driver model there is no prewarm, unlike the live
  // engine: the modeled crypto then costs the run no time, so first contacts' handshakes cost it no latency (only their
  // key fetch), and a prewarm of millions of devices would cost minutes of wall time.
  if (e2ee.enabled) await clock.run(clock.now() + 60_000, () => present.every((d) => d.keysPublished));
  // With a driver model the crypto does cost the run's time, on the devices' loops, as live: then the devices get the live
  // engine's prewarm (sessions, introductions, small groups' sender keys), so the load measures steady use in both worlds.
  if (e2ee.enabled && driverLoops.length > 0) {
    const settling = prewarm(population, present.map((d) => [population.deviceIndex(d.id), d] as const));
    await clock.run(clock.now() + PREWARM_MAX_MS, () => settling.every((d) => !d.settling || d.state !== 'online'));
  }
  t0 = Math.ceil(clock.now());
  recorder.runStarted();
  e2eeStats.loadStarted();
  await clock.run(t0);
  const loadEnd = loadEndMs(scenario);
  const load = new Load({
    // A cell is worker `index` of `count`: its share of the arrivals, and msgKeys no other cell uses.
    config: cell ? { worker: cell.index, workers: cell.count } : { worker: 0, workers: 1 }, scenario, population, recorder, clock, t0,
    devices: new DeviceTable(devices, members ? (d) => members[d] === OWN : undefined),
    // With the driver modeled, arrivals wait for a live worker's timers (whole ms), as live sends do: the send lag.
    timers: driverTimers ?? clock, exactArrivals: driverTimers === undefined, onlineSenders: () => online.list,
    onBackground: (d, off) => {
      background[d] = off ? 1 : 0;
      if (off) online.remove(d);
    },
    media,
    stories,
  }, new SeededRandom(seed).fork('load'));
  if (media) {
    media.onFetched = (device, m) => {
      const d = population.deviceIndex(device);
      if (d >= 0) load.maybeForward(d, m);
    };
  }

  const view = worldView(world);
  const marks: FaultMark[] = [];
  const chaos = startChaos(planChaos(scenario.chaos, view, loadEnd), view, t0, loadEnd, marks, log, {
    time: { now: () => clock.now() - t0, sleepUntil: (ms) => clock.sleep(ms - (clock.now() - t0)) }, note: ' (virtual)',
  });
  chaos.catch(() => {});
  for (const f of o.inject ?? []) {
    clock.at(t0 + f.atMs, () => world.faults[f.port][f.action === 'drop' ? 'dropNext' : 'failNext'](f.op, f.count ?? 1));
  }
  const progress = progressPrinter(o.progress ?? true, log, loadEnd, wall0);
  const sampler = clock.setInterval(() => {
    const at = clock.now() - t0;
    ledger.sample(at, { connected: recorder.connected, ...world.gauges(1000) });
    progress(at, recorder, clock.events);
    o.onSample?.({ virtualMs: at, sent: recorder.sent, events: clock.events });
  }, 1000);

  o.onLoadStart?.(world);
  load.start();
  await clock.run(t0 + loadEnd);
  await quiesce(clock, t0 + loadEnd + scenario.graceMs, recorder, Math.max(0, scenario.behaviour.readDelayMs) + 1000, () => callStats.open);
  load.stop();
  clock.clear(sampler);
  await chaos;
  const replay: ReplaySpec = {
    engine: 'sim', version: 1, scenario: o.scenario, overrides: o.overrides, seed: o.seed, calibration, inject: o.inject ?? [], resolutionMs,
    node: o.node ?? {},
    ...(mediaModel ? { media: mediaModel } : {}),
    ...(callModel ? { calls: callModel } : {}),
    ...(cell ? { cell } : {}),
    ...(driverLoops.length > 0 ? { driverWorkers: driverLoops.length } : {}),
  };
  const simFigures = {
    events: clock.events, virtualMs: Math.round(clock.now() - t0), connectRampMs: rampMs, droppedIterations: load.dropped, busLost: world.stores.busLost.count,
    ...(driverLoops.length > 0 ? { driverModel: driverModelFigures(driverLoops, calibration.driver!) } : {}),
    ...(calibration.node.gc ? { nodeGc: nodeGcFigures(world, calibration.node.gc) } : {}),
  };
  if (cell && o.outDir) {
    // Written before finishRun marks faults and timeline actions into the ledger: the merge marks them once.
    const wallMs = performance.now() - wall0;
    const costSource = e2ee.enabled ? e2eeCostSource(calibration.e2ee) : undefined;
    writeShard(o.outDir, {
      index: cell.index, count: cell.count, scenario: o.scenario, seed: o.seed, overrides: o.overrides, t0: 0, tag: population.tag, workers: 1,
      world: 'sim', nodes: scenario.nodes, devices: count(members!, OWN), startedAt: startedAt.toISOString(), wallMs, faults: marks,
      sim: { seed, own: count(members!, OWN), ghosts: count(members!, GHOST), events: clock.events, virtualMs: simFigures.virtualMs, calibration: calibration.source, ...(costSource ? { e2eeCostSource: costSource } : {}) },
    }, ledger.toTransfer(), [{
      driver: { cpuPercent: 0, eventLoopP99Ms: 0, droppedIterations: load.dropped, cpuMs: 0, frames: 0, gc: { count: 0, totalMs: 0, maxMs: 0 } },
      e2ee: e2eeStats.toTransfer(), media: mediaStats.toTransfer(), stories: stories.toTransfer(), calls: callStats.toTransfer(),
    }]);
  }
  const { report, files } = await finishRun({ scenario, ledger, loadEndMs: loadEnd, faults: marks }, {
    world: 'sim', seed: o.seed, nodes: scenario.nodes, devicesPlanned: n, startedAt,
    wallMs: () => performance.now() - wall0,
    extra: (wallMs) => ({
      driver: null,
      e2ee: e2eeStats.report(e2ee.enabled ? 'modeled' : 'off', scenario.population.devicesPerUser, e2ee.enabled ? e2eeCostSource(calibration.e2ee) : undefined),
      media: media && mediaStats.active ? mediaStats.report('modeled', media.edgeReports()) : null,
      stories: stories.active ? stories.report() : null,
      calls: callStats.active ? callStats.report() : null,
      meta: {
        replay,
        calibration: { source: calibration.source },
        sim: simFigures,
        ...(cell ? { cell: { index: cell.index, count: cell.count, seed, note: 'one cell\'s view: the messages its users sent, delivered to its devices and ghosts; `chatlab report merge` of every cell judges the run' } } : {}),
        wall: { wallMs: Math.round(wallMs), eventsPerSec: Math.round(clock.events / (wallMs / 1000)), rssGB: round2(process.memoryUsage().rss / 2 ** 30) },
      },
    }),
    // The shared memory inbox every simulated node writes: what it still holds at the end is late, not lost.
    inbox: async () => ({ inbox: world.shared.inbox, close: async () => {} }),
    deviceId: (d) => population.deviceId(d),
    nowMs: () => clock.now() - t0,
    judge: (report) => {
      const violation = firstViolation(report, ledger, mids, population, o.seed);
      report.meta.firstViolation = violation;
      if (violation) log(`chatlab sim: first violation: ${describeViolation(violation)}`);
      if (!report.passed) log(`chatlab sim: thresholds failed — rerun exactly with: chatlab replay <report.json>  (seed ${o.seed})`);
    },
    outDir: o.outDir,
  });
  return { report, files, world };
}

/** The sim's relay as nodes hand it to devices: a modeled one (sim-calls.ts), so any credentials do. */
const SIM_RELAY = { secret: 'sim-relay', urls: ['turn:relay.sim:3478?transport=udp'] };

/** Scenarios a cell cannot split honestly yet: media, calls and stories reach beyond a message's recipients (docs/sim.md, Cells). */
function refuseInCells(scenario: Scenario): void {
  const stories = Object.values(scenario.exec).some((b) => b === storyPost || b === storyView);
  if (scenario.behaviour.uploads || scenario.behaviour.calls || stories) {
    throw new Error(`${scenario.name}: --cells splits messages only; uploads, calls and stories are not modeled across cells`);
  }
}

function count(members: Uint8Array, kind: number): number {
  let n = 0;
  for (let d = 0; d < members.length; d++) if (members[d] === kind) n++;
  return n;
}

/** The node processes' modeled collections over the whole run (meta.sim.nodeGc): the blocks each kind took, on one CPU when the nodes share one. */
function nodeGcFigures(world: SimWorld, gc: NodeGc) {
  const cpus = [...new Set(world.transports.map((t) => t.cpu))];
  // nodePauses' order: minor, then major, each when given.
  const taken = (i: number) => cpus.reduce((n, q) => n + (q.pausesTaken[i] ?? 0), 0);
  let i = 0;
  return {
    ...(gc.minor ? { minor: { ...gc.minor, pauses: taken(i++) } } : {}),
    ...(gc.major ? { major: { ...gc.major, pauses: taken(i++) } } : {}),
  };
}

/** What the modeled driver did over the whole run (its figures are in meta.sim.driverModel). */
function driverModelFigures(loops: DriverLoop[], model: DriverModel) {
  return {
    workers: loops.length, frameMs: model.frameMs, wakeMs: model.wakeMs ?? 0, gcEveryFrames: model.gcEveryFrames, gcPauseMs: model.gcPauseMs,
    frames: loops.reduce((n, l) => n + l.frames, 0), pauses: loops.reduce((n, l) => n + l.pauses, 0),
    busiestMs: Math.round(Math.max(...loops.map((l) => l.busyMs))),
  };
}

/** The population's devices by index; with `members` (a cell), only its own and ghosts, the rest undefined. */
function makeDevices(
  world: SimWorld, population: Population, scenario: Scenario, recorder: DeviceLedger, seed: number, e2ee: E2eeSetup, media?: SimMedia, stories?: StoriesStats,
  calls?: { hooks: CallStats; plane: SimCalls }, members?: Uint8Array, driverLoops: DriverLoop[] = [], clock: Clock = world.clock,
): (VirtualDevice | undefined)[] {
  const root = new SeededRandom(seed).fork('devices');
  const opts = driverDeviceOptions(scenario, e2ee, media, stories, calls ? { ...calls, seed } : undefined);
  const token = (id: string) => world.tokens.issue(id, 24 * 3600_000);
  // Counted into one object for the whole population: nothing reads a device's own counters in the sim.
  const stats = emptyStats();
  const devices: (VirtualDevice | undefined)[] = [];
  for (let d = 0; d < population.devices; d++) {
    if (members && !members[d]) {
      devices.push(undefined);
      continue;
    }
    const id = population.deviceId(d);
    const io = world.socket(id);
    if (driverLoops.length > 0) io.loop = driverLoops[d % driverLoops.length];
    const device = new VirtualDevice(
      { id, token, clock, random: root.fork(id), stats, ...opts },
      io,
      members?.[d] === GHOST ? recorder.ghostObserverFor(d, io) : recorder.observerFor(d, io),
    );
    io.device = device;
    devices.push(device);
  }
  return devices;
}

/** Starts devices in batches at a rate the nodes can sign in, and runs until all are online (or a minute after the ramp). */
async function connectAll(world: SimWorld, devices: VirtualDevice[], perSec: number, connected: () => number, log: (l: string) => void): Promise<number> {
  const clock = world.clock;
  const perStepMs = 10;
  const perStep = Math.max(1, Math.round((perSec * perStepMs) / 1000));
  const rampMs = Math.ceil(devices.length / perStep) * perStepMs;
  let next = 0;
  const step = () => {
    for (const end = Math.min(devices.length, next + perStep); next < end; next++) devices[next]!.start();
    if (next < devices.length) clock.setTimeout(step, perStepMs);
  };
  step();
  const start = clock.now();
  let lastLog = performance.now();
  await clock.run(start + rampMs + 60_000, () => {
    if (performance.now() - lastLog > 10_000) {
      lastLog = performance.now();
      log(`sim: connecting, ${connected()} of ${devices.length} online after ${((clock.now() - start) / 1000).toFixed(1)} s virtual, rss ${round2(process.memoryUsage().rss / 2 ** 30)} GB`);
    }
    return next >= devices.length && connected() >= devices.length;
  });
  if (connected() < devices.length) log(`chatlab sim: only ${connected()} of ${devices.length} devices connected ${((clock.now() - start) / 1000).toFixed(0)} s into the ramp; load starts anyway`);
  return Math.round(clock.now() - start);
}

/** Runs on until nothing is in flight and every owed delivery arrived, calm for `settleMs` (read receipts), or the grace ends. */
async function quiesce(clock: SimWorld['clock'], deadline: number, r: DeviceLedger, settleMs: number, callsOpen: () => number): Promise<void> {
  let calmSince = -1;
  await clock.run(deadline, () => {
    const calm = r.pendingSends() === 0 && r.deliveredUnique >= r.expected && callsOpen() === 0;
    if (!calm) calmSince = -1;
    else if (calmSince < 0) calmSince = clock.now();
    return calm && clock.now() - calmSince >= settleMs;
  });
}

/** The sim world as the chaos schedule drives it. */
function worldView(w: SimWorld): World {
  return {
    kind: 'sim',
    nodes: w.nodeIds.map((id, i) => ({ id, url: w.urls[i]!, number: i + 1 })),
    secret: w.secret,
    control: w.controls(),
    stop: async () => {},
  };
}

/** A progress line every 5 s of wall time (wall-clock I/O at the engine's edge; the run itself never reads it). */
function progressPrinter(on: boolean, log: (l: string) => void, loadEnd: number, wall0: number) {
  let last = wall0;
  return (atMs: number, r: DeviceLedger, events: number) => {
    if (!on) return;
    const now = performance.now();
    if (now - last < 5000) return;
    last = now;
    const wallS = (now - wall0) / 1000;
    log(`sim: ${(atMs / 1000).toFixed(0)}/${(loadEnd / 1000).toFixed(0)} s virtual, ${wallS.toFixed(0)} s wall, ${r.connected} online, sent ${r.sent}, acked ${r.acked}, delivered ${r.deliveredUnique}/${r.expected}, ${Math.round(events / wallS)} events/s, rss ${round2(process.memoryUsage().rss / 2 ** 30)} GB`);
  };
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

/**
 * Reruns the sim run a report came from, exactly: same scenario, overrides,
 * seed, calibration and injected faults (all in `meta.replay`). Returns the
 * new report and how it differs from the old one, wall-clock fields aside
 * (empty = identical).
 */
export async function replaySim(old: Report, o: { outDir?: string; log?: (l: string) => void; progress?: boolean } = {}): Promise<SimRunResult & { diff: string[] }> {
  const spec = old.meta?.replay as ReplaySpec | undefined;
  if (old.world !== 'sim' || !spec || spec.engine !== 'sim') {
    throw new Error(`this report is from the ${old.world} world; only sim runs can be replayed exactly (they store meta.replay)`);
  }
  if (spec.version !== 1) throw new Error(`meta.replay version ${String(spec.version)} is not supported by this chatlab`);
  const result = await runSim({
    scenario: spec.scenario, overrides: spec.overrides, seed: spec.seed, calibration: spec.calibration,
    inject: spec.inject, resolutionMs: spec.resolutionMs, node: spec.node, media: spec.media, calls: spec.calls, cell: spec.cell, driverWorkers: spec.driverWorkers, outDir: o.outDir, log: o.log, progress: o.progress,
  });
  return { ...result, diff: reportDiff(old, result.report) };
}
