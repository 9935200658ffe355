/**
 * Sim world at scale: `npm run bench:sim -- [--devices N] [--duration 1h] [--nodes N] [--scenario steady-chat] [--seed S]`.
 * Default: 1,000,000 devices of steady-chat for one simulated hour, each
 * device sending a message every 5 minutes on average (rate = devices / 300
 * per second), receipts on. Prints progress, the report summary, and as its
 * last line: devices=<n> simSeconds=<s> wallSeconds=<w> events/s=<e> rssGB=<g>
 */
import { parseArgs } from 'node:util';
import { runSim } from '../scenarios/engine/sim.ts';
import { parseDuration } from '../scenarios/duration.ts';

const { values } = parseArgs({
  options: {
    devices: { type: 'string', default: '1000000' },
    duration: { type: 'string', default: '1h' },
    nodes: { type: 'string' },
    scenario: { type: 'string', default: 'steady-chat' },
    seed: { type: 'string', default: '1' },
    'per-device-interval': { type: 'string', default: '5m' },
    'heartbeat-ms': { type: 'string', default: '10000' },
    out: { type: 'string' },
  },
});
const devices = Number(values.devices);
if (!Number.isInteger(devices) || devices < 2) throw new Error('--devices must be an integer >= 2');
const nodes = values.nodes ? Number(values.nodes) : Math.max(3, Math.ceil(devices / 100_000));
const rate = devices / (parseDuration(values['per-device-interval']!) / 1000);
let peakRss = 0;
const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 1000);
const wall0 = performance.now();
const { report } = await runSim({
  scenario: values.scenario!,
  overrides: values.scenario === 'steady-chat' ? { devices, duration: values.duration, rate, nodes } : { devices, duration: values.duration, nodes },
  seed: Number(values.seed),
  outDir: values.out,
  node: { heartbeatIntervalMs: Number(values['heartbeat-ms']) },
});
clearInterval(rssTimer);
peakRss = Math.max(peakRss, process.memoryUsage().rss);
const wallSeconds = (performance.now() - wall0) / 1000;
const sim = report.meta.sim as { events: number; virtualMs: number };
const d = report.delivery;
process.stdout.write(`${report.scenario}: sent ${report.messages.sent}, acked ${report.messages.acked}, delivered ${d.delivered}/${d.expected}, lost ${d.lost}, e2e p50 ${report.latency.e2eMs.p50} ms p99 ${report.latency.e2eMs.p99} ms, receipts ${report.latency.receiptMs.delivered.count}+${report.latency.receiptMs.read.count}\n`);
process.stdout.write(`devices=${devices} simSeconds=${(sim.virtualMs / 1000).toFixed(0)} wallSeconds=${wallSeconds.toFixed(0)} events/s=${Math.round(sim.events / wallSeconds)} rssGB=${(peakRss / 2 ** 30).toFixed(2)}\n`);
