import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { TokenIssuer } from '../../system/auth/tokens.ts';
import { WallClock } from '../../system/clock/clock-wall.ts';
import { Checking } from '../../reports/checker.ts';
import { Ledger, type FaultMark, type LedgerTransfer } from '../../reports/ledger.ts';
import type { Report } from '../../reports/report.ts';
import { writeReports, type WrittenReports } from '../../reports/write.ts';
import { Population } from '../population.ts';
import { loadScenario } from '../registry.ts';
import { loadEndMs, validateScenario } from '../validate.ts';
import { applyOverrides, type MainMessage, type Overrides, type WorkerMessage } from './config.ts';
import { pinToCpus } from './affinity.ts';
import { Progress } from './progress.ts';
import { setupGroups } from './setup-groups.ts';
import { classifyUndelivered, type InboxAccess } from './classify.ts';
import { timelineMarks } from './timeline-marks.ts';
import { targetWorld, worlds, type World, type WorldOptions } from './worlds.ts';
import { planChaos, runChaos, wallTime } from '../../chaos/schedule.ts';
import { needsProxies } from '../../chaos/faults.ts';
import { clusterWorld, marksDuring, type ClusterClient } from '../../chaos/cluster.ts';

export interface LiveRunOptions {
  scenario: string;
  world: string;
  overrides: Overrides;
  seed: number;
  outDir: string;
  /** Driver worker processes; default: 2, or one per 15,000 devices. */
  workers?: number;
  target?: string;
  /**
   * With `target`: how to reach the cluster's inboxes after the run, for a
   * caller that started the cluster itself (a benchmark's child process), so
   * an undelivered message is told pending from lost. Worlds chatlab starts
   * bring their own.
   */
  inboxAccess?: () => Promise<InboxAccess>;
  secret?: string;
  /** A cluster started by `chatlab up`: driven like `target`; faults injected into it during the load go into the report. */
  cluster?: ClusterClient;
  /** local world: use these servers instead of starting them. */
  redisUrl?: string;
  cassandra?: string;
  /** Show live progress (TTY bar or plain lines). */
  progress?: boolean;
  log?: (line: string) => void;
  /**
   * Pin the driver's worker processes to these CPUs (taskset list, e.g. `1`):
   * with the embedded world's process pinned elsewhere, the cluster and the
   * driver do not take each other's core (bench:sim-vs-live).
   */
  driverCpus?: string;
  /** Called once the load has started (tests use it to arm fault hooks). */
  onLoadStart?: (world: World) => void;
}

export interface LiveRunResult {
  report: Report;
  files: WrittenReports;
}

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));
/** tsx resolved from this package, so workers start from any working directory. */
const TSX = import.meta.resolve('tsx');
/** Lets a worker import a scenario file that imports `chatlab/...` from any folder (cli/self-resolve.mjs). */
const SELF_RESOLVE = new URL('../../cli/self-resolve.mjs', import.meta.url).href;
const DEVICES_PER_WORKER = 15_000;

/**
 * The live engine: starts the world, forks driver workers that each play a
 * slice of the population over real WebSockets, shows progress, stops when
 * the load is over and every owed delivery arrived (or the grace period
 * ends), merges the workers' ledgers, checks them and writes the reports.
 */
