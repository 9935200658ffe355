/**
 * bench:soak — `npm run soak -- --duration 1h`: steady-chat for a long time
 * against the local world (each chat node its own process, over a real
 * redis-server and Apache Cassandra), with one node restarted (SIGTERM, then
 * started again on its port) every --restart-every, round robin.
 *
 * The rate is --rate, or half of the saturation measured first in the same
 * world (steps of --steps msgs/s held --step-seconds each; carried: acked ≥
 * 95% of the rate with a median per-second e2e p99 ≤ 500 ms). Each node
 * process prints its heap and RSS every --sample-every (a preloaded
 * heap-line.mjs); per node the soak prints heap and RSS growth in MB per
 * hour: least-squares slopes per process lifetime after the warm-up
 * (--warmup, default 5 minutes or a quarter of the run if shorter; a
 * restarted process also skips its first minute), weighted by samples.
 * Also acked messages lost and sends never acked (failed): both must be 0.
 * Last line: `soak: duration=… rate=… lost=<n> failed=<n>`; exit code 1
 * when lost or failed is not 0.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import type { Report } from '../reports/report.ts';
import { runLive } from '../scenarios/engine/live/live.ts';
import { cassandraInbox } from '../system/worlds/worlds.ts';
import { formatDuration, parseDuration } from '../system/clock/duration.ts';
import { LocalWorld } from '../system/worlds/local.ts';
import { phaseFigures, writePlan, type Phase } from './overload/phases.ts';
import { growth, type MemSample } from './soak/growth.ts';

const int = (min: number) => (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer >= ${min}`);
  return n;
};
const dur = (v: string): number => {
  try {
    return parseDuration(v);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
};
const o = new Command('bench:soak')
  .option('--duration <d>', 'load duration', dur, 3_600_000)
  .option('--restart-every <d>', 'one node restarted this often', dur, 600_000)
  .option('--rate <n>', 'msgs/s (default: half the measured saturation)', int(1))
  .option('--devices <n>', 'devices', int(2), 200)
  .option('--nodes <n>', 'chat node processes', int(2), 3)
  .option('--steps <list>', 'rates tried for saturation, msgs/s', '25,50,100,150,200,300')
  .option('--step-seconds <s>', 'seconds each step is held', int(3), 10)
  .option('--sample-every <d>', 'heap and RSS sample interval of each node', dur, 10_000)
  .option('--warmup <d>', 'samples before this are not fitted (default: min(5m, duration/4))', dur)
  .parse()
  .opts<{ duration: number; restartEvery: number; rate?: number; devices: number; nodes: number; steps: string; stepSeconds: number; sampleEvery: number; warmup?: number }>();

const log = (l: string) => process.stderr.write(`${l}\n`);
const warmupMs = o.warmup ?? Math.min(300_000, o.duration / 4);
const hard = setTimeout(() => {
  console.error('bench:soak: overall time limit reached');
  process.exit(2);
}, o.duration + 1_200_000);
hard.unref();

process.env.CHATLAB_HEAP_LINE_MS = String(o.sampleEvery);
const heapLine = fileURLToPath(new URL('./servers/heap-line.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'chatlab-soak-'));
log(`bench:soak: starting the local world (${o.nodes} node processes, redis-server, Cassandra) in ${dir}`);
const world = await LocalWorld.start({ nodes: o.nodes, dir, nodeArgs: ['--import', heapLine] });

async function drive(phases: Phase[]): Promise<Report> {
  const scenario = writePlan(phases, { devices: o.devices, graceMs: 30_000 });
  const urls = world.nodes.map((_, i) => world.deviceUrl(i));
  const { report } = await runLive({
    scenario, world: 'local', target: urls.join(','), secret: world.secret, overrides: {}, seed: 1,
    // Driven as a target (the soak restarts nodes itself), but its Cassandra is ours to ask: late is told from lost.
    inboxAccess: () => cassandraInbox(world.cassandra, world.keyspace),
    outDir: mkdtempSync(join(tmpdir(), 'chatlab-soak-run-')), progress: false, log: () => {},
  });
  return report;
}

/** Heap lines of node `i` in its log (appended across restarts; each names its process). */
function samplesOf(i: number, t0: number): MemSample[] {
  const text = readFileSync(join(dir, `node-${i + 1}.log`), 'utf8');
  const out: MemSample[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{"heapLine":true')) continue;
    const s = JSON.parse(line) as { pid: number; at: number; heapMB: number; rssMB: number };
    if (s.at >= t0) out.push({ pid: s.pid, atMs: s.at - t0, heapMB: s.heapMB, rssMB: s.rssMB });
  }
  return out;
}

let failed = true;
try {
  let rate = o.rate ?? 0;
  if (!o.rate) {
    const steps = o.steps.split(',').map((r, i) => ({ name: `step ${i + 1}`, rate: Number(r), seconds: o.stepSeconds }));
    log(`bench:soak: finding saturation over ${steps.map((s) => s.rate).join(', ')} msgs/s`);
    const figs = phaseFigures(steps, (await drive(steps)).timeline.buckets);
    console.log(`saturation search (${o.stepSeconds} s per step)`);
    for (const f of figs) console.log(`  ${String(f.rate).padStart(5)}/s: acked ${f.ackedPerSec.toFixed(0)}/s, median per-second e2e p99 ${f.p99MedianMs?.toFixed(1) ?? '-'} ms`);
    let sat = 0;
    for (const f of figs) {
      if (f.ackedPerSec >= 0.95 * f.rate && f.p99MedianMs !== null && f.p99MedianMs <= 500) sat = f.rate;
      else break;
    }
    if (sat === 0) throw new Error('no step was carried: lower --steps');
    rate = Math.max(1, Math.round(sat / 2));
    console.log(`saturation ${sat} msgs/s: the soak runs at ${rate} msgs/s`);
  }
  const t0 = Date.now();
  const restarts: string[] = [];
  let k = 0;
  const restarter = setInterval(() => {
    const i = k++ % o.nodes;
    const at = formatDuration(Date.now() - t0);
    log(`bench:soak: restarting node-${i + 1} at ${at}`);
    world.restartNode(i).then(() => restarts.push(`node-${i + 1} at ${at}`), (e: Error) => restarts.push(`node-${i + 1} at ${at} FAILED: ${e.message}`));
  }, o.restartEvery);
  log(`bench:soak: ${o.devices} devices at ${rate} msgs/s for ${formatDuration(o.duration)}, a node restart every ${formatDuration(o.restartEvery)}`);
  const report = await drive([{ name: 'soak', rate, seconds: Math.round(o.duration / 1000) }]).finally(() => clearInterval(restarter));
  console.log(`\nsoak of ${formatDuration(o.duration)} at ${rate} msgs/s, ${o.devices} devices, ${o.nodes} node processes; restarts: ${restarts.join(', ') || 'none'}`);
  console.log(`messages: ${report.messages.sent} sent, ${report.messages.acked} acked, ${report.messages.failed} never acked (failed), ${report.delivery.lost} acked lost (in no inbox), ${report.delivery.pending} pending (late: still in an inbox after the grace; classified by ${report.delivery.classified}); e2e p99 ${report.latency.e2eMs.p99} ms`);
  console.log(`memory growth per node after ${formatDuration(warmupMs)} of warm-up (least-squares per process lifetime, weighted by samples):`);
  for (let i = 0; i < o.nodes; i++) {
    const samples = samplesOf(i, t0);
    const g = growth(samples, { warmupMs, minSamples: 5 });
    const last = samples.at(-1);
    const f = (x: number | null) => (x === null ? '-' : `${x >= 0 ? '+' : ''}${x.toFixed(1)}`);
    console.log(`  node-${i + 1}: heap ${f(g.heapMBPerHour)} MB/h, RSS ${f(g.rssMBPerHour)} MB/h (${g.samples} samples over ${g.segments} process lifetimes; last heap ${last?.heapMB ?? '-'} MB, RSS ${last?.rssMB ?? '-'} MB)`);
  }
  failed = report.delivery.lost > 0 || report.messages.failed > 0;
  if (report.delivery.lost > 0) console.log(`FAILED: ${report.delivery.lost} acked message(s) lost`);
  if (report.messages.failed > 0) console.log(`FAILED: ${report.messages.failed} send(s) never acked`);
  console.log(`soak: duration=${formatDuration(o.duration)} rate=${rate} lost=${report.delivery.lost} pending=${report.delivery.pending} failed=${report.messages.failed}`);
} finally {
  await world.stop();
}
process.exitCode = failed ? 1 : 0;
