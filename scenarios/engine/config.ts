import type { DeviceCallOptions, DeviceCalls } from '../device/calls.ts';
import { DEFAULT_CODECS, type CallMediaPlane, type Codec } from '../device/call-media.ts';
import type { CallMedia } from '../../system/protocol/frames.ts';
import type { ChatNodeOptions } from '../../system/node/options.ts';
import type { ChaosEntry, Executor, Scenario } from '../scenario.ts';
import { parseDuration } from '../../system/clock/duration.ts';
import type { DeviceOptions } from '../device/options.ts';
import type { E2eeSetup } from '../device/e2ee/e2ee-client.ts';
import type { E2eeStatsTransfer } from '../device/e2ee/e2ee-stats.ts';
import type { DeviceMedia } from '../device/media.ts';
import type { DeviceStories } from '../device/stories.ts';
import type { StoriesStatsTransfer } from './stories-stats.ts';
import type { CallStatsTransfer } from './call-stats.ts';
import type { MediaStatsTransfer } from './media-stats.ts';
import type { NodeRef } from '../../system/worlds/world.ts';
import { expandWarmup } from '../warmup.ts';
import { call, DEFAULT_CALL_BEHAVIOUR } from '../builtin/behaviours.ts';
import { loadEndMs } from '../validate.ts';
import { cpuCount } from '../cpu-list.ts';

/** How the driver's virtual devices behave in every engine (live workers and the sim), from the scenario. */
export function driverDeviceOptions(
  s: Scenario, e2ee?: E2eeSetup, media?: DeviceMedia, stories?: DeviceStories, calls?: { hooks: DeviceCalls; plane: CallMediaPlane; seed: number },
): Omit<DeviceOptions, 'id' | 'token' | 'clock' | 'random'> {
  return {
    e2ee,
    media,
    stories,
    calls: calls ? deviceCallOptions(s, calls) : undefined,
    readDelayMs: s.behaviour.readDelayMs,
    wakeOnPush: s.behaviour.wakeOnPush ?? true,
    sendRetry: { timeoutMs: 3000, maxAttempts: 40 },
    backoff: { initialMs: 200, maxMs: 5000 },
    maxPendingSends: 5000,
  };
}

/** Command-line overrides of a scenario, applied the same way in the main process and in every worker. */
export interface Overrides {
  devices?: number;
  /** Overrides the load duration of every executor. */
  duration?: string;
  /** Overrides the rate of every arrival-rate executor (per second). */
  rate?: number;
  /**
   * Turns every executor into a closed loop of this many VUs (constant-vus,
   * no think time): each sends, waits for its ack, sends again — the
   * throughput where the cluster saturates.
   */
  vus?: number;
  nodes?: number;
  /** How long after the load deliveries still count (ms); slow worlds want more. */
  graceMs?: number;
  /** Extra k6-style thresholds, merged over the scenario's (the planner's SLOs). */
  thresholds?: Record<string, string[]>;
  /** Devices per user (1..9): multi-device fan-out and sync to the sender's other devices. */
  devicesPerUser?: number;
  /** Replaces the scenario's chaos schedule (`chatlab sweep`'s fault mixes). */
  chaos?: ChaosEntry[];
  /** Replaces the scenario's warm-up ('3s'; '0s' for none). */
  warmup?: string;
  /** false: no end-to-end encryption (`--no-e2ee`). */
  e2ee?: boolean;
  /**
   * Adds calls to any scenario (`--calls <per second>`): a constant-arrival-rate
   * executor of the `call` behaviour over the load, with the scenario's
   * `behaviour.calls` or DEFAULT_CALL_BEHAVIOUR. `--rate` does not change it.
   */
  callsPerSec?: number;
}

