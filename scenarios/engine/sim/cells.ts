/**
 * The sim split into cells (`chatlab run --world sim --cells N`): N
 * processes, each a sim of a slice of the users against its own world, whose
 * ledgers merge like the sharded driver's (`mergeShards`), so one process's
 * memory and one core no longer bound the population.
 *
 * Cell i of N plays every user u with u % N == i, with all of that user's
 * devices (Population.shardSlice's split). A message goes from a device the
 * cell plays to whoever it is addressed to; a recipient another cell plays is
 * stood in for by a ghost: the same VirtualDevice, signed in to the node the
 * real one would pick, that receives, acks and sends receipts but starts no
 * load of its own and whose sign-ins are not the run's (DeviceLedger's ghost
 * observer). So every message's send, expected deliveries and deliveries
 * are in its sender's cell's ledger alone, and the merged ledger judges each
 * message once. What a cell does not see: the other cells' load on the nodes
 * and stores (each cell's world has the scenario's nodes and stores, busy
 * with its own slice and its ghosts only), and a conversation across cells
 * is two: each direction has its own seqs in its own cell. docs/sim.md,
 * "Cells".
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { hash32 } from '../../../system/random/random.ts';
import { PROJECT_ROOT } from '../../../system/worlds/infra/provisioning.ts';
import type { Population } from '../../population.ts';
import type { Scenario } from '../../scenario.ts';
import { mergeShards, parseSlice, type MergeResult } from '../live/shard.ts';

/** Cell `index` of `count` (0-based). */
export interface CellSpec {
  index: number;
  count: number;
}

/** A device the cell plays. */
export const OWN = 1;
/** A device of another cell's user that this cell's users may send to: it receives here, and sends nothing. */
export const GHOST = 2;

/** "1/3" → cell 1 of 3 (0-based), or an error naming the rule. */
export function parseCell(text: string): CellSpec {
  return parseSlice('--cell', text, '0/4');
}

/** The cell a Kubernetes Indexed Job's pod runs: JOB_COMPLETION_INDEX of CHATLAB_CELLS (undefined when CHATLAB_CELLS is not set). */
export function cellFromEnv(env: NodeJS.ProcessEnv): CellSpec | undefined {
  if (env.CHATLAB_CELLS === undefined) return undefined;
  if (env.JOB_COMPLETION_INDEX === undefined) throw new Error('CHATLAB_CELLS is set but JOB_COMPLETION_INDEX is not: a cell from the environment needs both');
  return parseCell(`${env.JOB_COMPLETION_INDEX}/${env.CHATLAB_CELLS}`);
}

/**
 * The seed of a cell's world, devices and load: the run's own for a single
 * cell (a one-cell run is the plain sim), else a hash of the run seed and the
 * cell. The population (users, contacts, groups, cohorts) keeps the run seed
 * in every cell: the cells must agree on who is who.
 */
export function cellSeed(seed: number, cell: CellSpec): number {
  return cell.count === 1 ? seed : hash32(`cell ${cell.index}/${cell.count}`, seed) % 2 ** 31;
}

/**
 * Per device: OWN, GHOST or 0 (not in this cell). Ghosts are the devices of
 * every other cell's user one of this cell's users can address: contacts,
 * fellow members of their groups, and the users of the timeline's `offline`
 * cohorts (what `toOffline` picks from).
 */
export function cellMembers(population: Population, scenario: Scenario, cell: CellSpec): Uint8Array {
  const ghost = new Uint8Array(population.users);
  const mark = (u: number) => {
    if (u % cell.count !== cell.index) ghost[u] = 1;
  };
  const groups = new Set<string>();
  for (let u = cell.index; u < population.users; u += cell.count) {
    for (const c of population.contactsOf(u)) mark(c);
    for (const g of population.groupsOf(u)) groups.add(g);
  }
  for (const g of groups) for (const u of population.group(g)?.members ?? []) mark(u);
  for (const ev of scenario.timeline) if (ev.action === 'offline') for (const u of population.cohort(ev.cohort ?? ev.action, ev.share)) mark(u);
  const out = new Uint8Array(population.devices);
  for (let u = 0; u < population.users; u++) {
    const kind = u % cell.count === cell.index ? OWN : ghost[u] ? GHOST : 0;
    if (kind) out.fill(kind, population.firstDevice(u), population.deviceEnd(u));
  }
  return out;
}

