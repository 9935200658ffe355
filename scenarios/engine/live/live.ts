import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { TokenIssuer } from '../../../system/auth/tokens.ts';
import { WallClock } from '../../../system/clock/clock-wall.ts';
import type { InboxAccess } from '../../../system/worlds/world.ts';
import { startWorld, type StartedWorld } from '../../../system/worlds/worlds.ts';
import { targetWorld } from '../../../system/worlds/target.ts';
import { Ledger, type FaultMark, type LedgerTransfer } from '../../../reports/ledger.ts';
import type { MediaReport, Report, StoriesReport, CallsReport, WitnessStats } from '../../../reports/report.ts';
import type { WrittenReports } from '../../../reports/write.ts';
import { planChaos, wallTime } from '../../../chaos/schedule.ts';
import { needsCassandraRing, needsProxies } from '../../../chaos/faults.ts';
import { clusterWorld, marksDuring, type ClusterClient } from '../../../chaos/cluster.ts';
import { Population } from '../../population.ts';
import { loadEndMs } from '../../validate.ts';
import { defaultWorkers, type Overrides } from '../config.ts';
import { describeMark, finishRun, prepareScenario, startChaos } from '../pipeline.ts';
import { Progress } from './progress.ts';
import { setupGroups } from './setup-groups.ts';
import { e2eeOn, e2eeReport } from '../e2ee-setup.ts';
import { summarizeDriver, WorkerPool } from './worker-pool.ts';
import { edgeReport, MediaStats, type MediaStatsTransfer } from '../media-stats.ts';
import { StoriesStats, type StoriesStatsTransfer } from '../stories-stats.ts';
import { CallStats, type CallStatsTransfer } from '../call-stats.ts';
import { shardTag, writeShard, type ShardSpec } from './shard.ts';
import { startWitness, type Witness, type WitnessFigures } from './witness.ts';

export interface LiveRunOptions {
  scenario: string;
  world: string;
  overrides: Overrides;
  seed: number;
  outDir: string;
  /** Driver worker processes; default: 2, or one per 15,000 devices. */
  workers?: number;
  target?: string;
  /** `target` may name hosts beyond loopback (`--allow-remote-target`, CHATLAB_ALLOW_REMOTE_TARGET; system/worlds/target.ts). */
  allowRemoteTarget?: boolean;
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
  /** local world: start a 3-master Redis Cluster instead of one redis-server. */
  redisCluster?: boolean;
  cassandra?: string;
  /**
   * local world: 3 starts a Cassandra ring (replication factor 3, LOCAL_QUORUM)
   * instead of one node. Default 1, or 3 when the chaos schedule stops a
   * Cassandra ring node (`cassandra-node-stop`).
   */
  cassandraNodes?: 1 | 3;
  /** Show live progress (TTY bar or plain lines). */
  progress?: boolean;
  log?: (line: string) => void;
  /**
   * Pin the driver's worker processes to these CPUs (taskset list, e.g. `1`):
   * with the embedded world's process pinned elsewhere, the cluster and the
   * driver do not take each other's core (bench:sim-vs-live).
   */
  driverCpus?: string;
  /**
   * How long a driver worker may say nothing once the load has started (it
   * reports every second) before the run fails naming it; default 30 s.
   */
  driverStallMs?: number;
  /**
   * msgs/s of a witness beside the load (witness.ts: a few devices of its
   * own in a process at nice -20, on the driver's CPUs, through the same
   * nodes over the measured part of the load); `driver.witness` in the
   * report has its latencies and the driver's share of e2e p99 beyond them.
   * 0 or absent: none.
   */
  witness?: number;
  /** Called once the load has started (tests use it to arm fault hooks). */
  onLoadStart?: (world: StartedWorld) => void;
  /**
   * Called, and awaited, once the run is over (load and grace past, the
   * report written) and before the world stops: the world's stores, logs and
   * tapped frames are still there as the run left them (tests scan them).
   * Not called when the run fails.
   */
  onLoadEnd?: (world: StartedWorld) => void | Promise<void>;
  /**
   * embedded and local worlds: the wire tap, every frame each node receives
   * and sends appended to `<frameTap>/<node id>.frames.jsonl` (a test and
   * debugging aid; system/gateway/frame-tap.ts).
   */
  frameTap?: string;
  /**
   * `chatlab run --shard i/n`: drive only shard i's slice of the population
   * (shard.ts), start the load at `startAt` (epoch ms, the same on every
   * shard) and write the shard's ledger, stats and shard.json beside the
   * report for `chatlab report merge`. Needs a running cluster (`target` or
   * `cluster`): every shard must drive the same one.
   */
  shard?: ShardSpec;
}