/** Everything a driver worker needs; plain data, sent over IPC. */
export interface WorkerConfig {
  worker: number;
  workers: number;
  scenario: string;
  overrides: Overrides;
  seed: number;
  tag: string;
  nodes: NodeRef[];
  pushUrl?: string;
  secret: string;
  /** The world's media service and CDN edges (absent: the world has none). */
  media?: { service: string; edges: string[] };
  /** Spread source addresses over 127.0.0.x (beyond ~60k connections per destination). */
  spreadSourceAddresses: boolean;
  /**
   * `chatlab run --shard i/n`: this worker's place in the shard. `worker` and
   * `workers` above are then global (slot i × workers + w of n × workers), so
   * arrivals split and msgKeys stay disjoint across every shard's workers;
   * the devices are `Population.shardSlice(index, count, localWorker, localWorkers)`.
   */
  shard?: { index: number; count: number; localWorker: number; localWorkers: number };
}

export function applyOverrides(s: Scenario, o: Overrides): Scenario {
  const out: Scenario = { ...s, population: { ...s.population }, options: { ...s.options, scenarios: { ...s.options.scenarios } } };
  if (o.devices !== undefined) out.population.devices = o.devices;
  if (o.devicesPerUser !== undefined) out.population.devicesPerUser = o.devicesPerUser;
  if (o.chaos !== undefined) out.chaos = o.chaos;
  if (o.nodes !== undefined) out.nodes = o.nodes;
  if (o.graceMs !== undefined) out.graceMs = o.graceMs;
  if (o.thresholds !== undefined) out.options.thresholds = { ...s.options.thresholds, ...o.thresholds };
  for (const [name, ex] of Object.entries(out.options.scenarios)) {
    const e = o.duration === undefined ? { ...ex } : lasting(ex, o.duration);
    if (o.rate !== undefined && e.executor === 'constant-arrival-rate' && e.exec !== 'call') e.rate = o.rate;
    out.options.scenarios[name] = o.vus === undefined ? e : closedLoop(e, o.vus);
  }
  if (o.warmup !== undefined) out.warmup = o.warmup;
  if (o.e2ee !== undefined) out.e2ee = o.e2ee;
  if (o.callsPerSec !== undefined) withCalls(out, o.callsPerSec);
  // Last: the warm-up runs ahead of the load as overridden, and shifts everything after it.
  return expandWarmup(out);
}

/**
 * Calls for a scenario that has none (or more of them): a `calls` executor
 * at `perSec` over the span of the scenario's load, the `call` behaviour,
 * and the default call behaviour unless the scenario has its own.
 */
function withCalls(out: Scenario, perSec: number): void {
  out.behaviour = { ...out.behaviour, calls: out.behaviour.calls ?? DEFAULT_CALL_BEHAVIOUR };
  out.exec = { ...out.exec, call: out.exec.call ?? call };
  out.options.scenarios.calls = { executor: 'constant-arrival-rate', rate: perSec, timeUnit: '1s', duration: `${loadEndMs(out)}ms`, exec: 'call' };
}

/**
 * The executor with its load lasting `duration` (`--duration`): a constant
 * executor's duration is replaced; a ramping one keeps its shape, its stages
 * scaled so that they add up to `duration` (each stage end rounded to the
 * millisecond). Its `startTime` stays as written.
 */
export function lasting(e: Executor, duration: string): Executor {
  if (e.executor !== 'ramping-arrival-rate') return { ...e, duration };
  const want = parseDuration(duration);
  const lengths = e.stages.map((st) => parseDuration(st.duration));
  const total = lengths.reduce((a, b) => a + b, 0);
  // Stages of no length have no shape to keep: the last one takes the whole duration.
  if (total === 0) return { ...e, stages: e.stages.map((st, i) => ({ ...st, duration: i === e.stages.length - 1 ? `${want}ms` : '0ms' })) };
  let before = 0;
  let endedAt = 0;
  const stages = e.stages.map((st, i) => {
    before += lengths[i]!;
    const end = Math.round((before / total) * want);
    const stage = { ...st, duration: `${end - endedAt}ms` };
    endedAt = end;
    return stage;
  });
  return { ...e, stages };
}

/** The executor as a closed loop of `vus` VUs over the same time span and behaviour. */
function closedLoop(e: Executor, vus: number): Executor {
  const duration = e.executor === 'ramping-arrival-rate'
    ? `${e.stages.reduce((ms, st) => ms + parseDuration(st.duration), 0)}ms`
    : e.duration;
  return { executor: 'constant-vus', vus, duration, ...(e.startTime ? { startTime: e.startTime } : {}), ...(e.exec ? { exec: e.exec } : {}) };
}

