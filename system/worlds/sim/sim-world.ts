import { TokenIssuer } from '../../auth/tokens.ts';
import { ChatNode } from '../../node/chat-node.ts';
import type { ChatNodeOptions } from '../../node/options.ts';
import { SeededRandom, type Random } from '../../random/random.ts';
import { makePortFaults, memoryPorts, type MemoryPorts, type PortFaults } from '../memory-ports.ts';
import { pickNode } from '../placement.ts';
import { defaultCalibration, nodePauses, StoreKinds, type Calibration, type LinkClass, type StoreKind } from './calibration.ts';
import { sample } from './distribution.ts';
import { SimClock } from './sim-clock.ts';
import { SimNetwork } from './sim-network.ts';
import { simPorts, type SimStores } from './sim-ports.ts';
import { ServiceQueue } from './sim-service.ts';
import { frameDecoder, SimSocket, SimTransport, type SimLinks, type SimRouter } from './sim-transport.ts';
import type { WorldControls } from '../world.ts';

export interface SimWorldOptions {
  nodes: number;
  /** The run's top-level seed; the world forks its own streams from it. */
  seed: number;
  calibration?: Calibration;
  node?: Partial<Omit<ChatNodeOptions, 'nodeId' | 'nodeNumber'>>;
  /** Events within this window share one instant (see SimClock). Default 0.1 ms. */
  resolutionMs?: number;
  /** A request to an unreachable store fails after this long. Default 1000 ms. */
  storeTimeoutMs?: number;
  /** Virtual start time (epoch ms). Default 2026-01-01. */
  startMs?: number;
}

/** The token secret of every sim world: nothing leaves the process, so it need not be secret. */
const SIM_SECRET = 'chatlab-sim-world-secret';

/**
 * The sim world: N chat nodes (the real ChatNode core) over the memory
 * adapters, with simulated device links, bus, store latency and service
 * queues, all on one SimClock and one seed. Everything is constructed and
 * connected here, once per run; nothing is module-level, so tests may run
 * several worlds in one process.
 */
export class SimWorld {
  readonly clock: SimClock;
  readonly random: Random;
  readonly calibration: Calibration;
  readonly faults: PortFaults = makePortFaults();
  readonly shared: MemoryPorts;
  readonly network: SimNetwork;
  readonly stores: SimStores;
  readonly tokens: TokenIssuer;
  readonly transports: SimTransport[] = [];
  readonly nodeIds: string[];
  readonly urls: string[];
  readonly secret = SIM_SECRET;
  private readonly links: SimLinks;
  private readonly urlIndex: Map<string, number>;
  private connCounter = 0;
  /** The one event loop of every node when the calibration says they share one. */
  private readonly sharedCpu?: ServiceQueue;

  constructor(readonly opts: SimWorldOptions) {
    if (!Number.isInteger(opts.nodes) || opts.nodes < 1 || opts.nodes > 4095) throw new RangeError(`nodes must be 1..4095, got ${opts.nodes}`);
    this.calibration = opts.calibration ?? defaultCalibration;
    this.clock = new SimClock(opts.startMs ?? Date.UTC(2026, 0, 1), opts.resolutionMs ?? 0.1);
    this.random = new SeededRandom(opts.seed).fork('sim-world');
    this.network = new SimNetwork(this.calibration.links, this.random.fork('network'), { resolutionMs: this.clock.resolutionMs });
    this.shared = memoryPorts(this.clock, this.random.fork('ports'), this.faults);
    const queues = Object.fromEntries(StoreKinds.map((s) => [s, new ServiceQueue(s, this.calibration.stores[s].servers)])) as Record<StoreKind, ServiceQueue>;
    this.stores = {
      clock: this.clock, network: this.network, shared: this.shared, queues, calibration: this.calibration,
      random: this.random.fork('store-service'), down: new Set(), timeoutMs: opts.storeTimeoutMs ?? 1000,
      busOrder: new Map(), busLost: { count: 0 },
    };
    this.tokens = new TokenIssuer(SIM_SECRET, this.clock);
    this.links = { clock: this.clock, network: this.network, calibration: this.calibration, random: this.random.fork('cpu'), nextConnId: () => ++this.connCounter, decode: frameDecoder() };
    this.nodeIds = Array.from({ length: opts.nodes }, (_, i) => `node-${i + 1}`);
    this.urls = this.nodeIds.map((id) => `sim://${id}`);
    this.urlIndex = new Map(this.urls.map((u, i) => [u, i]));
    this.sharedCpu = this.calibration.node.cpu === 'shared' ? new ServiceQueue('nodes', 1, this.calibration.node.wakeMs ?? 0, nodePauses(this.calibration), this.calibration.node.wakePer, this.calibration.node.readMs ?? 0) : undefined;
    for (const id of this.nodeIds) this.transports.push(new SimTransport(id, this.links, this.sharedCpu));
  }