export interface LiveRunResult {
  report: Report;
  files: WrittenReports;
}


/**
 * The live engine: starts the world, forks driver workers that each play a
 * slice of the population over real WebSockets, shows progress, stops when
 * the load is over and every owed delivery arrived (or the grace period
 * ends), merges the workers' ledgers, checks them and writes the reports.
 */
export async function runLive(o: LiveRunOptions): Promise<LiveRunResult> {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const scenario = await prepareScenario(o.scenario, o.overrides);
  if (o.frameTap && (o.cluster || o.target)) throw new Error('the frame tap needs a world chatlab starts (embedded or local), not a running cluster');
  if (o.cluster && scenario.chaos.length > 0) {
    throw new Error(`${scenario.name} has a chaos schedule, which a cluster started by \`chatlab up\` does not run; inject faults with \`chatlab chaos\` during the run, or run the drill with --world`);
  }
  const devices = scenario.population.devices;
  const workers = o.workers ?? defaultWorkers(devices, o.driverCpus);
  const shard = o.shard;
  if (shard && !o.target && !o.cluster) throw new Error('--shard drives a slice of the load against a cluster someone runs: give --target (or --cluster); every shard must drive the same cluster');
  // Every shard derives the same tag (device and group ids carry it), so they play one population.
  const tag = shard ? shardTag(o.seed, shard.startAt) : `r${o.seed.toString(36)}${randomBytes(2).toString('hex')}`;
  const startedAt = new Date();
  log(`chatlab: ${scenario.name} on ${o.cluster ? `the ${o.cluster.state.world} cluster of ${o.cluster.file}` : o.target ? 'target' : o.world} — ${devices} devices, ${scenario.nodes} nodes, ${workers} driver workers, seed ${o.seed}${shard ? `, shard ${shard.index}/${shard.count} (load starts at ${new Date(shard.startAt).toISOString()})` : ''}`);
  const world: StartedWorld = o.cluster
    ? clusterWorld(o.cluster.state)
    : o.target
    ? targetWorld(o.target, o.secret, undefined, { allowRemote: o.allowRemoteTarget })
    : await startWorld(o.world, {
      nodes: scenario.nodes, seed: o.seed, outDir: o.outDir, redisUrl: o.redisUrl, redisCluster: o.redisCluster, cassandra: o.cassandra, proxies: needsProxies(scenario.chaos), frameTap: o.frameTap,
      cassandraNodes: o.cassandraNodes ?? (needsCassandraRing(scenario.chaos) && !o.cassandra ? 3 : undefined),
      media: scenario.behaviour.uploads !== undefined,
      turn: scenario.behaviour.calls !== undefined, callRingMs: scenario.behaviour.calls?.ringMs, relayLoss: scenario.chaos.some((c) => c.fault === 'relay-loss'),
    });
  const children: ChildProcess[] = [];
  const faults: FaultMark[] = [];
  let unwatch = () => {};
  let witness: Witness | undefined;
  let stopWitnessStart = () => {};
  try {
    const loadEnd = loadEndMs(scenario);
    const chaosPlan = planChaos(scenario.chaos, world, loadEnd);
    const population = new Population(scenario, o.seed, tag);
    if (scenario.behaviour.uploads && !world.media) {
      throw new Error(`${scenario.name} uploads media (behaviour.uploads), and this cluster has no media service: run it in the embedded, local or containers world`);
    }
    await setupGroups(population, world.nodes[0]!.url, new TokenIssuer(world.secret, new WallClock()), shard);
    const config = (w: number) => ({
      // Sharded: the global worker slot, so arrivals split and msgKeys stay disjoint over every shard's workers.
      ...(shard ? { worker: shard.index * workers + w, workers: shard.count * workers, shard: { index: shard.index, count: shard.count, localWorker: w, localWorkers: workers } } : { worker: w, workers }),
      scenario: o.scenario, overrides: o.overrides, seed: o.seed, tag,
      nodes: world.nodes, pushUrl: world.pushUrl, secret: world.secret, spreadSourceAddresses: devices > 60_000,
      ...(world.media ? { media: world.media } : {}),
    });
    const pool = new WorkerPool(workers, children, o.driverCpus, o.driverStallMs);
    unwatch = () => pool.close();
    await pool.init(config);
    // Sessions and sender keys of steady use (docs/e2ee.md): the load does not begin with an X3DH storm on the driver.
    if (e2eeOn(scenario)) await pool.prewarm();
    if (o.witness) {
      witness = await startWitness(world.nodes.map((n) => n.url), world.secret, o.witness, o.driverCpus);
      log(`chatlab: a witness at ${o.witness} msgs/s beside the load (${witness.priority === 'nice' ? 'nice -20' : 'at the driver\'s priority'})`);
    }
    log(`chatlab: ${pool.connected()} devices connected; load starts`);
    const t0 = shard ? shard.startAt : performance.timeOrigin + performance.now() + 300;
    if (shard && t0 < performance.timeOrigin + performance.now() + 100) {
      throw new Error(`shard ${shard.index}/${shard.count}: the common start ${new Date(t0).toISOString()} passed before this shard's devices were ready: give a later --start-at`);
    }
    if (shard) log(`chatlab: shard ${shard.index}/${shard.count} waits for the common start (${((t0 - Date.now()) / 1000).toFixed(1)} s)`);
    await pool.start(t0);
    o.onLoadStart?.(world);
    const measuredFrom = scenario.measuredFromMs ?? 0;
    if (witness && loadEnd > measuredFrom) {
      const w = witness;
      const wait = setTimeout(() => { w.run(loadEnd - measuredFrom).catch(() => {}); }, Math.max(0, t0 + measuredFrom - (performance.timeOrigin + performance.now())));
      stopWitnessStart = () => clearTimeout(wait);
    }
    const progress = new Progress(o.progress ?? true, loadEnd, log);
    pool.onTick = () => progress.update(pool.totals());
    const chaos = startChaos(chaosPlan, world, t0, loadEnd, faults, log);
    // A run that fails during the load leaves the schedule to the world's stop; its end is not awaited then.
    chaos.catch(() => {});
    await sleepUntil(t0 + loadEnd, () => pool.failed);
    await chaos;
    // A shard cannot see what the other shards still owe its devices: it stays connected for the whole grace.
    if (shard) await sleepUntil(t0 + loadEnd + scenario.graceMs, () => pool.failed);
    else await pool.quiesce(scenario.graceMs, progress);
    progress.stop();
    if (o.cluster) {
      for (const m of marksDuring(await o.cluster.marks(), t0, loadEnd, performance.timeOrigin + performance.now())) {
        faults.push(m);
        log(`chaos: ${describeMark(m)} (injected into the cluster)`);
      }
    }
    for (const m of observedDuring(world, t0, loadEnd)) {
      faults.push(m);
      log(`observed: ${m.kind} ${m.target} (${m.detail}) from ${(m.startMs / 1000).toFixed(1)}s to ${(m.endMs / 1000).toFixed(1)}s`);
    }
    const parts = await pool.finish();
    const ledger = Ledger.merge(parts.map((p) => p.ledger as LedgerTransfer));
    if (shard) {
      // Written before finishRun marks faults and timeline actions into the ledger: the merge marks them once.
      mkdirSync(o.outDir, { recursive: true });
      const path = writeShard(o.outDir, {
        index: shard.index, count: shard.count, scenario: /[/\\]|\.ts$/.test(o.scenario) ? resolve(o.scenario) : o.scenario, seed: o.seed, overrides: o.overrides,
        t0, tag, workers, world: world.kind, nodes: world.nodes.length, devices, startedAt: startedAt.toISOString(), wallMs: Date.now() - startedAt.getTime(), faults,
      }, ledger.toTransfer(), parts);
      log(`chatlab: shard ${shard.index}/${shard.count} written: ${path} (merge every shard with \`chatlab report merge\`)`);
    }
    stopWitnessStart();
    const witnessed = witness ? await witness.finish().catch((e: Error) => { log(`chatlab: the witness gave no figures (${e.message})`); return undefined; }) : undefined;
    const driver = { ...summarizeDriver(parts.map((p) => p.driver)), ...(witnessed && o.witness ? { witness: witnessFigures(witnessed, o.witness) } : {}) };
    const media = await mediaReport(world, parts.map((p) => p.media));
    const { report, files } = await finishRun({ scenario, ledger, loadEndMs: loadEnd, faults }, {
      world: world.kind, seed: o.seed, nodes: world.nodes.length, devicesPlanned: devices, startedAt,
      wallMs: () => Date.now() - startedAt.getTime(),
      extra: () => ({ driver, e2ee: e2eeReport(scenario, parts.map((p) => p.e2ee)), media, stories: storiesReport(parts.map((p) => p.stories)), calls: callsReport(parts.map((p) => p.calls)), meta: { workers, tag, droppedIterations: driver.droppedIterations, logsDir: world.logsDir, ...(shard ? { shard: { index: shard.index, count: shard.count, t0, note: 'one shard\'s view: its sends to other shards\' devices count lost and their sends to its devices unacked; `chatlab report merge` judges the whole run' } } : {}) } }),
      inbox: world.openInbox ?? o.inboxAccess, deviceId: (d) => population.deviceId(d),
      nowMs: () => performance.timeOrigin + performance.now() - t0, outDir: o.outDir, log,
    });
    await o.onLoadEnd?.(world);
    return { report, files: files! };
  } finally {
    unwatch();
    stopWitnessStart();
    witness?.stop();
    await endWorkers(children);
    await world.stop();
  }
}

