/**
 * bench:overload — what the embedded world does at twice the load it can carry.
 *
 * 1. Saturation: steady-chat in steps of rising rate (each held --step-seconds)
 *    against the embedded cluster in a child process; the saturation rate S is
 *    the highest step whose settled seconds acked ≥ 95% of the offered rate
 *    with a median per-second e2e p99 ≤ --p99-max-ms (100 ms). (--saturation skips it.)
 *    Each run starts with 5 s of warm-up at half its first rate, not reported.
 * 2. One run in phases: S for --baseline-seconds (the baseline, measured in
 *    the same run), 2×S for --overload-seconds, then S/2 for
 *    --recovery-seconds.
 * Prints per phase the acked rate and the per-second e2e p99 of admitted
 * (acked) sends; every error frame the cluster sent, by code, with the share
 * retryable with a retryAfterMs (read off the cluster's wire); the cluster
 * process's peak RSS; acked messages lost; sends never acked; and the time
 * back to normal: from the end of the overload to the first of 5 consecutive
 * seconds whose e2e p99 is ≤ 1.5× the baseline's median per-second p99 and
 * whose acked rate is ≥ 90% of the recovery rate.
 * Exit code 1 when a promise is broken: an acked message lost, a rejection
 * not retryable or without retryAfterMs, RSS over --rss-max-mb, or not back
 * to normal within the recovery phase.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import type { Report } from '../reports/report.ts';
import { runLive } from '../scenarios/engine/live/live.ts';
import { EmbeddedChild } from './servers/embedded-child.ts';
import type { ErrorTally } from './servers/ipc.ts';
import { backToNormal, phaseFigures, phaseStarts, writePlan, type Phase, type PhaseFigures } from './overload/phases.ts';

const int = (min: number) => (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer >= ${min}`);
  return n;
};
const o = new Command('bench:overload')
  .option('--devices <n>', 'devices', int(2), 1000)
  .option('--saturation <rate>', 'skip the search: the saturation rate, msgs/s', int(1))
  .option('--steps <list>', 'rates tried in the search, msgs/s', '1000,2000,3000,4000,5000,6000,8000,10000')
  .option('--step-seconds <s>', 'seconds each step is held', int(2), 5)
  .option('--p99-max-ms <ms>', 'e2e p99 a step may reach and still count as carried (the knee: past it latency climbs fast here)', int(1), 100)
  .option('--baseline-seconds <s>', 'seconds at the saturation rate before the overload', int(3), 15)
  .option('--overload-seconds <s>', 'seconds at twice the saturation rate', int(1), 60)
  .option('--recovery-seconds <s>', 'seconds at half the saturation rate after it', int(6), 40)
  .option('--rss-max-mb <mb>', 'bound on the cluster process RSS', int(1), 2048)
  .parse()
  .opts<{ devices: number; saturation?: number; steps: string; stepSeconds: number; p99MaxMs: number; baselineSeconds: number; overloadSeconds: number; recoverySeconds: number; rssMaxMb: number }>();

const log = (l: string) => process.stderr.write(`${l}\n`);
const hard = setTimeout(() => {
  console.error('bench:overload: overall time limit reached');
  process.exit(2);
}, 1800_000);
hard.unref();

/** Connections, JIT and heap settle before anything is measured: 5 s at half the first rate, not reported. */
function warmup(rate: number): Phase {
  return { name: 'warm-up', rate: Math.max(1, Math.round(rate / 2)), seconds: 5 };
}

async function drive(cluster: EmbeddedChild, phases: Phase[]): Promise<Report> {
  const scenario = writePlan(phases, { devices: o.devices });
  const { report } = await runLive({
    scenario, world: 'embedded', target: cluster.urls.join(','), secret: cluster.secret, overrides: {}, seed: 1, inboxAccess: async () => cluster.inboxAccess(),
    outDir: mkdtempSync(join(tmpdir(), 'chatlab-overload-')), progress: false, log: () => {},
  });
  return report;
}

/** The highest step carried: acked ≥ 95% of the offered rate, median per-second p99 within the bound. */
function saturation(steps: PhaseFigures[]): number {
  let best = 0;
  for (const s of steps) {
    if (s.ackedPerSec >= 0.95 * s.rate && s.p99MedianMs !== null && s.p99MedianMs <= o.p99MaxMs) best = s.rate;
    else break;
  }
  return best;
}

const ms = (x: number | null) => (x === null ? '-' : x.toFixed(1));
function row(f: PhaseFigures): string {
  return `${f.name.padEnd(10)} ${String(f.rate).padStart(7)} ${f.ackedPerSec.toFixed(0).padStart(8)} ${ms(f.p99MedianMs).padStart(10)} ${ms(f.p99MaxMs).padStart(10)} ${String(f.errors).padStart(8)}`;
}
const HEAD = `${'phase'.padEnd(10)} ${'rate/s'.padStart(7)} ${'acked/s'.padStart(8)} ${'p99 med'.padStart(10)} ${'p99 max'.padStart(10)} ${'errors'.padStart(8)}`;

