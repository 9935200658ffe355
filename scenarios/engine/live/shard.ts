/**
 * The sharded driver (`chatlab run --shard i/n`) and its merge
 * (`chatlab report merge`): n driver processes, each playing a disjoint
 * slice of one population against one running cluster, each writing its
 * ledger and stats; the merge joins the ledgers into one and checks them
 * like a one-process run, so a message acked on one shard and delivered on
 * another counts once, delivered.
 *
 * Spaces split across shards (with w driver workers per shard, the same in
 * every shard): the devices by user (user u goes to shard u % n, with all
 * its devices; Population.shardSlice); the open-model arrivals and the
 * msgKeys by global worker slot i × w + k of n × w (a msgKey is
 * counter × n × w + slot, so its shard is floor((msgKey % (n × w)) / w)).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { Ledger, type FaultMark, type LedgerTransfer } from '../../../reports/ledger.ts';
import { readTransferFile, writeTransferFile } from '../../../reports/ledger-file.ts';
import type { Report } from '../../../reports/report.ts';
import type { WrittenReports } from '../../../reports/write.ts';
import { Population } from '../../population.ts';
import { loadEndMs } from '../../validate.ts';
import type { Overrides } from '../config.ts';
import { e2eeReport } from '../e2ee-setup.ts';
import { MediaStats } from '../media-stats.ts';
import { finishRun, prepareScenario } from '../pipeline.ts';
import { summarizeDriver, type Done } from './worker-pool.ts';
import { StoriesStats } from '../stories-stats.ts';
import { CallStats } from '../call-stats.ts';
import { E2eeStats } from '../../device/e2ee/e2ee-stats.ts';
import type { CellFigures } from '../sim/cells.ts';

/** Where a shard stands in its run: shard `index` of `count`, the load starting at `startAt` (epoch ms) on every shard. */
export interface ShardSpec {
  index: number;
  count: number;
  startAt: number;
}

/** What a shard writes beside its report (`shard.json`): enough to check shards belong together and to re-check them as one run. */
export interface ShardManifest {
  version: 1;
  index: number;
  count: number;
  scenario: string;
  seed: number;
  overrides: Overrides;
  /** The run's origin (epoch ms), the same on every shard: every ledger time is relative to it. */
  t0: number;
  tag: string;
  /** Driver workers of this shard (every shard must have as many: the msgKey space depends on it). */
  workers: number;
  world: string;
  nodes: number;
  devices: number;
  startedAt: string;
  wallMs: number;
  /** Faults on the run's clock this shard saw (injected into the cluster, or observed). */
  faults: FaultMark[];
  files: { ledger: string; stats: string };
  /** A sim cell's (`--world sim --cell i/n`, cells.ts): its seed, devices played and ghosts, events and virtual time. */
  sim?: CellFigures;
}

export const SHARD_MANIFEST = 'shard.json';
const LEDGER_FILE = 'ledger.bin';
const STATS_FILE = 'shard-stats.v8';

/** "1/3" → shard 1 of 3 (0-based), or an error naming the rule. */
export function parseShard(text: string): { index: number; count: number } {
  return parseSlice('--shard', text, '0/3');
}

/** "i/n" given to `flag` → slice i of n (0-based), or an error naming the flag and the rule (`example` shows the form). */
export function parseSlice(flag: string, text: string, example: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!m) throw new Error(`${flag} ${text}: expected i/n, e.g. ${example} (0-based i)`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || count > 1024) throw new Error(`${flag} ${text}: n must be 1..1024`);
  if (index >= count) throw new Error(`${flag} ${text}: i must be below n (0-based)`);
  return { index, count };
}

