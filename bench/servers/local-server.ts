/**
 * The local world (redis-server, Apache Cassandra, push service and N chat
 * node processes) started from a process of its own, for the connections
 * benchmark beyond one process's socket limit. Forked by the benchmark;
 * configured by env: BENCH_NODES (default 8), BENCH_DIR (logs and data).
 * Reports `ready` with the node URLs, the token secret and the node pids;
 * answers `stats` with the summed RSS and CPU of the node processes (after a
 * full GC: they run with --expose-gc and collect on SIGUSR2) and redis-server
 * (registry and presence keys per device), with Cassandra shown apart. Stops the world when the parent goes away.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { LocalWorld } from '../../system/worlds/local.ts';
import { cpuSeconds, openFileLimit, type ProcStats, type ServerCommand, type ServerReport } from './ipc.ts';

function report(msg: ServerReport): void {
  process.send?.(msg);
}

/** RSS and CPU of another process from /proc (zeros when it is gone). */
function procOf(pid: number): ProcStats {
  try {
    const statm = readFileSync(`/proc/${pid}/statm`, 'latin1').split(' ');
    return { pid, rss: Number(statm[1]) * 4096, heapUsed: 0, cpuUs: cpuSeconds(pid) * 1e6 };
  } catch {
    return { pid, rss: 0, heapUsed: 0, cpuUs: 0 };
  }
}

function total(pids: number[]): ProcStats {
  const all = pids.map(procOf);
  return { pid: pids[0] ?? -1, rss: all.reduce((n, s) => n + s.rss, 0), heapUsed: 0, cpuUs: all.reduce((n, s) => n + s.cpuUs, 0) };
}

async function connections(urls: string[]): Promise<number> {
  const counts = await Promise.all(urls.map(async (url) => {
    try {
      const res = await fetch(url.replace(/^ws:/, 'http:').replace(/\/ws$/, '/health'), { signal: AbortSignal.timeout(10_000) });
      return ((await res.json()) as { connections?: number }).connections ?? 0;
    } catch {
      return 0; // a node that does not answer counts as 0
    }
  }));
  return counts.reduce((a, b) => a + b, 0);
}

async function main(): Promise<void> {
  if (!process.send) throw new Error('local-server must be forked with an IPC channel');
  const nodes = Number(process.env.BENCH_NODES ?? 8);
  const dir = process.env.BENCH_DIR ?? join(tmpdir(), `chatlab-bench-local-${process.pid}`);
  const world = await LocalWorld.start({ nodes, dir, nodeArgs: ['--expose-gc'] });
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    const hard = setTimeout(() => process.exit(0), 30_000);
    hard.unref();
    void world.stop().finally(() => process.exit(0));
  };
  const nodePids = (): number[] => world.nodes.map((n) => n.proc.pid);
  const urls = world.nodes.map((_, i) => world.deviceUrl(i));
  process.on('message', (m: ServerCommand) => {
    if (m.cmd === 'stop') return stop();
    if (m.cmd !== 'stats') return;
    for (const pid of nodePids()) {
      try {
        process.kill(pid, 'SIGUSR2');
      } catch {
        /* gone */
      }
    }
    // Give the nodes a moment to collect before reading their RSS.
    setTimeout(() => {
      void connections(urls).then((n) => {
        const redisPid = world.redis?.pid ?? -1;
        const extra = {
          'chat nodes': { ...total(nodePids()), inCluster: true },
          'redis-server': { ...procOf(redisPid), inCluster: true },
          // The JVM's heap is sized up front and idle devices keep no state in it.
          cassandra: { ...procOf(world.cassandraServer?.pid ?? -1), inCluster: false },
        };
        report({ t: 'stats', stats: total([...nodePids(), redisPid]), connections: n, extra });
      });
    }, 500);
  });
  process.on('disconnect', stop);
  process.on('SIGTERM', stop);
  const fdLimit = await openFileLimit();
  report({ t: 'ready', urls, pid: process.pid, fdLimit, openFds: 0, secret: world.secret, pids: nodePids(), socketRoom: nodes * (fdLimit - 200), logs: dir });
}

main().catch((err: Error) => {
  report({ t: 'fatal', message: err.stack ?? err.message });
  setTimeout(() => process.exit(1), 100);
});
