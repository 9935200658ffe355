/**
 * Connections benchmark: how many concurrent connected devices one driver
 * holds against a cluster, and the memory per idle device on each side.
 * `npm run bench:connections -- --devices 18000` (embedded world) or
 * `npm run bench:connections -- --world local --devices 100000`.
 *
 * - embedded: the cluster (EmbeddedCluster, 3 nodes) runs in its own child
 *   process (bench/servers/embedded-server.ts) so its RSS is measured apart.
 * - local: the local world (redis-server, Cassandra, push, one process per
 *   chat node; bench/servers/local-server.ts) with one node per ~13,000
 *   devices; cluster RSS is the sum of the node processes, Redis and
 *   Cassandra are shown apart.
 * - The driver is spread over worker processes (bench/servers/conn-worker.ts),
 *   at most --per-worker (15,000) sockets each; each connects in batches of
 *   --batch devices and waits for every `welcome`. Beyond ~25k devices per
 *   destination the sockets are bound to 127.0.x.y source addresses.
 * - RSS is taken after a full GC (children run with --expose-gc) and a
 *   --settle-ms pause, before connecting (baseline) and once all devices are
 *   connected and idle; per-device KB = (after - before) / devices.
 *
 * Limit: a process holds at most ~19,900 sockets here (open-file hard limit
 * 20,000, cannot be raised), and the embedded cluster is one process, so it
 * tops out near 19k devices; --devices beyond that fails with a message
 * pointing at --world local, whose node processes hold ~13k sockets each.
 * Beyond 60,000 devices the driver always spreads its source addresses
 * (1,000 devices per address by default, so bind() stays cheap).
 *
 * Measured here (2 cores): `--world local --devices 100000` → 100,000 of
 * 100,000 connected in 168 s (8 node processes, 7 driver workers), all still
 * connected and idle at the end; driverKB/device=10.6 clusterKB/device=10.9.
 *
 * Everything is bounded by --timeout seconds; children are killed by PID at
 * the end and on every error. Last line: `devices=<n> driverKB/device=<x> clusterKB/device=<y>`.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError, Option } from 'commander';
import { pickNode } from '../system/worlds/placement.ts';
import { openFileLimit, type ProcStats, type ServerReport, type WorkerCommand, type WorkerReport } from './servers/ipc.ts';

const int = (min: number) => (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer >= ${min}`);
  return n;
};
/** Devices per chat node process in the local world: well inside its ~19,900 sockets. */
const NODE_SHARE = 13_000;
/** Beyond this many devices the driver binds to 127.0.x.y source addresses. */
const SPREAD_ABOVE = 60_000;
const opts = new Command('bench:connections')
  .description('concurrent idle devices against a cluster, and memory per device')
  .addOption(new Option('--world <world>', 'embedded: one cluster process; local: one process per chat node, real Redis and Cassandra').choices(['embedded', 'local']).default('embedded'))
  .option('--devices <n>', 'devices to connect', int(1), 18_000)
  .option('--nodes <n>', 'chat nodes (default: 3 embedded; local: one per 13,000 devices, at least 3)', int(1))
  .option('--per-worker <n>', 'sockets per driver worker process, at most', int(1), 15_000)
  .option('--batch <n>', 'devices connecting at once per worker', int(1), 500)
  // Small on purpose: a bind() to a source address with port 0 searches that address's ports in use, and with ~20k
  // in use a batch of binds stalls the driver for tens of seconds (its sockets then miss the gateway's pings).
  .option('--per-source <n>', 'devices per 127.0.x.y source address when spreading', int(1), 1000)
  .option('--spread', 'always bind sockets to 127.0.x.y source addresses', false)
  .option('--settle-ms <ms>', 'pause before each memory reading', int(0), 2000)
  .option('--timeout <s>', 'overall time limit, seconds (default 180 embedded, 900 local)', int(10))
  .parse()
  .opts<{ world: 'embedded' | 'local'; devices: number; nodes?: number; perWorker: number; batch: number; perSource: number; spread: boolean; settleMs: number; timeout?: number }>();
const world = opts.world;
const nodes = opts.nodes ?? (world === 'local' ? Math.max(3, Math.ceil(opts.devices / NODE_SHARE)) : 3);
const timeoutS = opts.timeout ?? (world === 'local' ? 900 : 180);

