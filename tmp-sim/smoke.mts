import { runSim } from '../scenarios/engine/sim.ts';
const t = performance.now();
const { report } = await runSim({ scenario: process.argv[2] ?? 'steady-chat', overrides: { devices: Number(process.argv[3] ?? 200), duration: process.argv[4] ?? '5s', rate: Number(process.argv[5] ?? 100) }, seed: 1, outDir: '/tmp/simt/out' });
console.log(JSON.stringify({ messages: report.messages, delivery: { ...report.delivery }, e2e: report.latency.e2eMs, ack: report.latency.ackMs, paths: Object.fromEntries(Object.entries(report.paths).map(([k, v]) => [k, [v.expected, v.delivered, v.lost]])), errors: report.errors, meta: report.meta.sim, wall: report.meta.wall, th: report.thresholds, receipts: report.latency.receiptMs }, null, 1));
console.log('wall', performance.now() - t);
