/**
 * The embedded cluster in a process of its own, for benchmarks that measure
 * the cluster's memory apart from the driver's. Forked by the benchmark with
 * `execArgv: ['--import', 'tsx', '--expose-gc']`; configured by env:
 * BENCH_NODES (default 3), BENCH_SEED (default 1), BENCH_SECRET (the token
 * secret the driver mints with). Reports `ready` with its node URLs over IPC
 * and answers `stats` (RSS after GC, CPU, connections). Exits when the parent
 * goes away. An exception or rejection that escapes is reported on stderr
 * (crash-report.ts) and still ends the process. `errors` answers with every
 * error frame the nodes sent so far, by code, and how many were retryable
 * and carried `retryAfterMs` (read off the wire, gateway.send).
 */
import { EmbeddedCluster } from '../../system/worlds/embedded.ts';
import { reportEscapes } from './crash-report.ts';
import { openFds, openFileLimit, procStats, type ErrorTally, type ServerCommand, type ServerReport } from './ipc.ts';

function report(msg: ServerReport): void {
  process.send?.(msg);
}

async function connections(cluster: EmbeddedCluster): Promise<number> {
  let total = 0;
  for (const url of cluster.urls()) {
    try {
      const res = await fetch(url.replace(/^ws:/, 'http:').replace(/\/ws$/, '/health'), { signal: AbortSignal.timeout(5000) });
      total += ((await res.json()) as { connections?: number }).connections ?? 0;
    } catch {
      /* a node that does not answer counts as 0 */
    }
  }
  return total;
}

async function main(): Promise<void> {
  reportEscapes();
  if (!process.send) throw new Error('embedded-server must be forked with an IPC channel');
  const secret = process.env.BENCH_SECRET;
  const cluster = await EmbeddedCluster.start({
    nodes: Number(process.env.BENCH_NODES ?? 3),
    seed: Number(process.env.BENCH_SEED ?? 1),
    ...(secret ? { secret } : {}),
  });
  const errors = tapErrors(cluster);
  process.on('message', (m: ServerCommand) => {
    if (m.cmd === 'errors') report({ t: 'errors', byCode: errors });
    else if (m.cmd === 'inbox-has') {
      cluster.ports.inbox.has(m.device, m.ids).then(
        (held) => report({ t: 'inbox-has', req: m.req, held }),
        (err: Error) => report({ t: 'inbox-has', req: m.req, error: err.message }),
      );
    }
    else if (m.cmd === 'stats') {
      void connections(cluster).then((n) => {
        const acceptError = cluster.nodes.map((x) => x.gateway.lastAcceptError).find((e) => e);
        report({ t: 'stats', stats: procStats(), connections: n, ...(acceptError ? { acceptError } : {}) });
      });
    } else if (m.cmd === 'stop') {
      void cluster.stop().finally(() => process.exit(0));
      setTimeout(() => process.exit(0), 3000).unref();
    }
  });
  process.on('disconnect', () => process.exit(0));
  report({ t: 'ready', urls: cluster.urls(), pid: process.pid, fdLimit: await openFileLimit(), openFds: await openFds() });
}

/** Counts the error frames every node sends, as a device receives them. */
function tapErrors(cluster: EmbeddedCluster): Record<string, ErrorTally> {
  const byCode: Record<string, ErrorTally> = {};
  for (const n of cluster.nodes) {
    const send = n.gateway.send.bind(n.gateway);
    n.gateway.send = (conn, frame) => {
      if (frame.startsWith('{"t":"error"')) {
        const f = JSON.parse(frame) as { code: string; retryable?: boolean; retryAfterMs?: unknown };
        const e = (byCode[f.code] ??= { count: 0, retryable: 0, withRetryAfter: 0 });
        e.count++;
        if (f.retryable === true) e.retryable++;
        if (typeof f.retryAfterMs === 'number' && f.retryAfterMs >= 0) e.withRetryAfter++;
      }
      send(conn, frame);
    };
  }
  return byCode;
}

main().catch((err: Error) => {
  report({ t: 'fatal', message: err.stack ?? err.message });
  setTimeout(() => process.exit(1), 100);
});
