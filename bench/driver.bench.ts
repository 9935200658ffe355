/**
 * bench:driver — what the load driver itself adds to the latencies it
 * reports: `npm run bench:driver -- [--devices 1000] [--rate 2000] [--duration 15s] [--rounds 3] [--workers n] [--targets relay,embedded] [--witness-rate 100]`.
 *
 * The same scenario run (steady-chat at `--rate` with `--devices`, the
 * driver's workers exactly as `chatlab run` starts them) against two
 * targets, alternating for `--rounds` rounds so both see the same machine:
 *
 *   relay:    bench/servers/protocol-relay.ts — speaks the protocol, stores
 *             nothing, costs next to nothing per frame: what is measured
 *             against it is the driver's (its workers' event loops, its
 *             timers), the loopback path's and the machine's. The floor.
 *   embedded: the embedded cluster in its own process (the full lifecycle).
 *
 * Beside each run, over the same seconds, the engine's witness
 * (`chatlab run --witness`, scenarios/engine/live/witness.ts): a few devices in a process of their own on the driver's CPU
 * (at nice -20 where allowed), sending `--witness-rate` msgs/s through the
 * same target and stamping each message as soon as the machine lets them.
 * The driver's own share of a run's e2e p99 is that p99 beyond its
 * witness's, taken within the run (both saw the same machine, whose speed
 * varies from one run to the next), the median over the rounds. The witness
 * shares the driver's CPU, so that share is a lower bound.
 *
 * Before them in each round, the machine's own floor (bench/servers/
 * bare-round-trip.ts): one WebSocket, the same rate scheduled the same way,
 * echoed by a bare server on CPU 0 from a client on the driver's CPU. No
 * devices and no protocol: Node's millisecond timers (a send fires up to
 * ~1.5 ms after its time on an idle loop), ws, loopback and this machine's
 * scheduling.
 *
 * Both servers are pinned to CPU 0 and the driver's workers to CPU 1, so
 * the driver's time is not a share of the cluster's core. Prints, per
 * target and for its witness, the medians over the rounds of e2e p50/p99
 * (from the intended send and from the actual send), the send lag p99, the
 * workers' event-loop p99 and CPU (each round's line also the workers' GC pauses);
 * then the driver's share. Goal on a
 * 2-core machine: at 2,000 msgs/s with 1,000 devices, the driver adds
 * ≤ 2 ms to the relay run's e2e p99.
 *
 * The relay keeps nothing for a device that is not connected: the 5% of
 * devices steady-chat backgrounds miss what is sent to them there, so the
 * relay's delivery figures are not a finding, only its latencies.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Report, WitnessStats } from '../reports/report.ts';
import { cpusBesideFirst, pinToCpus } from '../scenarios/engine/live/affinity.ts';
import { runLive } from '../scenarios/engine/live/live.ts';
import { witnessDevices } from '../scenarios/engine/live/witness.ts';
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
    'witness-rate': { type: 'string', default: '100' },
    targets: { type: 'string', default: 'relay,embedded' },
  },
});
const targets = values.targets!.split(',').map((t) => t.trim());
for (const t of targets) if (t !== 'relay' && t !== 'embedded') throw new Error(`--targets: unknown target "${t}" (relay, embedded)`);
if (!targets.includes('relay')) throw new Error('--targets must include relay: it is the floor');
const workers = values.workers === undefined ? undefined : Number(values.workers);
const witnessRate = Number(values['witness-rate']);
if (!(witnessRate > 0)) throw new Error('--witness-rate must be a number of msgs/s above 0');
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

/** A run of the load against a target, with the engine's witness beside it (`chatlab run --witness`). */
async function measure(name: string, start: () => Promise<Target>, seed: number): Promise<Report> {
  const t = await start();
  try {
    if (pinned) pinToCpus(t.pid, '0');
    const { report } = await runLive({
      scenario: 'steady-chat', world: 'embedded', target: t.urls.join(','), secret: t.secret, overrides, seed,
      outDir: mkdtempSync(join(tmpdir(), `chatlab-driver-${name}-`)), progress: false, log: () => {}, driverCpus, workers, witness: witnessRate,
    });
    return report;
  } finally {
    await t.stop();
  }
}

