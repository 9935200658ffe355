/**
 * bench:gateway — N online devices on loopback sending 1:1 messages, with a
 * fixed number in flight per device, through
 *   relay:    a bare ws relay (the ceiling: forward a frame to the addressed socket, nothing else),
 *   embedded: the embedded cluster's full lifecycle (auth, dedup, seq, log,
 *             inbox, ack, delivery, device ack, delivered receipt) on memory adapters,
 *   local:    the same lifecycle in node processes over real Redis and Cassandra
 *             (`--worlds relay,embedded,local`, or `npm run bench:local`).
 * Same driver, same run, same machine; each server runs in its own process(es).
 * With `local`, it then times each port operation against the same Redis and
 * Cassandra (one at a time and 64 at once) to show where the time goes.
 * Relay and embedded alternate for `--rounds` rounds (default 3) so both see
 * the same machine, and each figure is the median of its rounds: on a shared
 * 2-core host one 8 s run of either moves by ±20%.
 * Last line: `lifecycle/relay ratio: <r>` (median embedded msgs/s over median relay msgs/s).
 */
import { Command } from 'commander';
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TokenIssuer } from '../system/auth/tokens.ts';
import { WallClock } from '../system/clock/clock-wall.ts';
import { LocalWorld } from '../system/worlds/local.ts';
import { driveChat, driveRelay, type LoadResult } from './load-driver.ts';
import { timePorts } from './port-timings.ts';

const o = new Command()
  .option('--devices <n>', 'online devices', (v) => Number(v), 1000)
  .option('--inflight <n>', 'messages in flight per device', (v) => Number(v), 4)
  .option('--seconds <s>', 'measured seconds per system', (v) => Number(v), 10)
  .option('--nodes <n>', 'chat nodes', (v) => Number(v), 3)
  .option('--rounds <n>', 'alternating relay/embedded rounds; figures are medians', (v) => Number(v), 3)
  .option('--worlds <list>', 'systems to measure: relay, embedded, local', 'relay,embedded')
  .option('--local-devices <n>', 'devices for the local world (Cassandra-bound: fewer)', (v) => Number(v), 200)
  .option('--local-inflight <n>', 'in flight per device in the local world', (v) => Number(v), 2)
  .parse()
  .opts<{ devices: number; inflight: number; seconds: number; nodes: number; rounds: number; worlds: string; localDevices: number; localInflight: number }>();
if (!Number.isInteger(o.rounds) || o.rounds < 1) throw new Error('--rounds must be an integer >= 1');
const worlds = new Set(o.worlds.split(',').map((w) => w.trim()));
for (const w of worlds) if (!['relay', 'embedded', 'local'].includes(w)) throw new Error(`--worlds: unknown system "${w}"`);

/**
 * Both servers run with a 64 MB young generation (Node's default is 16 MB), as
 * a chat server would be deployed: the lifecycle keeps thousands of messages
 * in flight for a round trip to the device, and with the default most of them
 * are still alive at each scavenge, so the collector copies them again and again.
 */
const SERVER_HEAP = ['--max-semi-space-size=64'];