export async function runLive(o: LiveRunOptions): Promise<LiveRunResult> {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const scenario = applyOverrides(await loadScenario(o.scenario), o.overrides);
  validateScenario(scenario);
  if (o.cluster && scenario.chaos.length > 0) {
    throw new Error(`${scenario.name} has a chaos schedule, which a cluster started by \`chatlab up\` does not run; inject faults with \`chatlab chaos\` during the run, or run the drill with --world`);
  }
  const devices = scenario.population.devices;
  const workers = o.workers ?? Math.max(2, Math.ceil(devices / DEVICES_PER_WORKER));
  const tag = `r${o.seed.toString(36)}${randomBytes(2).toString('hex')}`;
  const startedAt = new Date();
  log(`chatlab: ${scenario.name} on ${o.cluster ? `the ${o.cluster.state.world} cluster of ${o.cluster.file}` : o.target ? 'target' : o.world} — ${devices} devices, ${scenario.nodes} nodes, ${workers} driver workers, seed ${o.seed}`);
  const world = o.cluster
    ? clusterWorld(o.cluster.state)
    : o.target
    ? targetWorld(o.target, o.secret)
    : await startWorld(o.world, {
      nodes: scenario.nodes, seed: o.seed, outDir: o.outDir, redisUrl: o.redisUrl, cassandra: o.cassandra, proxies: needsProxies(scenario.chaos),
    });
  const children: ChildProcess[] = [];
  const faults: FaultMark[] = [];
  try {
    const loadEnd = loadEndMs(scenario);
    const chaosPlan = planChaos(scenario.chaos, world, loadEnd);
    const population = new Population(scenario, o.seed, tag);
    await setupGroups(population, world.nodes[0]!.url, new TokenIssuer(world.secret, new WallClock()));
    const config = (w: number) => ({
      worker: w, workers, scenario: o.scenario, overrides: o.overrides, seed: o.seed, tag,
      nodes: world.nodes, pushUrl: world.pushUrl, secret: world.secret, spreadSourceAddresses: devices > 60_000,
    });
    const pool = new WorkerPool(workers, children, o.driverCpus);
    await pool.init(config);
    log(`chatlab: ${pool.connected()} devices connected; load starts`);
    const t0 = performance.timeOrigin + performance.now() + 300;
    pool.broadcast({ type: 'start', t0 });
    o.onLoadStart?.(world);
    const progress = new Progress(o.progress ?? true, loadEnd, log);
    pool.onTick = () => progress.update(pool.totals());
    const chaos = runChaos(chaosPlan, world, t0, loadEnd, (m) => {
      faults.push(m);
      log(`chaos: ${m.kind} ${m.target} from ${(m.startMs / 1000).toFixed(1)}s to ${(m.endMs / 1000).toFixed(1)}s`);
    });
    await sleepUntil(t0 + loadEnd);
    await chaos;
    await pool.quiesce(scenario.graceMs, progress);
    progress.stop();
    if (o.cluster) {
      for (const m of marksDuring(await o.cluster.marks(), t0, loadEnd, performance.timeOrigin + performance.now())) {
        faults.push(m);
        log(`chaos: ${m.kind} ${m.target} from ${(m.startMs / 1000).toFixed(1)}s to ${(m.endMs / 1000).toFixed(1)}s (injected into the cluster)`);
      }
    }
    for (const m of observedDuring(world, t0, loadEnd)) {
      faults.push(m);
      log(`observed: ${m.kind} ${m.target} (${m.detail}) from ${(m.startMs / 1000).toFixed(1)}s to ${(m.endMs / 1000).toFixed(1)}s`);
    }
    const parts = await pool.finish();
    const ledger = Ledger.merge(parts.map((p) => p.ledger as LedgerTransfer));
    for (const f of faults) ledger.fault(f);
    for (const m of timelineMarks(scenario, loadEnd, ledger)) ledger.fault(m);
    const driver = summarizeDriver(parts.map((p) => p.driver));
    const checking = new Checking(ledger, {
      startMs: 0, endMs: loadEnd, graceMs: scenario.graceMs, lateMs: scenario.lateMs, warmupMs: scenario.measuredFromMs ?? 0,
      thresholds: scenario.options.thresholds, scenario: scenario.name, world: world.kind, seed: o.seed,
      nodes: world.nodes.length, devicesPlanned: devices, startedAt, wallMs: Date.now() - startedAt.getTime(),
      extra: { driver, meta: { workers, tag, droppedIterations: driver.droppedIterations, logsDir: world.logsDir } },
    });
    // The devices have stopped (nothing acks any more) and the world still runs: ask its inboxes what is still owed.
    const asked = await classifyUndelivered(world.openInbox ?? o.inboxAccess, checking.undelivered(), (d) => population.deviceId(d), performance.timeOrigin + performance.now() - t0);
    log(`chatlab: late or lost: ${asked.note}`);
    const report = checking.finish(asked.stores);
    report.meta.storeCheck = asked.note;
    const files = writeReports(report, o.outDir);
    return { report, files };
  } finally {
    await endWorkers(children);
    await world.stop();
  }
}

/** The faults the world saw happen without chatlab (a node killed from outside, a server that stopped answering) during the load, on the run's clock. */
function observedDuring(world: World, t0: number, loadEnd: number): FaultMark[] {
  const marks = world.observed?.() ?? [];
  const now = performance.timeOrigin + performance.now();
  return marks.flatMap((m) => marksDuring([m], t0, loadEnd, now).map((f) => ({ ...f, observed: true as const, detail: m.detail })));
}

async function startWorld(kind: string, opts: WorldOptions): Promise<World> {
  const make = worlds[kind];
  if (!make) throw new Error(`unknown world "${kind}": available here: ${Object.keys(worlds).join(', ')}`);
  return make(opts);
}