const figures = (r: Report, w: WitnessStats) => ({
  p50: r.latency.e2eMs.p50, p99: r.latency.e2eMs.p99, sentP99: r.latency.e2eSendMs.p99, lagP99: r.latency.sendLagMs.p99,
  loopP99: r.driver?.eventLoopP99Ms ?? NaN, cpu: r.driver?.cpuPercent ?? NaN, gcCount: r.driver?.gcPauses?.count ?? NaN, gcMeanMs: r.driver?.gcPauses?.meanMs ?? NaN,
  witnessP50: w.p50Ms ?? NaN, witnessP99: w.p99Ms ?? NaN, witnessSentP99: w.sentP99Ms ?? NaN, witnessLagP99: w.lagP99Ms ?? NaN,
});
type Fig = ReturnType<typeof figures>;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 === 1 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
};
const runs: Record<'relay' | 'embedded', Fig[]> = { relay: [], embedded: [] };
const bare: BareFigures[] = [];
log(`bench:driver: steady-chat, ${overrides.devices} devices, ${overrides.rate} msgs/s for ${overrides.duration}, ${rounds} rounds, a witness at ${witnessRate} msgs/s beside each run; ${pinned ? `servers on CPU 0, driver and witness on CPU ${driverCpus}` : 'one CPU: servers and driver share it'}`);
for (let i = 0; i < rounds; i++) {
  const m = await startBareRoundTrip(overrides.rate, parseDuration(overrides.duration), pinned ? '0' : undefined, driverCpus);
  bare.push(m);
  log(`round ${i + 1} bare round trip: p50 ${m.p50.toFixed(2)} p99 ${m.p99.toFixed(2)} ms (from actual send p99 ${m.sentP99.toFixed(2)}), send lag p99 ${m.lagP99.toFixed(2)} (${m.messages} messages, one socket)`);
  for (const [name, start] of ([['relay', relay], ['embedded', embedded]] as const).filter(([n]) => targets.includes(n))) {
    const report = await measure(name, start, Number(values.seed));
    const witness = report.driver?.witness;
    if (!witness || witness.messages === 0) throw new Error(`${name}: the run has no witness figures`);
    const f = figures(report, witness);
    runs[name].push(f);
    log(`round ${i + 1} ${name}: e2e p50 ${f.p50.toFixed(2)} p99 ${f.p99.toFixed(2)} ms (from actual send p99 ${f.sentP99.toFixed(2)}), send lag p99 ${f.lagP99.toFixed(2)}, worker loop p99 ${f.loopP99.toFixed(2)} ms, driver CPU ${f.cpu.toFixed(0)}%, worker GC pauses ${f.gcCount} of ${f.gcMeanMs.toFixed(2)} ms mean; witness p50 ${f.witnessP50.toFixed(2)} p99 ${f.witnessP99.toFixed(2)} ms (${witness.messages} messages${witness.missing > 0 ? `, ${witness.missing} missing` : ''}${witness.gcPauses && witness.gcPauses.count > 0 ? `; its own GC paused ${witness.gcPauses.count} times, ${witness.gcPauses.totalMs.toFixed(1)} ms` : ''})`);
  }
}
const med = (name: 'relay' | 'embedded') => {
  const r = runs[name];
  return Object.fromEntries((Object.keys(r[0]!) as (keyof Fig)[]).map((k) => [k, median(r.map((x) => x[k]))])) as Fig;
};
const a = med('relay');
const b = runs.embedded.length > 0 ? med('embedded') : undefined;
type Row = { p50: number; p99: number; sentP99: number; lagP99: number; loopP99: number; cpu: number };
const row = (n: string, f: Row) =>
  `${n.padEnd(18)}${f.p50.toFixed(2).padStart(9)}${f.p99.toFixed(2).padStart(9)}${f.sentP99.toFixed(2).padStart(12)}${f.lagP99.toFixed(2).padStart(10)}${f.loopP99.toFixed(2).padStart(11)}${`${f.cpu.toFixed(0)}%`.padStart(9)}`.replace(/NaN%?/g, (x) => ' '.repeat(x.length - 1) + '-');
const witnessRow = (f: Fig): Row => ({ p50: f.witnessP50, p99: f.witnessP99, sentP99: f.witnessSentP99, lagP99: f.witnessLagP99, loopP99: NaN, cpu: NaN });
process.stdout.write(`\nmedians of ${rounds} rounds; ${overrides.devices} devices, ${overrides.rate} msgs/s, ${overrides.duration}; the witness: ${witnessDevices(witnessRate)} devices at ${witnessRate} msgs/s through the same target, in the same run, at nice -20 where allowed\n`);
process.stdout.write(`${'target'.padEnd(18)}${'e2e p50'.padStart(9)}${'e2e p99'.padStart(9)}${'p99 (sent)'.padStart(12)}${'lag p99'.padStart(10)}${'loop p99'.padStart(11)}${'drv CPU'.padStart(9)}\n`);
const m = { p50: median(bare.map((x) => x.p50)), p99: median(bare.map((x) => x.p99)), sentP99: median(bare.map((x) => x.sentP99)), lagP99: median(bare.map((x) => x.lagP99)), loopP99: NaN, cpu: NaN };
// Per round, then the median: the driver's share is taken within a run, where both saw the same machine.
const shares = (name: 'relay' | 'embedded') => runs[name].map((f) => f.p99 - f.witnessP99);
const own = median(shares('relay'));
process.stdout.write(`${row('bare', m)}\n${row('relay', a)}\n${row('  witness (relay)', witnessRow(a))}\n${b ? `${row('embedded', b)}\n${row('  witness (emb.)', witnessRow(b))}\n` : ''}`);
process.stdout.write(`\nthe relay floor's e2e p99 is ${a.p99.toFixed(2)} ms${b ? ` (${((a.p99 / b.p99) * 100).toFixed(0)}% of the embedded cluster's ${b.p99.toFixed(2)} ms)` : ''}; the bare round trip's ${m.p99.toFixed(2)} ms (one socket, no devices: timers, ws, loopback, the machine)\n`);
const rounds2 = (name: 'relay' | 'embedded') => shares(name).map((x) => x.toFixed(2)).join(', ');
process.stdout.write(`the driver adds ${own.toFixed(2)} ms to the relay run's e2e p99 beyond its witness's (the median of the same-run differences ${rounds2('relay')}; goal ≤ 2 ms)\n`);
if (b) {
  const e = median(shares('embedded'));
  process.stdout.write(e > 0
    ? `against the embedded cluster, ${e.toFixed(2)} ms (the same-run differences ${rounds2('embedded')})\n`
    : `against the embedded cluster, no share to measure: the witness's p99 was as high or higher (the same-run differences ${rounds2('embedded')}); the cluster sets that tail\n`);
}
process.stdout.write(`the relay run's e2e p99 is ${(a.p99 - m.p99).toFixed(2)} ms beyond the bare round trip's, its witness's ${(a.witnessP99 - m.p99).toFixed(2)} ms (the relay's own work and the load on the machine)\n`);
process.stdout.write(`driver floor: ${own <= 2 ? 'within the goal' : 'OVER the goal'}\n`);
