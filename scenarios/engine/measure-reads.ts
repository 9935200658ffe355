/**
 * What one socket read costs a Node event loop here, on top of the frames it
 * brings: the sim's `node.readMs` (a gateway's server sockets) and
 * `driver.readMs` (a driver worker's client sockets, read as SocketIO reads
 * them). `chatlab calibrate` writes both.
 *
 * The same frames, the same turns, different reads: a peer process sends
 * bursts of 100 frames, one every few ms, either one frame to each of 100
 * sockets (100 reads a burst here) or ten frames to each of 10 sockets in
 * one write each (10 reads a burst). Each burst is one turn of this loop
 * either way, so the CPU the two cost apart, over the reads they took apart
 * (counted, not assumed), is what a read costs. Alternated over rounds, the
 * median of the rounds.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { AddressInfo, Socket } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { connectSharedReads } from './live/device-host.ts';
import { pinToCpus } from './live/affinity.ts';

const PEER = fileURLToPath(new URL('./read-cost-peer.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');
const SOCKETS = 100;

export interface ReadCost {
  /** ms a read of a gateway's server socket costs (node.readMs). */
  serverMs: number;
  /** ms a read of a device's client socket costs (driver.readMs). */
  clientMs: number;
  /** Per side and mode, the medians: µs of CPU a frame and frames a read. */
  detail: Record<'server' | 'client', Record<'spread' | 'bunched', { usPerFrame: number; framesPerRead: number }>>;
}

export interface MeasureReadCostOptions {
  /** Rounds of each mode, alternated (default 3). */
  rounds?: number;
  /** Bursts a round (default 600) and ms between two (default 3). */
  bursts?: number;
  everyMs?: number;
  /** CPUs for the peer (as taskset takes them: `1`, `1-3`): not this process's when it is pinned (calibrate --driver-cpus). */
  peerCpus?: string;
}

/** A frame the size of a delivery. */
const FRAME = JSON.stringify({ t: 'msg', id: 'n1-00000000000000001234', from: 'u123.1', to: 'u456', seq: 1234, at: 1765000000000, body: 'x'.repeat(80) });

interface Side {
  /** Called on every frame and every read this process takes. */
  counts: { frames: number; reads: number };
  close(): Promise<void>;
}

function peer(cpus?: string): ChildProcess {
  const p = fork(PEER, [], { execArgv: ['--import', TSX], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  if (cpus && p.pid) pinToCpus(p.pid, cpus);
  return p;
}

async function next(p: ChildProcess, type: string): Promise<Record<string, unknown>> {
  for (;;) {
    const [m] = (await once(p, 'message')) as [Record<string, unknown>];
    if (m.type === 'error') throw new Error(`read-cost peer: ${String(m.message)}`);
    if (m.type === type) return m;
  }
}

/** This process serves; the peer's clients send. */
async function serverSide(p: ChildProcess): Promise<Side> {
  const counts = { frames: 0, reads: 0 };
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await once(wss, 'listening');
  wss.on('connection', (ws, req) => {
    req.socket.on('data', () => counts.reads++);
    ws.on('message', (data) => {
      JSON.parse(data.toString());
      counts.frames++;
    });
  });
  p.send({ type: 'clients', url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, sockets: SOCKETS });
  await next(p, 'ready');
  return {
    counts,
    close: () => new Promise((r) => {
      for (const ws of wss.clients) ws.terminate();
      wss.close(() => r());
    }),
  };
}

/** This process's clients (SocketIO's reads); the peer's server sends. */
async function clientSide(p: ChildProcess): Promise<Side> {
  const counts = { frames: 0, reads: 0 };
  p.send({ type: 'server', sockets: SOCKETS });
  const { url } = (await next(p, 'listening')) as { url: string };
  const ready = next(p, 'ready');
  const clients = Array.from({ length: SOCKETS }, () => {
    const ws = new WebSocket(url, {
      perMessageDeflate: false,
      createConnection: ((o: Parameters<typeof connectSharedReads>[0]) => {
        const s: Socket = connectSharedReads(o);
        s.on('data', () => counts.reads++);
        return s;
      }) as never,
    });
    ws.on('message', (data) => {
      JSON.parse(data.toString());
      counts.frames++;
    });
    return ws;
  });
  await ready;
  return { counts, close: async () => { for (const ws of clients) ws.terminate(); } };
}

async function round(p: ChildProcess, side: Side, mode: 'spread' | 'bunched', bursts: number, everyMs: number): Promise<{ cpuUs: number; frames: number; reads: number }> {
  const f0 = side.counts.frames;
  const r0 = side.counts.reads;
  const c0 = process.cpuUsage();
  const expect = f0 + bursts * SOCKETS;
  p.send({ type: 'burst', mode, bursts, everyMs, frame: FRAME });
  await next(p, 'sent');
  // The last frames may still be on their way.
  while (side.counts.frames < expect) await new Promise((r) => setTimeout(r, 1));
  const c = process.cpuUsage(c0);
  return { cpuUs: c.user + c.system, frames: side.counts.frames - f0, reads: side.counts.reads - r0 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

async function measureSide(make: (p: ChildProcess) => Promise<Side>, o: Required<Omit<MeasureReadCostOptions, 'peerCpus'>> & { peerCpus?: string }) {
  const p = peer(o.peerCpus);
  try {
    const side = await make(p);
    // A warm-up round of each, so both modes run on optimized code.
    await round(p, side, 'spread', Math.ceil(o.bursts / 3), o.everyMs);
    await round(p, side, 'bunched', Math.ceil(o.bursts / 3), o.everyMs);
    const per: Record<'spread' | 'bunched', { cpuUs: number; frames: number; reads: number }[]> = { spread: [], bunched: [] };
    for (let i = 0; i < o.rounds; i++) {
      for (const mode of ['spread', 'bunched'] as const) per[mode].push(await round(p, side, mode, o.bursts, o.everyMs));
    }
    await side.close();
    const perRead: number[] = [];
    for (let i = 0; i < o.rounds; i++) {
      const s = per.spread[i]!;
      const b = per.bunched[i]!;
      // The same frames in both: what the extra reads cost, each.
      perRead.push((s.cpuUs / s.frames - b.cpuUs / b.frames) / (s.reads / s.frames - b.reads / b.frames) / 1000);
    }
    const sum = (m: 'spread' | 'bunched') => ({
      usPerFrame: median(per[m].map((r) => r.cpuUs / r.frames)),
      framesPerRead: median(per[m].map((r) => r.frames / r.reads)),
    });
    return { ms: Math.max(0, median(perRead)), detail: { spread: sum('spread'), bunched: sum('bunched') } };
  } finally {
    p.disconnect();
  }
}

/** About 4 s a side at the defaults, on this process's CPU and one other for the peer. */
export async function measureReadCost(options: MeasureReadCostOptions = {}): Promise<ReadCost> {
  const o = { rounds: options.rounds ?? 3, bursts: options.bursts ?? 600, everyMs: options.everyMs ?? 3, ...(options.peerCpus ? { peerCpus: options.peerCpus } : {}) };
  const server = await measureSide(serverSide, o);
  const client = await measureSide(clientSide, o);
  const r = (x: number) => Math.round(x * 1e5) / 1e5;
  return { serverMs: r(server.ms), clientMs: r(client.ms), detail: { server: server.detail, client: client.detail } };
}