/** The report's `driver.witness`: its figures (ms) and rate. */
function witnessFigures(f: WitnessFigures, rate: number): WitnessStats {
  // No arrival, no latency: null (NaN crosses IPC as null anyway).
  const ms = (v: number | null) => (v === null || Number.isNaN(v) ? null : v);
  return { rate, messages: f.messages, missing: f.missing, p50Ms: ms(f.p50), p99Ms: ms(f.p99), sentP99Ms: ms(f.sentP99), lagP99Ms: ms(f.lagP99), gcPauses: f.gc };
}

/** The faults the world saw happen without chatlab (a node killed from outside, a server that stopped answering) during the load, on the run's clock. */
function observedDuring(world: StartedWorld, t0: number, loadEnd: number): FaultMark[] {
  const marks = world.observed?.() ?? [];
  const now = performance.timeOrigin + performance.now();
  return marks.flatMap((m) => marksDuring([m], t0, loadEnd, now).map((f) => ({ ...f, observed: true as const, detail: m.detail })));
}

/** Lets each worker leave by itself (a profile or a flush gets written), then kills what is left by PID after 2 s. */
async function endWorkers(children: ChildProcess[]): Promise<void> {
  const alive = children.filter((c) => c.exitCode === null && c.signalCode === null);
  const exited = alive.map((c) => new Promise((r) => c.once('exit', r)));
  for (const c of alive) if (c.connected) c.disconnect();
  await Promise.race([Promise.all(exited), new Promise((r) => setTimeout(r, 2000).unref())]);
  for (const c of alive) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

/** Waits until an epoch time in ms (the chaos schedule's wall clock with its origin at the epoch), or throws the failure `failed` names first. */
async function sleepUntil(at: number, failed: () => Error | undefined): Promise<void> {
  const clock = wallTime(0);
  while (clock.now() < at) {
    const err = failed();
    if (err) throw err;
    await clock.sleepUntil(Math.min(at, clock.now() + 250));
  }
}

/** The report's media section: the devices' figures with the edges' and the media service's own (null when no media moved). */
async function mediaReport(world: StartedWorld, parts: readonly MediaStatsTransfer[]): Promise<MediaReport | null> {
  const stats = MediaStats.merge(parts);
  if (!stats.active || !world.media) return null;
  const ask = async (url: string) => {
    try {
      const res = await fetch(`${url}/stats`, { signal: AbortSignal.timeout(5000) });
      return res.ok ? ((await res.json()) as Record<string, number> & { id?: string }) : undefined;
    } catch {
      return undefined;
    }
  };
  const edges = (await Promise.all(world.media.edges.map(ask))).flatMap((e, i) => (e ? [edgeReport({ requests: 0, hits: 0, misses: 0, edgeBytes: 0, originBytes: 0, ...e, id: String(e.id ?? `edge-${i + 1}`) })] : []));
  return stats.report('http', edges, await ask(world.media.service));
}

/** The report's stories section (null when the run had none). */
function storiesReport(parts: readonly StoriesStatsTransfer[]): StoriesReport | null {
  const s = StoriesStats.merge(parts);
  return s.active ? s.report() : null;
}

/** The report's calls section (null when the run had none). */
function callsReport(parts: readonly CallStatsTransfer[]): CallsReport | null {
  const s = CallStats.merge(parts);
  return s.active ? s.report() : null;
}
