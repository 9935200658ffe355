import { performance } from 'node:perf_hooks';
import { LoopDelay } from '../../../system/gateway/loop-delay.ts';
import { TokenIssuer } from '../../../system/auth/tokens.ts';
import { WallClock } from '../../../system/clock/clock-wall.ts';
import { SeededRandom } from '../../../system/random/random.ts';
import { Ledger } from '../../../reports/ledger.ts';
import { VirtualDevice } from '../../device/device.ts';
import { Population } from '../../population.ts';
import { loadScenario } from '../../registry.ts';
import type { Scenario } from '../../scenario.ts';
import { E2eeStats } from '../../device/e2ee/e2ee-stats.ts';
import { liveE2ee, prewarm } from '../e2ee-setup.ts';
import { applyOverrides, driverDeviceOptions, scenarioCodecs, PREWARM_MAX_MS, type MainMessage, type WorkerConfig, type WorkerMessage } from '../config.ts';
import { SocketIO, listenForPush, type SocketLimits } from './device-host.ts';
import { DeviceLedger } from '../device-ledger.ts';
import { Load, type MediaSender } from '../load.ts';
import { MediaStats } from '../media-stats.ts';
import { StoriesStats } from '../stories-stats.ts';
import { CallStats } from '../call-stats.ts';
import { LiveCallMedia } from './call-media-live.ts';
import { LiveMedia } from './live-media.ts';
import { GcPauseMeter } from './gc-pauses.ts';

/** How long a worker's prewarm waits without any handshake progressing. */
const PREWARM_STALL_MS = 20_000;

/** Wall time with sub-millisecond resolution, comparable across the driver's processes. */
class PreciseClock extends WallClock {
  override now(): number {
    return performance.timeOrigin + performance.now();
  }
}

/**
 * A driver worker process: plays its slice of the population (every n-th
 * device) against the cluster, records a ledger, reports progress each
 * second, and hands the ledger to the main process at the end.
 */
class DriverWorker {
  readonly clock = new PreciseClock();
  readonly limits: SocketLimits = {};
  readonly devices = new Map<number, { device: VirtualDevice; io: SocketIO }>();
  readonly ledger = new Ledger();
  /** What end-to-end encryption cost this worker's devices. */
  readonly e2ee = new E2eeStats();
  /** What this worker's devices uploaded and downloaded. */
  readonly mediaStats = new MediaStats();
  /** The load's uploader, when the world has a media service. */
  media?: MediaSender;
  /** What this worker's devices did with stories (their DeviceStories). */
  readonly stories = new StoriesStats();
  /** What this worker's devices did with calls (their DeviceCalls), and the relay load their legs put. */
  readonly calls = new CallStats();
  /** Calls' media: real UDP, direct or through the world's TURN relay (when the scenario has calls). */
  callPlane?: LiveCallMedia;
  /** The worker's own event-loop delay, beyond the 10 ms sampling interval. */
  readonly loop = new LoopDelay(10);
  scenario!: Scenario;
  population!: Population;
  recorder!: DeviceLedger;
  load!: Load;
  t0 = 0;
  private push?: { close(): void };
  private ticker?: NodeJS.Timeout;
  private cpu0 = process.cpuUsage();
  private readonly gc = new GcPauseMeter();
  /** The devices' frames in and out when the load started. */
  private frames0 = 0;
  private wall0 = performance.now();

  constructor(readonly config: WorkerConfig) {}

