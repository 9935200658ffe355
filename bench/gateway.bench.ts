/**
 * bench:gateway — N online devices on loopback sending 1:1 messages, with a
 * fixed number in flight per device, through (a) a bare ws relay (the
 * ceiling: forward a frame to the addressed socket, nothing else) and (b) the
 * embedded cluster's full lifecycle (auth, dedup, seq, log, inbox, ack,
 * delivery, device ack, delivered receipt). Same driver, same run, same
 * machine; each server runs in its own process. Last line:
 * `lifecycle/relay ratio: <r>`.
 */
import { Command } from 'commander';
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { TokenIssuer } from '../system/auth/tokens.ts';
import { WallClock } from '../system/clock/clock-wall.ts';
import { driveChat, driveRelay, type LoadResult } from './load-driver.ts';

const o = new Command()
  .option('--devices <n>', 'online devices', (v) => Number(v), 1000)
  .option('--inflight <n>', 'messages in flight per device', (v) => Number(v), 4)
  .option('--seconds <s>', 'measured seconds per system', (v) => Number(v), 10)
  .option('--nodes <n>', 'embedded cluster nodes', (v) => Number(v), 3)
  .parse()
  .opts<{ devices: number; inflight: number; seconds: number; nodes: number }>();

async function start(script: string, args: string[] = []): Promise<{ child: ChildProcess; urls: string[]; secret?: string }> {
  // BENCH_CPU_PROF=<dir> writes a V8 CPU profile of each server process (open it in Chrome DevTools or clinic).
  const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const child = fork(fileURLToPath(new URL(script, import.meta.url)), args, { execArgv: ['--import', 'tsx', ...prof], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const info = await new Promise<{ urls: string[]; secret?: string }>((resolve, reject) => {
    child.once('message', (m) => resolve(m as { urls: string[]; secret?: string }));
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
  return { child, ...info };
}

/** Disconnects and waits for exit, so a CPU profile gets written. */
async function stopChild(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.disconnect();
  await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

function row(name: string, r: LoadResult): string {
  return `${name.padEnd(10)} ${String(Math.round(r.msgsPerSec)).padStart(8)} ${r.p50Ms.toFixed(2).padStart(8)} ${r.p99Ms.toFixed(2).padStart(8)} ${String(r.delivered).padStart(10)} ${r.driverCpuPercent.toFixed(0).padStart(6)}% ${r.serverCpuPercent.toFixed(0).padStart(6)}%`;
}

const hardStop = setTimeout(() => {
  console.error('bench:gateway: overall time limit reached');
  process.exit(2);
}, (o.seconds * 2 + 120) * 1000);
hardStop.unref();

const children: ChildProcess[] = [];
try {
  console.log(`bench:gateway — ${o.devices} devices, ${o.inflight} in flight each, ${o.seconds}s per system, Node ${process.version}`);
  const relay = await start('./servers/relay-server.ts');
  children.push(relay.child);
  const relayResult = await driveRelay({ url: relay.urls[0]!, devices: o.devices, inflight: o.inflight, seconds: o.seconds, serverPid: relay.child.pid! });
  await stopChild(relay.child);

  const cluster = await start('./servers/cluster-server.ts', [String(o.nodes)]);
  children.push(cluster.child);
  const tokens = new TokenIssuer(cluster.secret!, new WallClock());
  const chatResult = await driveChat({ urls: cluster.urls, devices: o.devices, inflight: o.inflight, seconds: o.seconds, serverPid: cluster.child.pid!, token: (d) => tokens.issue(d, 3600_000) });
  await stopChild(cluster.child);

  console.log(`\n${'system'.padEnd(10)} ${'msgs/s'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'delivered'.padStart(10)} ${'driver'.padStart(7)} ${'server'.padStart(7)}`);
  console.log(row('relay', relayResult));
  console.log(row('lifecycle', chatResult));
  console.log(`\nlifecycle: ${chatResult.lost} owed deliveries missing at the end, ${chatResult.errors} errors ${JSON.stringify(chatResult.errorCodes ?? {})}, ${chatResult.receipts} delivered receipts`);
  console.log(`goal: lifecycle >= 35% of relay msgs/s at 1,000 devices`);
  console.log(`lifecycle/relay ratio: ${(chatResult.msgsPerSec / relayResult.msgsPerSec).toFixed(3)}`);
} finally {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
}