const cluster = await EmbeddedChild.start({ nodes: 3, execArgv: ['--max-semi-space-size=64'] });
let rssMb = cluster.rssMb();
const sampler = setInterval(() => (rssMb = Math.max(rssMb, cluster.rssMb())), 500);
const problems: string[] = [];
try {
  console.log(`bench:overload — embedded world (3 nodes, pid ${cluster.pid}), ${o.devices} devices, Node ${process.version}`);
  let sat = o.saturation ?? 0;
  if (!o.saturation) {
    const rates = o.steps.split(',').map(Number);
    const steps = [warmup(rates[0]!), ...rates.map((rate, i) => ({ name: `step ${i + 1}`, rate, seconds: o.stepSeconds }))];
    log(`bench:overload: finding saturation over ${steps.map((s) => s.rate).join(', ')} msgs/s`);
    const report = await drive(cluster, steps);
    const figs = phaseFigures(steps, report.timeline.buckets);
    console.log(`\nsaturation search (${o.stepSeconds} s per step; carried: acked >= 95% of rate, median per-second e2e p99 <= ${o.p99MaxMs} ms)\n${HEAD}`);
    for (const f of figs.slice(1)) console.log(row(f));
    sat = saturation(figs.slice(1));
    if (report.driver?.bound) console.log(`note: the driver may have limited the search (driver CPU ${report.driver.cpuPercent.toFixed(0)}%, event-loop p99 ${report.driver.eventLoopP99Ms.toFixed(0)} ms)`);
    if (sat === 0) throw new Error('no step was carried: lower --steps');
  }
  console.log(`\nsaturation: ${sat} msgs/s; overload: ${2 * sat} msgs/s for ${o.overloadSeconds} s`);
  const before = await cluster.errors();
  const phases: Phase[] = [
    warmup(sat),
    { name: 'baseline', rate: sat, seconds: o.baselineSeconds },
    { name: 'overload', rate: 2 * sat, seconds: o.overloadSeconds },
    { name: 'recovery', rate: Math.max(1, Math.round(sat / 2)), seconds: o.recoverySeconds },
  ];
  log(`bench:overload: ${phases.map((p) => `${p.name} ${p.rate}/s ${p.seconds}s`).join(', ')}`);
  const report = await drive(cluster, phases);
  const after = await cluster.errors();
  const figs = phaseFigures(phases, report.timeline.buckets);
  console.log(`\n${HEAD}`);
  for (const f of figs.slice(1)) console.log(row(f));
  figs.shift();

  const baseP99 = figs[0]!.p99MedianMs ?? NaN;
  const overEnd = phaseStarts(phases)[3]!;
  const normalMs = 1.5 * baseP99;
  const back = backToNormal(report.timeline.buckets, { fromS: overEnd, untilS: overEnd + o.recoverySeconds, p99MaxMs: normalMs, ackedMin: 0.9 * phases[3]!.rate, holdS: 5 });
  console.log(`\nadmitted sends' e2e p99 during the overload: median per-second ${ms(figs[1]!.p99MedianMs)} ms, worst second ${ms(figs[1]!.p99MaxMs)} ms (baseline at ${sat}/s: ${ms(figs[0]!.p99MedianMs)} ms, worst ${ms(figs[0]!.p99MaxMs)} ms)`);
  const rejections = diff(before, after);
  const total = Object.values(rejections).reduce((n, e) => n + e.count, 0);
  const good = Object.values(rejections).reduce((n, e) => n + Math.min(e.retryable, e.withRetryAfter), 0);
  const share = total === 0 ? 100 : (good / total) * 100;
  console.log(`rejections (error frames the cluster sent): ${total === 0 ? 'none' : Object.entries(rejections).map(([c, e]) => `${c} ${e.count} (retryable ${e.retryable}, with retryAfterMs ${e.withRetryAfter})`).join(', ')}; retryable with retryAfterMs: ${share.toFixed(1)}%`);
  console.log(`messages: ${report.messages.sent} sent, ${report.messages.acked} acked, ${report.messages.failed} never acked (failed), ${report.delivery.lost} acked lost (in no inbox at the end), ${report.delivery.pending} pending (late: still in an inbox after the grace period; oldest ${ms(report.delivery.pendingAgeMs?.max ?? null)} ms)`);
  console.log(`cluster RSS peak: ${rssMb.toFixed(0)} MB (bound ${o.rssMaxMb} MB)`);
  console.log(`time back to normal (5 s in a row with e2e p99 <= ${ms(normalMs)} ms = 1.5x baseline, acked >= 90% of ${phases[3]!.rate}/s): ${back === null ? `not within ${o.recoverySeconds} s` : `${back} s`}`);
  if (report.driver?.bound) console.log(`note: the driver may have limited this run (driver CPU ${report.driver.cpuPercent.toFixed(0)}%, event-loop p99 ${report.driver.eventLoopP99Ms.toFixed(0)} ms)`);
  if (report.delivery.lost > 0) problems.push(`${report.delivery.lost} acked message(s) lost`);
  if (good < total) problems.push(`${total - good} rejection(s) not retryable with a retryAfterMs`);
  if (rssMb > o.rssMaxMb) problems.push(`cluster RSS ${rssMb.toFixed(0)} MB over ${o.rssMaxMb} MB`);
  if (back === null) problems.push(`not back to normal within ${o.recoverySeconds} s after the overload`);
  for (const p of problems) console.log(`FAILED: ${p}`);
  console.log(`overload=${2 * sat}/s p99Ms=${ms(figs[1]!.p99MedianMs)} baselineP99Ms=${ms(figs[0]!.p99MedianMs)} retryableShare=${share.toFixed(1)}% lost=${report.delivery.lost} rssMB=${Math.round(rssMb)} backToNormalS=${back ?? 'never'}`);
} finally {
  clearInterval(sampler);
  await cluster.stop();
}
process.exitCode = problems.length > 0 ? 1 : 0;

function diff(a: Record<string, ErrorTally>, b: Record<string, ErrorTally>): Record<string, ErrorTally> {
  const out: Record<string, ErrorTally> = {};
  for (const [code, e] of Object.entries(b)) {
    const x = a[code] ?? { count: 0, retryable: 0, withRetryAfter: 0 };
    if (e.count > x.count) out[code] = { count: e.count - x.count, retryable: e.retryable - x.retryable, withRetryAfter: e.withRetryAfter - x.withRetryAfter };
  }
  return out;
}