/** The longest a driver worker's end-to-end prewarm runs before the load starts anyway. */
export const PREWARM_MAX_MS = 180_000;

/**
 * One driver worker's figures over the load (from its start to its end):
 * CPU share and time, event-loop delay, the frames its devices read and
 * wrote, and its collector's pauses.
 */
export interface DriverPart {
  cpuPercent: number;
  eventLoopP99Ms: number;
  emfile?: string;
  droppedIterations: number;
  cpuMs: number;
  frames: number;
  gc: { count: number; totalMs: number; maxMs: number };
}

export type WorkerMessage =
  | { type: 'ready'; connected: number; setupMs: number }
  | { type: 'prewarmed'; ms: number }
  | { type: 'armed' }
  | { type: 'tick'; atMs: number; connected: number; sent: number; acked: number; delivered: number; errors: number; p99Ms: number; pendingSends: number; expected: number; deliveredUnique: number; callsOpen: number }
  | { type: 'done'; ledger: unknown; e2ee: E2eeStatsTransfer; media: MediaStatsTransfer; stories: StoriesStatsTransfer; calls: CallStatsTransfer; driver: DriverPart }
  | { type: 'fatal'; message: string };

export type MainMessage =
  | { type: 'init'; config: WorkerConfig }
  | { type: 'prewarm' }
  | { type: 'start'; t0: number }
  | { type: 'go' }
  | { type: 'finish' };

/** Nothing from the peer this long ends a call (`behaviour.calls.silenceMs`). */
export const DEFAULT_CALL_SILENCE_MS = 3000;

/** What devices do in calls, from `behaviour.calls` (undefined when the scenario has none). */
function deviceCallOptions(s: Scenario, calls: { hooks: DeviceCalls; plane: CallMediaPlane; seed: number }): DeviceCallOptions | undefined {
  const c = s.behaviour.calls;
  if (!c) return undefined;
  return {
    hooks: calls.hooks, plane: calls.plane, seed: calls.seed,
    answerShare: c.answer, rejectShare: c.reject, pickUpMs: c.pickUpMs, symmetricNatShare: c.symmetricNat,
    silenceMs: c.silenceMs ?? DEFAULT_CALL_SILENCE_MS,
  };
}

/** The codecs a scenario's calls use: the defaults with `behaviour.calls.codecs` over them. */
export function scenarioCodecs(s: Scenario): Record<CallMedia, Codec> {
  const over = s.behaviour.calls?.codecs ?? {};
  const pick = (m: CallMedia): Codec => {
    const o = over[m];
    return o ? { bitsPerSecond: o.kbps * 1000, packetMs: o.packetMs } : DEFAULT_CODECS[m];
  };
  return { audio: pick('audio'), video: pick('video') };
}

/**
 * Node options a scenario's calls need: the ring time (`behaviour.calls.ringMs`)
 * and the world's relay, when it has one. Empty without calls.
 */
export function callNodeOptions(s: Scenario, relay: { secret: string; urls: string[] } | undefined): Partial<Pick<ChatNodeOptions, 'callRingMs' | 'turn'>> {
  const c = s.behaviour.calls;
  if (!c) return {};
  return { ...(c.ringMs !== undefined ? { callRingMs: c.ringMs } : {}), ...(relay ? { turn: { secret: relay.secret, urls: relay.urls } } : {}) };
}

export const DEVICES_PER_WORKER = 15_000;

/**
 * Driver workers when the run does not say: enough for the devices' sockets
 * (15,000 a worker), and at least two, or, pinned (`driverCpus`), at least
 * one a CPU and no more than the devices need: two workers on one CPU take
 * turns at it, and each one's frames wait out the other's time slice.
 */
export function defaultWorkers(devices: number, driverCpus?: string): number {
  return Math.max(driverCpus !== undefined ? cpuCount(driverCpus) : 2, Math.ceil(devices / DEVICES_PER_WORKER));
}
