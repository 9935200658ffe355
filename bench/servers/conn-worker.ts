/**
 * One driver process of the connections benchmark: holds up to ~15,000 idle
 * device sockets. Forked with `execArgv: ['--import', 'tsx', '--expose-gc']`.
 * On `connect` it opens devices u<first>.1 .. in batches (a batch waits for
 * every `welcome`), each to the node `pickNode` picks, optionally bound to a
 * 127.0.x.y source address so no (source, destination) pair runs out of
 * ephemeral ports. Then the sockets stay open and idle (ws answers the
 * gateway's pings) until the parent stops or kills the process.
 */
import { LoopDelay } from '../../system/gateway/loop-delay.ts';
import WebSocket from 'ws';
import { TokenIssuer } from '../../system/auth/tokens.ts';
import { WallClock } from '../../system/clock/clock-wall.ts';
import { pickNode } from '../../system/worlds/placement.ts';
import { openFileLimit, procStats, type WorkerCommand, type WorkerReport } from './ipc.ts';

type ConnectCmd = Extract<WorkerCommand, { cmd: 'connect' }>;

const sockets: WebSocket[] = [];
let open = 0;
/** Sockets closed after their welcome, by close code: an idle benchmark should have none. */
const closes: Record<string, number> = {};
const loop = new LoopDelay(20);
loop.enable();
let fdLimit = 20_000;

function report(msg: WorkerReport): void {
  process.send?.(msg);
}

/** Source address number k: 127.0.1.1, 127.0.1.2, ... 127.0.1.250, 127.0.2.1, ... */
export function sourceAddress(k: number): string {
  return `127.0.${1 + Math.floor(k / 250)}.${1 + (k % 250)}`;
}

/** Opens one device and says hello; resolves with the socket once welcomed, or with an error label. */
function connectOne(url: string, token: string, localAddress: string | undefined, timeoutMs: number): Promise<WebSocket | string> {
  return new Promise((resolve) => {
    let ws: WebSocket;
    try {
      ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: timeoutMs, ...(localAddress ? { localAddress } : {}) });
    } catch (err) {
      return resolve(label(err));
    }
    let settled = false;
    const settle = (v: WebSocket | string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(v);
    };
    const timer = setTimeout(() => {
      settle('timeout waiting for welcome');
      ws.terminate();
    }, timeoutMs);
    ws.on('error', (err) => settle(label(err)));
    ws.on('open', () => ws.send(JSON.stringify({ t: 'hello', token })));
    ws.on('message', (data) => {
      let frame: { t?: string; code?: string };
      try {
        frame = JSON.parse(data.toString()) as { t?: string; code?: string };
      } catch {
        return;
      }
      if (frame.t === 'welcome') {
        ws.removeAllListeners('message');
        ws.removeAllListeners('open');
        open++;
        ws.on('close', (code) => {
          open--;
          closes[code] = (closes[code] ?? 0) + 1;
        });
        settle(ws);
      } else if (frame.t === 'error') {
        settle(`server error ${frame.code}`);
        ws.terminate();
      }
    });
    ws.on('close', (code) => settle(`closed ${code} before welcome`));
  });
}

function label(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code ?? e.message ?? String(err);
}

function explain(code: string, connected: number): string | undefined {
  if (code === 'EMFILE' || code === 'ENFILE') {
    return `${code}: driver worker ${process.pid} reached its open-file limit (${fdLimit} per process, cannot be raised here) after ${connected} sockets; use fewer devices per worker (--per-worker)`;
  }
  if (code === 'EADDRNOTAVAIL') {
    return `EADDRNOTAVAIL: out of ephemeral ports (32768-60999 per source address and destination) after ${connected} sockets; spread source addresses over 127.0.x.y (--per-source)`;
  }
  return undefined;
}

async function connectAll(c: ConnectCmd): Promise<void> {
  const t0 = performance.now();
  const issuer = new TokenIssuer(c.secret, new WallClock());
  const errors: Record<string, number> = {};
  let failed = 0;
  let fatal: string | undefined;
  for (let start = 0; start < c.count && !fatal; start += c.batch) {
    const n = Math.min(c.batch, c.count - start);
    const batch: Promise<WebSocket | string>[] = [];
    for (let j = 0; j < n; j++) {
      const index = c.first + start + j;
      const device = `u${index}.1`;
      const source = c.spreadSources ? sourceAddress(Math.floor(index / c.perSource)) : undefined;
      batch.push(connectOne(pickNode(device, c.urls), issuer.issue(device, 3600_000), source, c.batchTimeoutMs));
    }
    for (const r of await Promise.all(batch)) {
      if (typeof r !== 'string') {
        sockets.push(r);
        continue;
      }
      failed++;
      errors[r] = (errors[r] ?? 0) + 1;
      fatal ??= explain(r, sockets.length);
    }
    report({ t: 'progress', connected: sockets.length, failed, open });
  }
  report({ t: 'done', connected: sockets.length, failed, ms: performance.now() - t0, errors, ...(fatal ? { fatal } : {}) });
}

process.on('message', (m: WorkerCommand) => {
  if (m.cmd === 'stats') {
    report({ t: 'stats', stats: procStats(), open, closes, loopMaxMs: loop.maxMs() });
    loop.reset();
  }
  else if (m.cmd === 'connect') {
    connectAll(m).catch((err: Error) => report({ t: 'fatal', message: err.stack ?? err.message }));
  } else if (m.cmd === 'stop') {
    for (const ws of sockets) ws.terminate();
    setTimeout(() => process.exit(0), 200).unref();
  }
});
process.on('disconnect', () => process.exit(0));

if (!process.send) {
  console.error('conn-worker must be forked with an IPC channel');
  process.exit(1);
}
void openFileLimit().then((n) => {
  fdLimit = n;
  report({ t: 'ready', pid: process.pid, fdLimit });
});
