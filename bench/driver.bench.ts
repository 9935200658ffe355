/**
 * bench:driver — what the load driver itself adds to the latencies it
 * reports: `npm run bench:driver -- [--devices 1000] [--rate 2000] [--duration 15s] [--rounds 3] [--workers n] [--targets relay,embedded]`.
 *
 * The same scenario run (steady-chat at `--rate` with `--devices`, the
 * driver's workers exactly as `chatlab run` starts them) against two
 * targets, alternating for `--rounds` rounds so both see the same machine:
 *
 *   relay:    bench/servers/protocol-relay.ts — speaks the protocol, stores
 *             nothing, costs next to nothing per frame: every millisecond
 *             measured against it is the driver's (its workers' event
 *             loops, its timers) and the loopback path's. The floor.
 *   embedded: the embedded cluster in its own process (the full lifecycle).
 *
 * Before them in each round, the machine's own floor (bench/servers/
 * bare-round-trip.ts): one WebSocket, the same rate scheduled the same way,
 * echoed by a bare server on CPU 0 from a client on the driver's CPU. No
 * devices and no protocol: Node's millisecond timers (a send fires up to
 * ~1.5 ms after its time on an idle loop), ws, loopback and this machine's
 * scheduling. The driver's own share of the relay floor is what the floor
 * adds beyond it.
 *
 * Both servers are pinned to CPU 0 and the driver's workers to CPU 1, so
 * the driver's time is not a share of the cluster's core. Prints, per
 * target, the medians over the rounds of e2e p50/p99 (from the intended
 * send and from the actual send), the send lag p99, the workers'
 * event-loop p99 and CPU; then the driver's added p99 (the floor's e2e
 * p99) beside the cluster's e2e p99 and the bare round trip's. Goal on a
 * 2-core machine: at 2,000 msgs/s with 1,000 devices, the floor's e2e p99
 * beyond the bare round trip's ≤ 2 ms.
 *
 * The relay keeps nothing for a device that is not connected: the 5% of
 * devices steady-chat backgrounds miss what is sent to them there, so the
 * relay's delivery figures are not a finding, only its latencies.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Report } from '../reports/report.ts';
import { cpusBesideFirst, pinToCpus } from '../scenarios/engine/live/affinity.ts';
import { runLive } from '../scenarios/engine/live/live.ts';
import { EmbeddedChild } from './servers/embedded-child.ts';
import { startProtocolRelay } from './servers/protocol-relay-child.ts';
import { startBareRoundTrip, type BareFigures } from './servers/bare-round-trip.ts';
import { parseDuration } from '../system/clock/duration.ts';

const { values } = parseArgs({
  options: {
    devices: { type: 'string', default: '1000' },
    rate: { type: 'string', default: '2000' },
    duration: { type: 'string', default: '15s' },
    rounds: { type: 'string', default: '3' },
    seed: { type: 'string', default: '1' },
    workers: { type: 'string' },
    targets: { type: 'string', default: 'relay,embedded' },
  },
});
const targets = values.targets!.split(',').map((t) => t.trim());
for (const t of targets) if (t !== 'relay' && t !== 'embedded') throw new Error(`--targets: unknown target "${t}" (relay, embedded)`);
if (!targets.includes('relay')) throw new Error('--targets must include relay: it is the floor');
const workers = values.workers === undefined ? undefined : Number(values.workers);
// Plaintext: the relay only echoes messages (it holds no keys), and this bench measures the driver's transport floor.
const overrides = { devices: Number(values.devices), rate: Number(values.rate), duration: values.duration!, e2ee: false };
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds must be an integer >= 1');
const driverCpus = cpusBesideFirst();
const pinned = driverCpus !== undefined;
const log = (l: string) => process.stderr.write(`${l}\n`);

interface Target { urls: string[]; secret: string; pid: number; stop(): Promise<void> }

const relay = startProtocolRelay;

async function embedded(): Promise<Target> {
  const c = await EmbeddedChild.start({ nodes: 3, execArgv: ['--max-semi-space-size=64'] });
  return { urls: c.urls, secret: c.secret, pid: c.pid, stop: () => c.stop() };
}

async function measure(name: string, start: () => Promise<Target>, seed: number): Promise<Report> {
  const t = await start();
  try {
    if (pinned) pinToCpus(t.pid, '0');
    const { report } = await runLive({
      scenario: 'steady-chat', world: 'embedded', target: t.urls.join(','), secret: t.secret, overrides, seed,
      outDir: mkdtempSync(join(tmpdir(), `chatlab-driver-${name}-`)), progress: false, log: () => {}, driverCpus, workers,
    });
    return report;
  } finally {
    await t.stop();
  }
}

const figures = (r: Report) => ({
  p50: r.latency.e2eMs.p50, p99: r.latency.e2eMs.p99, sentP99: r.latency.e2eSendMs.p99, lagP99: r.latency.sendLagMs.p99,
  loopP99: r.driver?.eventLoopP99Ms ?? NaN, cpu: r.driver?.cpuPercent ?? NaN,
});
type Fig = ReturnType<typeof figures>;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 === 1 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
};
const runs: Record<'relay' | 'embedded', Fig[]> = { relay: [], embedded: [] };
const bare: BareFigures[] = [];
log(`bench:driver: steady-chat, ${overrides.devices} devices, ${overrides.rate} msgs/s for ${overrides.duration}, ${rounds} rounds; ${pinned ? `servers on CPU 0, driver on CPU ${driverCpus}` : 'one CPU: servers and driver share it'}`);
for (let i = 0; i < rounds; i++) {
  const m = await startBareRoundTrip(overrides.rate, parseDuration(overrides.duration), pinned ? '0' : undefined, driverCpus);
  bare.push(m);
  log(`round ${i + 1} bare round trip: p50 ${m.p50.toFixed(2)} p99 ${m.p99.toFixed(2)} ms (from actual send p99 ${m.sentP99.toFixed(2)}), send lag p99 ${m.lagP99.toFixed(2)} (${m.messages} messages, one socket)`);
  for (const [name, start] of ([['relay', relay], ['embedded', embedded]] as const).filter(([n]) => targets.includes(n))) {
    const f = figures(await measure(name, start, Number(values.seed)));
    runs[name].push(f);
    log(`round ${i + 1} ${name}: e2e p50 ${f.p50.toFixed(2)} p99 ${f.p99.toFixed(2)} ms (from actual send p99 ${f.sentP99.toFixed(2)}), send lag p99 ${f.lagP99.toFixed(2)}, worker loop p99 ${f.loopP99.toFixed(2)} ms, driver CPU ${f.cpu.toFixed(0)}%`);
  }
}
const med = (name: 'relay' | 'embedded') => {
  const r = runs[name];
  return Object.fromEntries((Object.keys(r[0]!) as (keyof Fig)[]).map((k) => [k, median(r.map((x) => x[k]))])) as Fig;
};
const a = med('relay');
const b = runs.embedded.length > 0 ? med('embedded') : undefined;
const row = (n: string, f: Fig) =>
  `${n.padEnd(10)}${f.p50.toFixed(2).padStart(9)}${f.p99.toFixed(2).padStart(9)}${f.sentP99.toFixed(2).padStart(12)}${f.lagP99.toFixed(2).padStart(10)}${f.loopP99.toFixed(2).padStart(11)}${`${f.cpu.toFixed(0)}%`.padStart(9)}`;
process.stdout.write(`\nmedians of ${rounds} rounds; ${overrides.devices} devices, ${overrides.rate} msgs/s, ${overrides.duration}\n`);
process.stdout.write(`${'target'.padEnd(10)}${'e2e p50'.padStart(9)}${'e2e p99'.padStart(9)}${'p99 (sent)'.padStart(12)}${'lag p99'.padStart(10)}${'loop p99'.padStart(11)}${'drv CPU'.padStart(9)}\n`);
const m = { p50: median(bare.map((x) => x.p50)), p99: median(bare.map((x) => x.p99)), sentP99: median(bare.map((x) => x.sentP99)), lagP99: median(bare.map((x) => x.lagP99)), loopP99: NaN, cpu: NaN };
const own = a.p99 - m.p99;
process.stdout.write(`${row('bare', m).replace(/NaN%?/g, (x) => ' '.repeat(x.length - 1) + '-')}\n${row('relay', a)}\n${b ? `${row('embedded', b)}\n` : ''}`);
process.stdout.write(`\nthe relay floor's e2e p99 is ${a.p99.toFixed(2)} ms${b ? ` (${((a.p99 / b.p99) * 100).toFixed(0)}% of the embedded cluster's ${b.p99.toFixed(2)} ms)` : ''}; the bare round trip's ${m.p99.toFixed(2)} ms (one socket, no devices: timers, ws, loopback, the machine)\n`);
process.stdout.write(`the driver adds ${own.toFixed(2)} ms to e2e p99 beyond the bare round trip (goal ≤ 2 ms)\n`);
process.stdout.write(`driver floor: ${own <= 2 ? 'within the goal' : 'OVER the goal'}\n`);