/** The shard a Kubernetes Indexed Job's pod plays: JOB_COMPLETION_INDEX of CHATLAB_SHARDS (undefined when neither is set). */
export function shardFromEnv(env: NodeJS.ProcessEnv): { index: number; count: number } | undefined {
  const i = env.JOB_COMPLETION_INDEX;
  const n = env.CHATLAB_SHARDS;
  if (i === undefined && n === undefined) return undefined;
  if (i === undefined || n === undefined) throw new Error('a shard from the environment needs both JOB_COMPLETION_INDEX and CHATLAB_SHARDS');
  return parseShard(`${i}/${n}`);
}

/**
 * The default common start: now + 5 s, rounded up to the next 10 s of the
 * epoch, so shards launched within the same few seconds agree on it. Give
 * `--start-at` (or CHATLAB_START_AT) to be sure; the merge refuses shards
 * that started at different times.
 */
export function defaultStartAt(now = Date.now()): number {
  return Math.ceil((now + 5000) / 10_000) * 10_000;
}

/** "1718000000000" → epoch ms, or an error. */
export function parseStartAt(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < 1e12) throw new Error(`--start-at ${text}: expected epoch milliseconds, e.g. ${defaultStartAt()}`);
  return n;
}

/** The run tag every shard derives alike (device ids and group ids carry it): from the seed and the start time. */
export function shardTag(seed: number, startAt: number): string {
  return `r${seed.toString(36)}s${(Math.floor(startAt / 1000) % 36 ** 4).toString(36)}`;
}

/** The stats parts a shard keeps (structured-clone data, as the workers handed them over). */
export type ShardStatsPart = Pick<Done, 'driver' | 'e2ee' | 'media' | 'stories' | 'calls'>;
type ShardStats = ShardStatsPart[];

/** Writes a shard's ledger (before any marks are added: the merge adds them once), stats and manifest into `outDir`. */
export function writeShard(outDir: string, m: Omit<ShardManifest, 'version' | 'files'>, ledger: LedgerTransfer, parts: readonly ShardStatsPart[]): string {
  mkdirSync(outDir, { recursive: true });
  writeTransferFile(join(outDir, LEDGER_FILE), ledger);
  const stats: ShardStats = parts.map((p) => ({ driver: p.driver, e2ee: p.e2ee, media: p.media, stories: p.stories, calls: p.calls }));
  writeFileSync(join(outDir, STATS_FILE), serialize(stats));
  const manifest: ShardManifest = { version: 1, ...m, files: { ledger: LEDGER_FILE, stats: STATS_FILE } };
  const path = join(outDir, SHARD_MANIFEST);
  writeFileSync(path, `${JSON.stringify(manifest, null, 2)}\n`);
  return path;
}

/** shard.json files under the inputs: a shard.json, a shard's folder, or a folder of shard folders. */
export function findShardManifests(inputs: readonly string[]): string[] {
  const out: string[] = [];
  for (const input of inputs) {
    if (!existsSync(input)) throw new Error(`${input}: no such file or folder`);
    if (statSync(input).isFile()) {
      out.push(input);
      continue;
    }
    if (existsSync(join(input, SHARD_MANIFEST))) {
      out.push(join(input, SHARD_MANIFEST));
      continue;
    }
    const found = readdirSync(input).sort().map((e) => join(input, e, SHARD_MANIFEST)).filter((p) => existsSync(p));
    if (found.length === 0) throw new Error(`${input}: no ${SHARD_MANIFEST} in it or in its folders (written by \`chatlab run --shard\`)`);
    out.push(...found);
  }
  return [...new Set(out.map((p) => resolve(p)))];
}

export interface MergeResult {
  report: Report;
  files: WrittenReports;
  /** Deliveries of messages no shard's ledger sent (never counted as delivered): how many, and the first few msgKeys. */
  orphans: { count: number; keys: number[] };
}

/**
 * Checks the shards are one whole run (same scenario, seed, overrides, t0,
 * tag, worker count; shards 0..n-1 each once), joins their ledgers and
 * checks them as one, writing report.json and its renderers to `outDir`.
 * Sim cells (cells.ts) merge the same way; `run` is the wall time and
 * parallelism of the `--cells` run that started them, when one did.
 */