  async setup(): Promise<void> {
    const cfg = this.config;
    const started = performance.now();
    this.scenario = applyOverrides(await loadScenario(cfg.scenario), cfg.overrides);
    this.population = new Population(this.scenario, cfg.seed, cfg.tag);
    this.recorder = new DeviceLedger(this.ledger, this.population, cfg, this.scenario, () => this.t0);
    const tokens = new TokenIssuer(cfg.secret, this.clock);
    const root = new SeededRandom(cfg.seed).fork(`worker-${cfg.worker}`);
    const urls = cfg.nodes.map((n) => n.url);
    const e2ee = liveE2ee(this.scenario, this.e2ee);
    const media = cfg.media ? new LiveMedia(cfg.media, tokens, this.mediaStats, e2ee.enabled ? this.e2ee : undefined) : undefined;
    this.media = media;
    if (media) {
      media.onFetched = (device, m) => {
        const d = this.population.deviceIndex(device);
        if (d >= 0) this.load?.maybeForward(d, m);
      };
    }
    if (this.scenario.behaviour.calls) {
      const now = () => this.clock.now();
      this.callPlane = new LiveCallMedia({
        codecs: scenarioCodecs(this.scenario),
        stats: { allocation: (open) => this.calls.allocation(now(), open), relayBytes: (n) => this.calls.relayed(now(), n) },
      });
    }
    const slice = cfg.shard
      ? this.population.shardSlice(cfg.shard.index, cfg.shard.count, cfg.shard.localWorker, cfg.shard.localWorkers)
      : this.population.slice(cfg.worker, cfg.workers);
    for (const d of slice) {
      const id = this.population.deviceId(d);
      const local = cfg.spreadSourceAddresses ? `127.0.${1 + ((d >> 8) % 254)}.${1 + (d % 254)}` : undefined;
      const io = new SocketIO(id, urls, this.limits, local);
      const device = new VirtualDevice(
        {
          id,
          token: () => tokens.issue(id, 24 * 3600_000),
          clock: this.clock,
          random: root.fork(id),
          ...driverDeviceOptions(this.scenario, e2ee, media, this.stories, this.callPlane ? { hooks: this.calls, plane: this.callPlane, seed: cfg.seed } : undefined),
        },
        io,
        this.recorder.observerFor(d, io),
      );
      io.device = device;
      this.devices.set(d, { device, io });
    }
    if (cfg.pushUrl) {
      this.push = listenForPush(cfg.pushUrl, (id) => {
        const d = this.population.deviceIndex(id);
        if (d >= 0) this.devices.get(d)?.device.onPush();
      });
    }
    await this.connectAll();
    if (e2ee.enabled) await this.keysPublished();
    this.load = new Load(this, root.fork('load'));
    await collectSetupGarbage();
    this.send({ type: 'ready', connected: this.recorder.connected, setupMs: performance.now() - started });
  }