async function start(script: string, args: string[] = []): Promise<{ child: ChildProcess; urls: string[]; secret?: string }> {
  // BENCH_CPU_PROF=<dir> writes a V8 CPU profile of each server process (open it in Chrome DevTools or clinic).
  const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const child = fork(fileURLToPath(new URL(script, import.meta.url)), args, { execArgv: ['--import', 'tsx', ...SERVER_HEAP, ...prof], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
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

/** The run with the median msgs/s (the lower middle one for an even count): its other figures come with it. */
function median(runs: LoadResult[]): LoadResult {
  const sorted = [...runs].sort((a, b) => a.msgsPerSec - b.msgsPerSec);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

function row(name: string, r: LoadResult): string {
  return `${name.padEnd(10)} ${String(Math.round(r.msgsPerSec)).padStart(8)} ${r.p50Ms.toFixed(2).padStart(8)} ${r.p99Ms.toFixed(2).padStart(8)} ${String(r.delivered).padStart(10)} ${r.driverCpuPercent.toFixed(0).padStart(6)}% ${r.serverCpuPercent.toFixed(0).padStart(6)}%`;
}

const hardStop = setTimeout(() => {
  console.error('bench:gateway: overall time limit reached');
  process.exit(2);
}, (o.seconds * (2 * o.rounds + 1) + 120 * o.rounds + 300) * 1000);
hardStop.unref();

const results = new Map<string, LoadResult>();
const children: ChildProcess[] = [];
let local: LocalWorld | undefined;
try {
  console.log(`bench:gateway — ${o.devices} devices, ${o.inflight} in flight each, ${o.seconds}s per system, ${o.nodes} nodes, Node ${process.version}`);
  const rounds: { relay?: LoadResult; embedded?: LoadResult }[] = [];
  for (let round = 0; round < o.rounds; round++) {
    const r: { relay?: LoadResult; embedded?: LoadResult } = {};
    if (worlds.has('relay')) {
      const relay = await start('./servers/relay-server.ts');
      children.push(relay.child);
      r.relay = await driveRelay({ url: relay.urls[0]!, devices: o.devices, inflight: o.inflight, seconds: o.seconds, serverPids: [relay.child.pid!] });
      await stopChild(relay.child);
    }
    if (worlds.has('embedded')) {
      const cluster = await start('./servers/cluster-server.ts', [String(o.nodes)]);
      children.push(cluster.child);
      const tokens = new TokenIssuer(cluster.secret!, new WallClock());
      r.embedded = await driveChat({ urls: cluster.urls, devices: o.devices, inflight: o.inflight, seconds: o.seconds, serverPids: [cluster.child.pid!], token: (d) => tokens.issue(d, 3600_000) });
      await stopChild(cluster.child);
    }
    rounds.push(r);
  }
  for (const name of ['relay', 'embedded'] as const) {
    const runs = rounds.map((r) => r[name]).filter((r): r is LoadResult => r !== undefined);
    if (runs.length > 0) results.set(name, median(runs));
  }
  if (worlds.has('local')) {
    local = await LocalWorld.start({ nodes: o.nodes, dir: mkdtempSync(join(tmpdir(), 'bench-local-')) });
    const tokens = new TokenIssuer(local.secret, new WallClock());
    results.set('local', await driveChat({
      urls: local.nodes.map((n) => n.url), devices: o.localDevices, inflight: o.localInflight, seconds: o.seconds,
      serverPids: local.nodes.map((n) => n.proc.pid), token: (d) => tokens.issue(d, 3600_000),
    }));
  }

  if (o.rounds > 1) {
    console.log(`\nrounds (relay and embedded alternating):`);
    rounds.forEach((r, i) => {
      if (r.relay) console.log(row(`relay#${i + 1}`, r.relay));
      if (r.embedded) console.log(row(`embed#${i + 1}`, r.embedded));
    });
    console.log(`medians:`);
  }
  console.log(`\n${'system'.padEnd(10)} ${'msgs/s'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'delivered'.padStart(10)} ${'driver'.padStart(7)} ${'server'.padStart(7)}`);
  for (const [name, r] of results) console.log(row(name, r));
  for (const [name, r] of results) {
    if (name === 'embedded') {
      const all = rounds.map((x) => x.embedded!);
      const sum = (f: (x: LoadResult) => number) => all.reduce((n, x) => n + f(x), 0);
      console.log(`${name} (all ${all.length} rounds): ${sum((x) => x.lost)} owed deliveries missing at the end, ${sum((x) => x.errors)} errors, ${sum((x) => x.receipts)} delivered receipts`);
    } else if (name !== 'relay') {
      console.log(`${name}: ${r.lost} owed deliveries missing at the end, ${r.errors} errors ${JSON.stringify(r.errorCodes ?? {})}, ${r.receipts} delivered receipts`);
    }
  }
  const e = results.get('embedded');
  const l = results.get('local');
  if (e && l) {
    console.log(`\nlocal/embedded: msgs/s ${(l.msgsPerSec / e.msgsPerSec).toFixed(3)} (local ran ${o.localDevices} devices x ${o.localInflight} in flight), p50 ${(l.p50Ms / e.p50Ms).toFixed(1)}x, p99 ${(l.p99Ms / e.p99Ms).toFixed(1)}x`);
  }
  if (local) {
    console.log('\nwhere the time goes: each port operation against the same Redis and Cassandra');
    for (const line of await timePorts(local.redisUrl, local.cassandra)) console.log(line);
  }
  const relay = results.get('relay');
  if (relay && e) {
    console.log(`\ngoal: lifecycle >= 35% of relay msgs/s at 1,000 devices`);
    if (o.rounds > 1) console.log(`per round: ${rounds.map((r) => (r.embedded && r.relay ? (r.embedded.msgsPerSec / r.relay.msgsPerSec).toFixed(3) : '-')).join(' ')}`);
    console.log(`lifecycle/relay ratio: ${(e.msgsPerSec / relay.msgsPerSec).toFixed(3)}`);
  }
} finally {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await local?.stop();
}