export async function mergeShards(
  inputs: readonly string[], outDir: string, log: (line: string) => void = () => {}, run?: { wallMs: number; parallel: number },
): Promise<MergeResult> {
  const paths = findShardManifests(inputs);
  const shards = paths.map((p) => ({ path: p, dir: join(p, '..'), m: JSON.parse(readFileSync(p, 'utf8')) as ShardManifest }));
  const first = shards[0]!.m;
  for (const s of shards) {
    if (s.m.version !== 1) throw new Error(`${s.path}: unsupported shard manifest version ${String(s.m.version)}`);
    for (const key of ['scenario', 'seed', 'count', 't0', 'tag', 'workers', 'world'] as const) {
      if (s.m[key] !== first[key]) throw new Error(`${s.path}: not the same run as ${shards[0]!.path}: ${key} ${JSON.stringify(s.m[key])} vs ${JSON.stringify(first[key])}`);
    }
    if (JSON.stringify(s.m.overrides) !== JSON.stringify(first.overrides)) {
      throw new Error(`${s.path}: not the same run as ${shards[0]!.path}: overrides ${JSON.stringify(s.m.overrides)} vs ${JSON.stringify(first.overrides)}`);
    }
  }
  const byIndex = new Map<number, (typeof shards)[number]>();
  for (const s of shards) {
    const seen = byIndex.get(s.m.index);
    if (seen) throw new Error(`shard ${s.m.index} of ${first.count} given twice: ${seen.path} and ${s.path}`);
    byIndex.set(s.m.index, s);
  }
  const missing = Array.from({ length: first.count }, (_, i) => i).filter((i) => !byIndex.has(i));
  if (missing.length > 0) {
    throw new Error(`shards missing: ${missing.map((i) => `${i}/${first.count}`).join(', ')} (have ${[...byIndex.keys()].sort((a, b) => a - b).map((i) => `${i}/${first.count}`).join(', ')}; run ${first.tag}, t0 ${first.t0})`);
  }
  const ordered = [...byIndex.entries()].sort((a, b) => a[0] - b[0]).map(([, s]) => s);
  const ledger = Ledger.merge(ordered.map((s) => readTransferFile(join(s.dir, s.m.files.ledger))));
  const stats = ordered.flatMap((s) => deserialize(readFileSync(join(s.dir, s.m.files.stats))) as ShardStats);
  const orphans = orphanDeliveries(ledger, first.count * first.workers, first.workers);
  if (orphans.count > 0) log(`chatlab: ${orphans.count} deliveries of messages no shard sent: ${orphans.note}`);

  const scenario = await prepareScenario(first.scenario, first.overrides);
  const population = new Population(scenario, first.seed, first.tag);
  const faults = uniqueFaults(ordered.flatMap((s) => s.m.faults));
  const driver = summarizeDriver(stats.map((p) => p.driver));
  const media = MediaStats.merge(stats.map((p) => p.media));
  const stories = StoriesStats.merge(stats.map((p) => p.stories));
  const calls = CallStats.merge(stats.map((p) => p.calls));
  const startedAt = new Date(Math.min(...ordered.map((s) => Date.parse(s.m.startedAt))));
  const wallMs = run?.wallMs ?? Math.max(...ordered.map((s) => s.m.wallMs));
  const shared = { world: first.world, seed: first.seed, nodes: first.nodes, devicesPlanned: scenario.population.devices, startedAt, wallMs: () => wallMs };
  const tail = { inbox: undefined, deviceId: (d: number) => population.deviceId(d), nowMs: () => Date.now() - first.t0, outDir, log };
  if (first.world === 'sim') {
    const cells = ordered.map((s) => ({ ...s.m, sim: s.m.sim! }));
    const e2eeSource = cells[0]!.sim.e2eeCostSource;
    const events = cells.reduce((n, c) => n + c.sim.events, 0);
    const { report, files } = await finishRun({ scenario, ledger, loadEndMs: loadEndMs(scenario), faults }, {
      ...shared,
      extra: () => ({
        driver: null,
        e2ee: E2eeStats.merge(stats.map((p) => p.e2ee)).report(e2eeSource ? 'modeled' : 'off', scenario.population.devicesPerUser, e2eeSource),
        media: null, stories: null, calls: null,
        meta: {
          tag: first.tag,
          calibration: { source: cells[0]!.sim.calibration },
          cells: {
            count: first.count,
            split: 'users: u % count, each with all its devices; a recipient in another cell is a ghost in the sender\'s cell (docs/sim.md, Cells)',
            ...(run ? { parallel: run.parallel, wallMs: Math.round(run.wallMs) } : {}),
            events,
            orphanDeliveries: orphans.count,
            cells: cells.map((c) => ({ index: c.index, seed: c.sim.seed, devices: c.sim.own, ghosts: c.sim.ghosts, wallMs: Math.round(c.wallMs), events: c.sim.events, virtualMs: c.sim.virtualMs, eventsPerSec: Math.round(c.sim.events / (c.wallMs / 1000)) })),
            sources: ordered.map((s) => s.path),
          },
          droppedIterations: stats.reduce((n, p) => n + p.driver.droppedIterations, 0),
        },
      }),
      ...tail,
    });
    return { report, files: files!, orphans: { count: orphans.count, keys: orphans.keys } };
  }
  const { report, files } = await finishRun({ scenario, ledger, loadEndMs: loadEndMs(scenario), faults }, {
    ...shared,
    extra: () => ({
      driver, e2ee: e2eeReport(scenario, stats.map((p) => p.e2ee)),
      media: media.active ? media.report('http', []) : null,
      stories: stories.active ? stories.report() : null, calls: calls.active ? calls.report() : null,
      meta: {
        workers: first.workers * first.count, tag: first.tag, droppedIterations: driver.droppedIterations,
        shards: {
          count: first.count, t0: first.t0, workersPerShard: first.workers, split: 'users: u % count; msgKeys and arrivals: global worker slot shard × workersPerShard + worker',
          sources: ordered.map((s) => s.path),
          orphanDeliveries: orphans.count, orphanKeys: orphans.keys,
          ...(orphans.count > 0 ? { orphanNote: orphans.note } : {}),
        },
      },
    }),
    ...tail,
  });
  return { report, files: files!, orphans: { count: orphans.count, keys: orphans.keys } };
}