  /** Every device's first bundle is stored (the node answered its publish), or 30 s passed. */
  private async keysPublished(): Promise<void> {
    const deadline = performance.now() + 30_000;
    let left = [...this.devices.values()].map(({ device }) => device);
    // Only the devices still waiting are looked at again: a worker holds up to 15,000.
    while ((left = left.filter((d) => !d.keysPublished)).length > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  }

  /**
   * End-to-end sessions and sender keys of steady use, set up before the load
   * (see e2ee-setup.ts prewarm). Waits while the handshakes make progress
   * (sessions, bundles, distributions counted), at most PREWARM_MAX_MS, and
   * gives up after PREWARM_STALL_MS without any: many devices per user make
   * tens of thousands of handshakes, which take the driver's CPU for a while.
   */
  async prewarm(): Promise<void> {
    const started = performance.now();
    const settling = prewarm(this.population, [...this.devices].map(([d, { device }]) => [d, device] as const));
    // A device that went offline meanwhile is not waited for: it finishes when it is back.
    const waiting = () => settling.filter((d) => d.settling && d.state === 'online');
    const c = this.e2ee.counts;
    const work = () => c.sessionsStarted + c.sessionsAccepted + c.bundlesFetched + c.senderKeysDistributed + c.introductions;
    let done = work();
    let progressAt = performance.now();
    while (waiting().length > 0 && performance.now() - started < PREWARM_MAX_MS && performance.now() - progressAt < PREWARM_STALL_MS) {
      await new Promise((r) => setTimeout(r, 50));
      if (work() !== done) [done, progressAt] = [work(), performance.now()];
    }
    const stuck = waiting();
    const secs = Math.round((performance.now() - started) / 1000);
    if (stuck.length > 0) {
      process.stderr.write(
        `chatlab worker ${this.config.worker}: ${stuck.length} devices had not set up their end-to-end sessions after ${secs} s; the load starts anyway (first: ${stuck[0]!.id}: ${stuck[0]!.unsettled})\n`,
      );
    }
    await collectSetupGarbage();
    this.send({ type: 'prewarmed', ms: Math.round(performance.now() - started) });
  }

  /** Opens every device's connection, a few hundred at a time, and waits until all are online (or 60 s). */
  private async connectAll(): Promise<void> {
    const list = [...this.devices.values()];
    for (let i = 0; i < list.length; i += 500) {
      for (const { device } of list.slice(i, i + 500)) device.start();
      await new Promise((r) => setTimeout(r, 20));
    }
    const deadline = performance.now() + 60_000;
    while (this.recorder.connected < list.length && performance.now() < deadline) {
      if (this.limits.emfile) throw new Error(this.limits.emfile);
      await new Promise((r) => setTimeout(r, 50));
    }
    if (this.recorder.connected < list.length) {
      throw new Error(`only ${this.recorder.connected} of ${list.length} devices connected within 60 s${this.limits.emfile ? `: ${this.limits.emfile}` : ''}`);
    }
  }

  /**
   * The run clock's origin: from here on every time the ledger records is
   * relative to it. The load waits for `go`, which comes once every worker
   * is armed, so no worker records a delivery (from another worker's send)
   * before it knows t0.
   */
  arm(t0: number): void {
    this.t0 = t0;
    this.recorder.runStarted();
    this.e2ee.loadStarted();
    this.send({ type: 'armed' });
  }

  /** Starts this worker's share of the load (arrivals due before now fire at once, late, and their lag says so). */
  go(): void {
    this.loop.enable();
    this.gc.start();
    this.frames0 = this.frames();
    this.cpu0 = process.cpuUsage();
    this.wall0 = performance.now();
    this.load.start();
    this.ticker = setInterval(() => this.tick(), 1000);
  }

  /** Frames this worker's devices read and wrote so far. */
  private frames(): number {
    let n = 0;
    for (const { device } of this.devices.values()) {
      const s = device.stats();
      n += s.framesIn + s.framesOut;
    }
    return n;
  }

  private tick(): void {
    const r = this.recorder;
    const at = this.clock.now() - this.t0;
    this.ledger.sample(at, { connected: r.connected });
    this.send({
      type: 'tick', atMs: at, connected: r.connected, sent: r.sent, acked: r.acked, delivered: r.delivered,
      errors: r.errors, p99Ms: r.takeWindowP99(), pendingSends: r.pendingSends(), expected: r.expected, deliveredUnique: r.deliveredUnique,
      callsOpen: this.calls.open,
    });
  }

  finish(): void {
    this.load.stop();
    clearInterval(this.ticker);
    for (const { device } of this.devices.values()) device.stop();
    // What a stopped device did not close (a leg still opening) goes too: no socket outlives the run.
    this.callPlane?.stop();
    this.push?.close();
    const cpu = process.cpuUsage(this.cpu0);
    const wallMs = performance.now() - this.wall0;
    const gc = this.gc.stop();
    const frames = this.frames() - this.frames0;
    this.send({
      type: 'done',
      ledger: this.ledger.toTransfer(),
      e2ee: this.e2ee.toTransfer(),
      media: this.mediaStats.toTransfer(),
      stories: this.stories.toTransfer(),
      calls: this.calls.toTransfer(),
      driver: {
        cpuPercent: ((cpu.user + cpu.system) / 1000 / Math.max(1, wallMs)) * 100,
        eventLoopP99Ms: this.loop.percentileMs(99),
        emfile: this.limits.emfile,
        droppedIterations: this.load.dropped,
        cpuMs: (cpu.user + cpu.system) / 1000,
        frames,
        gc,
      },
    });
  }

  send(m: WorkerMessage): void {
    process.send?.(m);
  }
}

/**
 * A full garbage collection before the load (workers run with --expose-gc):
 * the setup's garbage (sign-ins; with end-to-end encryption tens of thousands
 * of handshakes, each leaving key objects whose native parts the collector
 * finalizes one by one) is collected here, not in a mark-compact pause of
 * 50-150 ms during the load that the run would measure as the cluster's
 * latency. Twice, a turn apart: the first collection's finalizers free what
 * the second takes.
 */
async function collectSetupGarbage(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return;
  gc();
  await new Promise((r) => setImmediate(r));
  gc();
}

let worker: DriverWorker | undefined;
process.on('message', (m: MainMessage) => {
  const fail = (err: unknown) => {
    process.send?.({ type: 'fatal', message: (err as Error)?.message ?? String(err) } satisfies WorkerMessage);
  };
  try {
    if (m.type === 'init') {
      worker = new DriverWorker(m.config);
      worker.setup().catch(fail);
    } else if (m.type === 'prewarm') worker!.prewarm().catch(fail);
    else if (m.type === 'start') worker!.arm(m.t0);
    else if (m.type === 'go') worker!.go();
    else if (m.type === 'finish') worker!.finish();
  } catch (err) {
    fail(err);
  }
});
process.on('disconnect', () => process.exit(0));