/** Lets each worker leave by itself (a profile or a flush gets written), then kills what is left by PID after 2 s. */
async function endWorkers(children: ChildProcess[]): Promise<void> {
  const alive = children.filter((c) => c.exitCode === null && c.signalCode === null);
  const exited = alive.map((c) => new Promise((r) => c.once('exit', r)));
  for (const c of alive) if (c.connected) c.disconnect();
  await Promise.race([Promise.all(exited), new Promise((r) => setTimeout(r, 2000).unref())]);
  for (const c of alive) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

/** Waits until an epoch time in ms (the chaos schedule's wall clock with its origin at the epoch). */
const sleepUntil = wallTime(0).sleepUntil;

type Done = Extract<WorkerMessage, { type: 'done' }>;
type Tick = Extract<WorkerMessage, { type: 'tick' }>;

function summarizeDriver(parts: Done['driver'][]) {
  const cpuPercent = Math.max(...parts.map((p) => p.cpuPercent));
  const eventLoopP99Ms = Math.max(...parts.map((p) => p.eventLoopP99Ms));
  const emfile = parts.find((p) => p.emfile)?.emfile;
  return {
    cpuPercent,
    eventLoopP99Ms,
    bound: cpuPercent > 90 || eventLoopP99Ms > 100,
    workers: parts.length,
    droppedIterations: parts.reduce((n, p) => n + p.droppedIterations, 0),
    ...(emfile ? { emfile } : {}),
  };
}

/** The driver's worker processes and their latest progress. */
class WorkerPool {
  private readonly procs: ChildProcess[] = [];
  private readonly ticks = new Map<number, Tick>();
  private readonly ready = new Map<number, number>();
  private readonly done = new Map<number, Done>();
  private failure?: Error;
  onTick?: () => void;

  constructor(private readonly count: number, children: ChildProcess[], cpus?: string) {
    for (let w = 0; w < count; w++) {
      // CHATLAB_DRIVER_CPU_PROF=<dir>: a V8 CPU profile of each worker (where the driver's time goes).
      const prof = process.env.CHATLAB_DRIVER_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.CHATLAB_DRIVER_CPU_PROF}`] : [];
      const p = fork(WORKER, [], { execArgv: ['--import', TSX, '--import', SELF_RESOLVE, ...prof], serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      if (cpus !== undefined && p.pid !== undefined) pinToCpus(p.pid, cpus);
      p.on('message', (m: WorkerMessage) => this.onMessage(w, m));
      p.on('exit', (code) => {
        if (!this.done.has(w) && code !== 0) this.failure ??= new Error(`driver worker ${w} exited with code ${code}`);
      });
      this.procs.push(p);
      children.push(p);
    }
  }

  private onMessage(w: number, m: WorkerMessage): void {
    if (m.type === 'ready') this.ready.set(w, m.connected);
    else if (m.type === 'tick') {
      this.ticks.set(w, m);
      if (w === 0) this.onTick?.();
    } else if (m.type === 'done') this.done.set(w, m);
    else if (m.type === 'fatal') this.failure ??= new Error(`driver worker ${w}: ${m.message}`);
  }

  broadcast(m: MainMessage): void {
    for (const p of this.procs) p.send(m);
  }

  async init(config: (w: number) => unknown): Promise<void> {
    this.procs.forEach((p, w) => p.send({ type: 'init', config: config(w) } as MainMessage));
    await this.waitFor(() => this.ready.size === this.count, 120_000, 'devices to connect');
  }

  connected(): number {
    return [...this.ready.values()].reduce((a, b) => a + b, 0);
  }

  totals() {
    const t = { connected: 0, sent: 0, acked: 0, delivered: 0, errors: 0, p99Ms: 0, pendingSends: 0, expected: 0, deliveredUnique: 0, atMs: 0 };
    for (const k of this.ticks.values()) {
      t.connected += k.connected;
      t.sent += k.sent;
      t.acked += k.acked;
      t.delivered += k.delivered;
      t.errors += k.errors;
      t.pendingSends += k.pendingSends;
      t.expected += k.expected;
      t.deliveredUnique += k.deliveredUnique;
      t.p99Ms = Math.max(t.p99Ms, k.p99Ms);
      t.atMs = Math.max(t.atMs, k.atMs);
    }
    return t;
  }

  /** Waits until nothing is in flight and every owed delivery arrived, for two ticks in a row, or the grace ends. */
  async quiesce(graceMs: number, progress: Progress): Promise<void> {
    const deadline = Date.now() + graceMs;
    let calm = 0;
    let lastAt = -1;
    while (Date.now() < deadline) {
      if (this.failure) throw this.failure;
      const t = this.totals();
      if (t.atMs !== lastAt) {
        lastAt = t.atMs;
        calm = t.pendingSends === 0 && t.deliveredUnique >= t.expected ? calm + 1 : 0;
        if (calm >= 2) return;
      }
      progress.note('draining');
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async finish(): Promise<Done[]> {
    this.broadcast({ type: 'finish' });
    await this.waitFor(() => this.done.size === this.count, 60_000, 'workers to hand over their ledgers');
    return [...this.done.entries()].sort((a, b) => a[0] - b[0]).map(([, d]) => d);
  }

  private async waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      if (this.failure) throw this.failure;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