const FD_HEADROOM = 100; // listeners, stdio, IPC, tsx, push service...
const PORTS_PER_PAIR = 25_000; // ephemeral ports 32768-60999, with margin
const children: ChildProcess[] = [];
const here = (f: string): string => fileURLToPath(new URL(f, import.meta.url));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const mb = (b: number): string => `${(b / 1048576).toFixed(1)} MB`;

class BenchError extends Error {}

/** Cluster processes that stop their own servers on SIGTERM (the local world); the rest are killed. */
const graceful = new Set<ChildProcess>();

function killAll(): void {
  for (const c of children) {
    if (c.pid && c.exitCode === null && c.signalCode === null) {
      try {
        process.kill(c.pid, graceful.has(c) ? 'SIGTERM' : 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
}

/** killAll, then waits (bounded) for graceful children to stop what they started. */
async function shutdown(): Promise<void> {
  killAll();
  await Promise.all([...graceful].map((c) => c.exitCode !== null || c.signalCode !== null ? undefined : new Promise<void>((resolve) => {
    const t = setTimeout(() => {
      if (c.pid) process.kill(c.pid, 'SIGKILL');
      resolve();
    }, 45_000);
    c.once('exit', () => (clearTimeout(t), resolve()));
  })));
}

function spawn(file: string, env: Record<string, string> = {}): ChildProcess {
  const c = fork(here(file), [], { execArgv: ['--import', 'tsx', '--expose-gc'], env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.push(c);
  return c;
}

/** The next message of type `t` from child `c`; rejects on `fatal`, exit, or after `ms`. */
function next<M extends { t: string }, T extends M['t']>(c: ChildProcess, t: T, ms: number, what: string): Promise<Extract<M, { t: T }>> {
  return new Promise((resolve, reject) => {
    const done = (): void => {
      clearTimeout(timer);
      c.off('message', onMsg);
      c.off('exit', onExit);
    };
    const onMsg = (m: M): void => {
      if (m.t === 'fatal') {
        done();
        reject(new BenchError(`${what} failed: ${(m as unknown as { message: string }).message}`));
      } else if (m.t === t) {
        done();
        resolve(m as Extract<M, { t: T }>);
      }
    };
    const onExit = (code: number | null, sig: string | null): void => {
      done();
      reject(new BenchError(`${what} (pid ${c.pid}) exited (${sig ?? code}) while waiting for ${t}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new BenchError(`${what} (pid ${c.pid}) sent no ${t} within ${Math.round(ms / 1000)} s`));
    }, ms);
    c.on('message', onMsg);
    c.on('exit', onExit);
  });
}

interface Stats {
  server: Extract<ServerReport, { t: 'stats' }>;
  workers: ProcStats[];
  open: number;
  /** Driver sockets closed after their welcome, by close code. */
  closes: Record<string, number>;
  /** Longest event-loop stall of any driver worker since the previous reading, ms. */
  loopMaxMs: number;
}

async function stats(server: ChildProcess, workers: ChildProcess[]): Promise<Stats> {
  const s = next<ServerReport, 'stats'>(server, 'stats', 20_000, 'cluster');
  server.send({ cmd: 'stats' });
  const ws = workers.map((w) => {
    const p = next<WorkerReport, 'stats'>(w, 'stats', 20_000, 'driver worker');
    w.send({ cmd: 'stats' } satisfies WorkerCommand);
    return p;
  });
  const [srv, got] = await Promise.all([s, Promise.all(ws)]);
  const closes: Record<string, number> = {};
  for (const g of got) for (const [k, v] of Object.entries(g.closes)) closes[k] = (closes[k] ?? 0) + v;
  return { server: srv, workers: got.map((g) => g.stats), open: got.reduce((n, g) => n + g.open, 0), closes, loopMaxMs: Math.max(...got.map((g) => g.loopMaxMs)) };
}

const sum = (xs: ProcStats[], k: 'rss' | 'cpuUs'): number => xs.reduce((n, x) => n + x[k], 0);

async function run(): Promise<number> {
  const o = opts;
  const fdLimit = await openFileLimit();
  const capacity = fdLimit - FD_HEADROOM;
  if (world === 'embedded' && o.devices > capacity) {
    throw new BenchError(
      `--devices ${o.devices} does not fit the embedded cluster: it is one process, and one process holds at most ~${capacity} sockets here ` +
        `(open-file hard limit ${fdLimit} per process, cannot be raised). Use --devices ${Math.floor(capacity / 1000) * 1000} or less; ` +
        `100,000 devices need the local world's node processes.`,
    );
  }
  const t0 = performance.now();
  const embeddedSecret = randomBytes(24).toString('base64url');
  const server = world === 'local'
    ? spawn('./servers/local-server.ts', { BENCH_NODES: String(nodes) })
    : spawn('./servers/embedded-server.ts', { BENCH_NODES: String(nodes), BENCH_SEED: '1', BENCH_SECRET: embeddedSecret });
  if (world === 'local') graceful.add(server);
  const ready = await next<ServerReport, 'ready'>(server, 'ready', world === 'local' ? 240_000 : 30_000, 'cluster');
  const secret = ready.secret ?? embeddedSecret;
  const room = ready.socketRoom ?? ready.fdLimit - ready.openFds - 20;
  if (o.devices > room) {
    throw new BenchError(world === 'local'
      ? `--devices ${o.devices} does not fit ${nodes} node processes (room for ~${room} sockets); use --nodes ${Math.ceil(o.devices / NODE_SHARE)} or more`
      : `--devices ${o.devices} does not fit: the cluster process has ${ready.openFds} files open of its limit ${ready.fdLimit}, room for ~${room} sockets; use --world local for more.`);
  }

  const nWorkers = Math.ceil(o.devices / o.perWorker);
  const share = Math.ceil(o.devices / nWorkers);
  const perUrl = new Map<string, number>();
  for (let i = 1; i <= o.devices; i++) {
    const u = pickNode(`u${i}.1`, ready.urls);
    perUrl.set(u, (perUrl.get(u) ?? 0) + 1);
  }
  const spread = o.spread || o.devices > SPREAD_ABOVE || Math.max(...perUrl.values()) > PORTS_PER_PAIR;
  const workers = Array.from({ length: nWorkers }, () => spawn('./servers/conn-worker.ts'));
  await Promise.all(workers.map((w) => next<WorkerReport, 'ready'>(w, 'ready', 30_000, 'driver worker')));
  console.error(`${world} cluster pid ${ready.pid}${ready.pids ? ` (node pids ${ready.pids.join(',')})` : ''}${ready.logs ? `, logs in ${ready.logs}` : ''}: ${ready.urls.length} nodes; ${nWorkers} driver worker(s) pids ${workers.map((w) => w.pid).join(',')}; ${spread ? 'spreading source addresses' : 'source 127.0.0.1'}`);

  await sleep(o.settleMs);
  const before = await stats(server, workers);

  const tc = performance.now();
  const done = workers.map((w, k) => {
    const first = 1 + k * share;
    const count = Math.min(share, o.devices - k * share);
    const p = next<WorkerReport, 'done'>(w, 'done', timeoutS * 1000, 'driver worker');
    w.send({ cmd: 'connect', first, count, urls: ready.urls, secret, batch: o.batch, batchTimeoutMs: 30_000, spreadSources: spread, perSource: o.perSource } satisfies WorkerCommand);
    return p;
  });
  const progress = new Array<{ connected: number; open: number }>(nWorkers).fill({ connected: 0, open: 0 });
  workers.forEach((w, k) => w.on('message', (m: WorkerReport) => void (m.t === 'progress' && (progress[k] = m))));
  const total = (k: 'connected' | 'open'): number => progress.reduce((a, p) => a + p[k], 0);
  const ticker = setInterval(() => console.error(`  connected ${total('connected')} / ${o.devices}, open ${total('open')} (${((performance.now() - tc) / 1000).toFixed(1)} s)`), 2000);
  const results = await Promise.all(done).finally(() => clearInterval(ticker));
  const connectMs = performance.now() - tc;
  const mid = await stats(server, workers);

  await sleep(o.settleMs);
  const after = await stats(server, workers);
  const connected = results.reduce((n, r) => n + r.connected, 0);
  const failed = results.reduce((n, r) => n + r.failed, 0);

  const cl = { before: before.server.stats.rss, after: after.server.stats.rss };
  const dr = { before: sum(before.workers, 'rss'), after: sum(after.workers, 'rss') };
  // What counts is what is still connected, idle, at the end — on both sides.
  const held = Math.min(connected, after.open, after.server.connections);
  const per = (d: { before: number; after: number }): number => (held > 0 ? (d.after - d.before) / held / 1024 : 0);
  const cpu = (a: number, b: number): string => `${((b - a) / 1e6).toFixed(1)} s (${(((b - a) / 1e3 / connectMs) * 100).toFixed(0)}% of a core)`;
  const row = (k: string, a: string, b: string): string => `${k.padEnd(22)}${a.padEnd(26)}${b}`;
  console.log('');
  console.log(`devices ${connected} of ${o.devices} connected in ${(connectMs / 1000).toFixed(1)} s (${Math.round(connected / (connectMs / 1000))}/s), batches of ${o.batch}, ${ready.urls.length} nodes`);
  console.log(`open at the end: cluster ${after.server.connections} sockets, driver ${after.open}`);
  console.log(row('', `cluster (pid ${ready.pid})`, `driver (${nWorkers} worker${nWorkers > 1 ? 's' : ''})`));
  console.log(row('RSS before', mb(cl.before), mb(dr.before)));
  console.log(row('RSS after (idle)', mb(cl.after), mb(dr.after)));
  console.log(row('KB per device', per(cl).toFixed(1), per(dr).toFixed(1)));
  for (const [name, st] of Object.entries(after.server.extra ?? {})) {
    const b = before.server.extra?.[name]?.rss ?? 0;
    const kb = held > 0 ? ((st.rss - b) / held / 1024).toFixed(1) : '0';
    console.log(row(`  ${name}`, `${mb(b)} -> ${mb(st.rss)}, ${kb} KB/device${st.inCluster ? '' : ' (not counted)'}`, ''));
  }
  console.log(row('CPU while connecting', cpu(before.server.stats.cpuUs, mid.server.stats.cpuUs), cpu(sum(before.workers, 'cpuUs'), sum(mid.workers, 'cpuUs'))));
  console.log(`total run ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  let rc = 0;
  if (failed > 0 || connected < o.devices) {
    rc = 1;
    const errs = new Map<string, number>();
    for (const r of results) for (const [k, v] of Object.entries(r.errors)) errs.set(k, (errs.get(k) ?? 0) + v);
    const tried = [...errs.values()].reduce((a, b) => a + b, 0);
    const untried = o.devices - connected - tried > 0 ? `, ${o.devices - connected - tried} not attempted` : '';
    console.error(`FAILED: ${o.devices - connected} devices did not connect: ${[...errs].map(([k, v]) => `${k} x${v}`).join(', ')}${untried}`);
    for (const r of results) if (r.fatal) console.error(`  ${r.fatal}`);
    if (after.server.acceptError) console.error(`  cluster: ${after.server.acceptError}`);
  }
  if (after.server.connections < connected || after.open < connected) {
    const codes = Object.entries(after.closes).map(([k, v]) => `${k} x${v}`).join(', ');
    console.error(`FAILED: the cluster holds ${after.server.connections} sockets and the driver ${after.open}, fewer than the ${connected} devices welcomed; closed after welcome: ${codes || 'none seen by the driver'} (driver event loop stalled up to ${Math.max(mid.loopMaxMs, after.loopMaxMs).toFixed(0)} ms)`);
    rc = 1;
  }
  console.log(`devices=${held} driverKB/device=${per(dr).toFixed(1)} clusterKB/device=${per(cl).toFixed(1)}`);
  return rc;
}

const overall = setTimeout(() => {
  console.error(`bench:connections: timed out after ${timeoutS} s; stopping children`);
  void shutdown().finally(() => process.exit(3));
}, timeoutS * 1000);
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    void shutdown().finally(() => process.exit(130));
  });
}

run()
  .then((rc) => {
    process.exitCode = rc;
  })
  .catch((err: unknown) => {
    console.error(err instanceof BenchError ? `bench:connections: ${err.message}` : err);
    process.exitCode = 2;
  })
  .finally(async () => {
    clearTimeout(overall);
    await shutdown();
  });
