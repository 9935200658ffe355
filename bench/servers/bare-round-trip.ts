/**
 * The machine's own floor for bench:driver: one WebSocket over loopback,
 * messages at the bench's rate scheduled the way the driver schedules its
 * arrivals (all that are due fire, then one timer to the next), echoed by a
 * bare server that does nothing else. No devices, no ledger, no protocol:
 * what is left of the round trip's p99 is Node's timers and event loop, ws,
 * the kernel's loopback and this machine's scheduling.
 *
 * `startBareRoundTrip(rate, durationMs, serverCpus, clientCpus)` runs the
 * echo server and the client in two processes of their own (this file,
 * forked with BARE_ROLE=server|client), pinned like the relay and the
 * driver, and returns the client's figures.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WebSocket, WebSocketServer } from 'ws';
import { pinToCpus } from '../../scenarios/engine/live/affinity.ts';
import { ProbeSchedule, type ProbeFigures } from '../../scenarios/engine/live/probe-schedule.ts';

/** The echo's arrival from the intended and the actual send, and the send lag (ms). */
export type BareFigures = ProbeFigures;

const SELF = fileURLToPath(import.meta.url);
const BODY = 'x'.repeat(160);

function child(role: 'server' | 'client'): ChildProcess {
  return fork(SELF, [], { execArgv: ['--import', 'tsx'], env: { ...process.env, BARE_ROLE: role }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

function once<T>(p: ChildProcess): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    p.once('message', (m) => resolve(m as T));
    p.once('exit', (code) => reject(new Error(`bare round trip: a child exited with ${code}`)));
  });
}

function end(p: ChildProcess): void {
  if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
}

export async function startBareRoundTrip(rate: number, durationMs: number, serverCpus: string | undefined, clientCpus: string | undefined): Promise<BareFigures> {
  const server = child('server');
  let client: ChildProcess | undefined;
  try {
    const { port } = await once<{ port: number }>(server);
    if (serverCpus) pinToCpus(server.pid!, serverCpus);
    client = child('client');
    await once<{ ready: true }>(client);
    if (clientCpus) pinToCpus(client.pid!, clientCpus);
    const result = once<BareFigures>(client);
    client.send({ url: `ws://127.0.0.1:${port}`, rate, durationMs });
    return await result;
  } finally {
    if (client) end(client);
    end(server);
  }
}

function serve(): void {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
  wss.on('listening', () => process.send!({ port: (wss.address() as { port: number }).port }));
  process.on('disconnect', () => process.exit(0));
}

function drive(url: string, rate: number, durationMs: number): void {
  const probe = new ProbeSchedule(rate, durationMs);
  const ws = new WebSocket(url);
  ws.on('message', (data) => {
    const now = performance.now();
    // A warm-up echo carries a number past the schedule's: ignored.
    if (probe.arrive(Number(data.toString().slice(0, 10)), now)) {
      process.send!(probe.figures() satisfies BareFigures);
      ws.close();
    }
  });
  ws.on('open', () => {
    // Warm the path for a second, then the measured messages, evenly spaced from t0.
    const t0 = performance.now() + 1000;
    const warm = setInterval(() => ws.send(Buffer.from(`${'9'.repeat(10)}${BODY}`), { binary: false }), 1000 / rate);
    setTimeout(() => clearInterval(warm), 1000);
    probe.start(t0, (i) => ws.send(Buffer.from(`${String(i).padStart(10, '0')}${BODY}`), { binary: false }));
  });
  // Bounded: ends itself if the echoes stop coming.
  setTimeout(() => process.exit(1), durationMs + 30_000).unref();
}

if (process.env.BARE_ROLE === 'server') serve();
if (process.env.BARE_ROLE === 'client') {
  process.once('message', (m: { url: string; rate: number; durationMs: number }) => drive(m.url, m.rate, m.durationMs));
  process.send!({ ready: true });
  process.on('disconnect', () => process.exit(0));
}
