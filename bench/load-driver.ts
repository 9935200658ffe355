import { build } from 'hdr-histogram-js';
import WebSocket from 'ws';
import { pickNode } from '../system/worlds/placement.ts';
import { cpuSeconds } from './servers/ipc.ts';

export interface LoadResult {
  msgsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  delivered: number;
  lost: number;
  errors: number;
  receipts: number;
  driverCpuPercent: number;
  serverCpuPercent: number;
  errorCodes?: Record<string, number>;
}

interface Common {
  devices: number;
  inflight: number;
  seconds: number;
  /** Server processes whose CPU is measured (the relay, the embedded cluster, or the local world's nodes). */
  serverPids: number[];
}

const BODY = 'x'.repeat(100);
const WARMUP_MS = 1000;

class Meter {
  readonly hist = build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  delivered = 0;
  measuring = false;
  private t0 = 0;
  private cpu0 = process.cpuUsage();
  private server0 = 0;

  constructor(private readonly serverPids: number[]) {}

  private serverCpu(): number {
    return this.serverPids.reduce((n, pid) => n + cpuSeconds(pid), 0);
  }

  begin(): void {
    this.measuring = true;
    this.t0 = performance.now();
    this.cpu0 = process.cpuUsage();
    this.server0 = this.serverCpu();
  }

  record(sentAt: number): void {
    if (!this.measuring) return;
    this.delivered++;
    this.hist.recordValue(Math.max(1, Math.round((performance.now() - sentAt) * 1000)));
  }

  end(extra: { lost: number; errors: number; receipts: number }): LoadResult {
    this.measuring = false;
    const secs = (performance.now() - this.t0) / 1000;
    const cpu = process.cpuUsage(this.cpu0);
    return {
      msgsPerSec: this.delivered / secs,
      p50Ms: this.hist.getValueAtPercentile(50) / 1000,
      p99Ms: this.hist.getValueAtPercentile(99) / 1000,
      delivered: this.delivered,
      driverCpuPercent: ((cpu.user + cpu.system) / 1e6 / secs) * 100,
      serverCpuPercent: ((this.serverCpu() - this.server0) / secs) * 100,
      ...extra,
    };
  }
}

async function openAll(n: number, url: (i: number) => string, onOpen: (ws: WebSocket, i: number) => void): Promise<WebSocket[]> {
  const out: WebSocket[] = [];
  for (let i = 0; i < n; i += 200) {
    const batch = [];
    for (let j = i; j < Math.min(n, i + 200); j++) {
      const ws = new WebSocket(url(j), { perMessageDeflate: false });
      out[j] = ws;
      batch.push(new Promise<void>((resolve, reject) => {
        ws.once('open', () => (onOpen(ws, j), resolve()));
        ws.once('error', reject);
      }));
    }
    await Promise.all(batch);
  }
  return out;
}

async function run(meter: Meter, seconds: number, stopSending: () => void): Promise<void> {
  await new Promise((r) => setTimeout(r, WARMUP_MS));
  meter.begin();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  stopSending();
}

/** The ceiling: frames {to, from, at} forwarded by the relay; each delivery releases the sender's next send. */
export async function driveRelay(o: Common & { url: string }): Promise<LoadResult> {
  const meter = new Meter(o.serverPids);
  let sending = true;
  const sockets = await openAll(o.devices, () => o.url, (ws, i) => ws.send(JSON.stringify({ hello: i })));
  const sendFrom = (i: number) => {
    if (!sending) return;
    const to = (i + 1 + Math.floor(Math.random() * (o.devices - 1))) % o.devices;
    sockets[i]!.send(JSON.stringify({ to, from: i, at: performance.now(), body: BODY }));
  };
  sockets.forEach((ws) => ws.on('message', (data) => {
    const f = JSON.parse(data.toString()) as { from: number; at: number };
    meter.record(f.at);
    sendFrom(f.from);
  }));
  await new Promise((r) => setTimeout(r, 200));
  for (let k = 0; k < o.inflight; k++) for (let i = 0; i < o.devices; i++) sendFrom(i);
  await run(meter, o.seconds, () => (sending = false));
  const result = meter.end({ lost: 0, errors: 0, receipts: 0 });
  sockets.forEach((ws) => ws.terminate());
  return result;
}