/** What a cell's sim writes beside its ledger (ShardManifest.sim), for the merged report's `meta.cells`. */
export interface CellFigures {
  seed: number;
  own: number;
  ghosts: number;
  events: number;
  virtualMs: number;
  calibration: string;
  e2eeCostSource?: string;
}

export interface CellsRunOptions {
  /** Built-in name or path of a scenario file. */
  scenario: string;
  /** `chatlab run` options every cell gets (--devices, --seed, --duration, …), without --cells, --cell, --parallel or --out. */
  args: readonly string[];
  /** Node's arguments for a cell instead of `chatlab run … --cell i/n --out <dir>` (bench:sim runs itself per cell). */
  command?: (cell: CellSpec, outDir: string) => string[];
  count: number;
  /** Cells running at once (`chatlab run`'s default: the number of CPUs). */
  parallel: number;
  /** The merged report goes here; cell i writes its own (its slice's view) and its ledger to `<outDir>/cell-<i>`. */
  outDir: string;
  log?: (line: string) => void;
}

/**
 * Runs N cells as child processes (`chatlab run --world sim --cell i/N`), at
 * most `parallel` at once, then merges their ledgers into one report in
 * `outDir` (meta.cells: each cell's seed, wall time and events).
 */
export async function runCells(o: CellsRunOptions): Promise<MergeResult> {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const wall0 = performance.now();
  mkdirSync(o.outDir, { recursive: true });
  const dirs = Array.from({ length: o.count }, (_, i) => join(o.outDir, `cell-${i}`));
  let next = 0;
  let failed = false;
  const worker = async () => {
    for (let i = next++; i < o.count && !failed; i = next++) {
      const cellWall0 = performance.now();
      const cell = { index: i, count: o.count };
      const argv = o.command?.(cell, dirs[i]!) ?? [
        // self-resolve: a scenario file outside the project may import `chatlab/...` (as bin/chatlab.mjs runs the CLI).
        '--import', 'tsx', '--import', pathToFileURL(join(PROJECT_ROOT, 'cli', 'self-resolve.mjs')).href, join(PROJECT_ROOT, 'cli', 'chatlab.ts'), 'run', o.scenario, '--world', 'sim', '--cell', `${i}/${o.count}`, ...o.args, '--out', dirs[i]!,
      ];
      const { code, out } = await runCell(argv, (l) => log(`cell ${i}/${o.count}: ${l}`));
      writeFileSync(join(o.outDir, `cell-${i}.log`), out);
      if (code !== 0) failed = true;
      if (code !== 0) throw new Error(`cell ${i}/${o.count} failed (exit ${code}); its output: ${join(o.outDir, `cell-${i}.log`)}\n${out.split('\n').slice(-20).join('\n')}`);
      log(`cell ${i}/${o.count} done in ${((performance.now() - cellWall0) / 1000).toFixed(1)} s wall`);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(o.parallel, o.count)) }, worker));
  return mergeShards(dirs, o.outDir, log, { wallMs: performance.now() - wall0, parallel: o.parallel });
}

/** One cell as its own process; its stderr lines go to `log` as they come (progress), and everything it wrote is returned. */
function runCell(argv: string[], log: (l: string) => void): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, argv, { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let partial = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d: Buffer) => {
      out += d;
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop()!;
      for (const l of lines) if (l) log(l);
    });
    p.on('error', reject);
    p.on('exit', (code) => resolve({ code, out }));
  });
}