/** Deliveries whose message is in no ledger's sends: the shard that sent it is not among those merged, or its ledger lost the row. */
function orphanDeliveries(ledger: Ledger, slots: number, workersPerShard: number): { count: number; keys: number[]; note: string } {
  const sent = new Set<number>();
  const s = ledger.sends;
  for (let i = 0; i < s.length; i++) sent.add(s.cols.msg[i]!);
  const seen = new Set<number>();
  const d = ledger.deliveries;
  let count = 0;
  for (let i = 0; i < d.length; i++) {
    const k = d.cols.msg[i]!;
    if (sent.has(k)) continue;
    count++;
    seen.add(k);
  }
  const keys = [...seen].slice(0, 5);
  const note = keys.map((k) => `msgKey ${k} (shard ${Math.floor((k % slots) / workersPerShard)})`).join(', ') + (seen.size > keys.length ? ` and ${seen.size - keys.length} more messages` : '');
  return { count, keys, note };
}

/** Faults several shards saw alike (the cluster's marks, read by every shard) count once. */
function uniqueFaults(marks: readonly FaultMark[]): FaultMark[] {
  const seen = new Map<string, FaultMark>();
  for (const m of marks) {
    const key = JSON.stringify([m.kind, m.target, Math.round(m.startMs), Math.round(m.endMs), m.observed ?? false]);
    if (!seen.has(key)) seen.set(key, m);
  }
  return [...seen.values()];
}