/** The full lifecycle: send -> ack; msg -> recv; receipt -> recv. Each delivery releases the sender's next send. */
export async function driveChat(o: Common & { urls: string[]; token: (device: string) => string }): Promise<LoadResult> {
  const meter = new Meter(o.serverPids);
  let sending = true;
  let seq = 0;
  let errors = 0;
  let receipts = 0;
  const owed = new Map<string, { from: number; at: number; to: string }>();
  const errorCodes = new Map<string, number>();
  const device = (i: number) => `b${i}.1`;
  const welcomed: Promise<void>[] = [];
  const sockets = await openAll(o.devices, (i) => pickNode(device(i), o.urls), (ws, i) => {
    welcomed.push(new Promise((resolve) => {
      const once = (data: WebSocket.RawData) => {
        if (JSON.parse(data.toString()).t !== 'drained') return;
        ws.off('message', once);
        resolve();
      };
      ws.on('message', once);
    }));
    ws.send(JSON.stringify({ t: 'hello', token: o.token(device(i)) }));
  });
  await Promise.all(welcomed);
  const sendFrom = (i: number) => {
    if (!sending) return;
    const to = (i + 1 + Math.floor(Math.random() * (o.devices - 1))) % o.devices;
    const cid = (seq++).toString(36);
    owed.set(cid, { from: i, at: performance.now(), to: `b${to}` });
    sockets[i]!.send(JSON.stringify({ t: 'send', cid, to: `b${to}`, body: BODY }));
  };
  // Acks are batched per socket and flushed once per event-loop turn, as real clients do.
  const pendingAcks = new Map<WebSocket, string[]>();
  const ack = (ws: WebSocket, id: string) => {
    const list = pendingAcks.get(ws);
    if (list) return void list.push(id);
    pendingAcks.set(ws, [id]);
    setImmediate(() => {
      const ids = pendingAcks.get(ws)!;
      pendingAcks.delete(ws);
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ t: 'recv', ids }));
    });
  };
  sockets.forEach((ws) => ws.on('message', (data) => {
    const f = JSON.parse(data.toString()) as { t: string; cid?: string; mid?: string; id?: string };
    if (f.t === 'msg') {
      ack(ws, f.mid!);
      const o2 = owed.get(f.cid!);
      if (!o2) return;
      owed.delete(f.cid!);
      meter.record(o2.at);
      sendFrom(o2.from);
    } else if (f.t === 'receipt') {
      receipts++;
      ack(ws, f.id!);
    } else if (f.t === 'error') {
      errors++;
      errorCodes.set(String((f as { code?: string }).code), (errorCodes.get(String((f as { code?: string }).code)) ?? 0) + 1);
      // A retryable rejection is retried with the same cid, as a real client would.
      const pending = f.cid ? owed.get(f.cid) : undefined;
      const e = f as { retryable?: boolean; retryAfterMs?: number };
      if (pending && e.retryable) {
        setTimeout(() => sockets[pending.from]!.send(JSON.stringify({ t: 'send', cid: f.cid, to: pending.to, body: BODY })), e.retryAfterMs ?? 100);
      }
    }
  }));
  for (let k = 0; k < o.inflight; k++) for (let i = 0; i < o.devices; i++) sendFrom(i);
  await run(meter, o.seconds, () => (sending = false));
  const result = meter.end({ lost: 0, errors, receipts });
  await new Promise((r) => setTimeout(r, 2000));
  result.lost = owed.size;
  result.errorCodes = Object.fromEntries(errorCodes);
  sockets.forEach((ws) => ws.terminate());
  return result;
}