  /** Starts every node; drive it with `clock.settle(world.start())`. */
  async start(): Promise<void> {
    await Promise.all(this.transports.map((_, i) => this.startNode(i)));
  }

  private async startNode(i: number): Promise<void> {
    const t = this.transports[i]!;
    const cpu = this.calibration.node.envelopeMs;
    const ports = simPorts(t.name, this.stores, (run) => {
      if (t.up) t.onCpu(sample(cpu, this.links.random), run);
    });
    const node = new ChatNode({ ...this.opts.node, nodeId: t.name, nodeNumber: i + 1 }, ports, this.tokens, t);
    t.node = node;
    t.up = true;
    if (!this.sharedCpu) t.cpu.reset(this.clock.now()); // a shared loop keeps the other nodes' queued work
    await node.start();
  }

  /** Rendezvous order over the nodes; one router shared by every socket (millions of sockets, no closure each). */
  private readonly route: SimRouter = (id, attempt) => {
    return this.transports[this.urlIndex.get(pickNode(id, this.urls, attempt))!]!;
  };

  /** A device-side socket that connects in rendezvous order over the nodes. */
  socket(deviceId: string): SimSocket {
    return new SimSocket(deviceId, this.route);
  }

  /** A socket pinned to one node (setup clients). */
  socketTo(index: number): SimSocket {
    return new SimSocket(`setup-${index}`, () => this.transports[index]!);
  }

  /** Push wake-ups, delivered to `fn` after a push-link hop (APNs/FCM latency), unless lost. */
  onWake(fn: (device: string) => void): () => void {
    return this.shared.push.onWake((device) => {
      if (this.network.lost('push')) return;
      this.clock.setTimeout(() => fn(device), this.network.delay('push'));
    });
  }

  // ---- chaos controls ----

  /** Crash: the core stops at once, every connection dies, in-flight work is dropped. */
  async killNode(i: number): Promise<void> {
    const t = this.transports[i]!;
    if (!t.up) return;
    t.up = false;
    t.node!.kill();
    t.dropAll();
  }

  /** Graceful stop: devices are told to go (1001) and move to their next node. */
  async stopNode(i: number): Promise<void> {
    const t = this.transports[i]!;
    if (!t.up) return;
    await t.node!.stop();
    t.up = false;
    t.dropAll();
  }

  /** A fresh core on the same transport (its memory state is gone, the stores are not). */
  async restartNode(i: number): Promise<void> {
    if (this.transports[i]!.up) return;
    await this.startNode(i);
  }

  /** Cuts `a` from `b` ('node-2', 'redis', 'cassandra', 'devices'); connections across the cut die. Returns the revert. */
  partition(a: string, b: string): () => void {
    const revert = this.network.partition(a, b);
    for (const [x, y] of [[a, b], [b, a]]) {
      if (x !== 'devices') continue;
      const t = this.transports.find((tr) => tr.name === y);
      t?.dropAll();
    }
    return revert;
  }

  addLatency(cls: LinkClass, ms: number): () => void {
    return this.network.addLatency(cls, ms);
  }

  setLoss(cls: LinkClass, p: number): () => void {
    return this.network.setLoss(cls, p);
  }

  /** The store stops answering: calls fail after the store timeout. Returns the revert. */
  storeOutage(store: StoreKind): () => void {
    this.stores.down.add(store);
    return () => this.stores.down.delete(store);
  }

  /** The chaos controls this world offers, bound to it: nodes, any link, any store. */
  controls(): WorldControls {
    return {
      killNode: (i) => this.killNode(i),
      stopNode: (i) => this.stopNode(i),
      restartNode: (i) => this.restartNode(i),
      partition: (a, b) => this.partition(a, b),
      addLatency: (l, ms) => this.addLatency(l, ms),
      setLoss: (l, p) => this.setLoss(l, p),
      storeOutage: (s) => this.storeOutage(s),
    };
  }

  /** Gauges over the last `windowMs` (and resets them): the busiest node's CPU, queue delay, store utilisation. */
  gauges(windowMs: number): Record<string, number> {
    const now = this.clock.now();
    let cpu = 0;
    let queueMs = 0;
    for (const t of this.sharedCpu ? this.transports.slice(0, 1) : this.transports) {
      const w = t.cpu.window(windowMs);
      cpu = Math.max(cpu, w.utilisation);
      queueMs = Math.max(queueMs, t.cpu.backlogMs(now));
    }
    const out: Record<string, number> = { nodeCpuMax: round3(cpu), nodeQueueMs: round3(queueMs) };
    for (const s of StoreKinds) {
      const w = this.stores.queues[s].window(windowMs);
      out[`${s}Util`] = round3(w.utilisation);
      out[`${s}WaitMs`] = round3(w.meanWaitMs);
    }
    out.busLost = this.stores.busLost.count;
    return out;
  }
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
