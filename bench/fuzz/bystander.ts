/**
 * A bystander pair: one ordinary device sending to another over the cluster
 * the fuzzer is attacking, the way a client written from docs/protocol.md
 * would — retrying a send with the same cid on a retryable error, reconnecting
 * when closed, acknowledging every delivery. Every message the cluster acked
 * must reach the receiver; the fuzz fails with `bystanderLost` otherwise.
 */
import WebSocket from 'ws';
import { pickNode } from '../../system/worlds/placement.ts';

export interface BystanderOptions {
  urls: string[];
  token: (device: string) => string;
  /** One send every this many ms while running. */
  intervalMs: number;
  /** Sends not yet acked, at most; the sender waits beyond it. */
  pendingMax: number;
  /** After `stop`, how long to wait for acked messages still on their way. */
  settleMs: number;
}

export interface BystanderResult {
  sent: number;
  acked: number;
  delivered: number;
  /** Acked and never delivered. */
  lost: number;
  /** Non-retryable rejections of a send (a normal send is never refused). */
  refused: string[];
  reconnects: number;
}

export const BYSTANDER_USERS = ['bystandera', 'bystanderb'] as const;

/** One device with its own reconnect loop; frames go to `onFrame` once welcomed. */
class Device {
  ws?: WebSocket;
  ready = false;
  reconnects = 0;
  private running = true;

  constructor(private readonly id: string, private readonly o: BystanderOptions, private readonly onFrame: (f: Record<string, unknown>, d: Device) => void, private readonly onReady: () => void) {
    this.open();
  }

  private open(): void {
    if (!this.running) return;
    const ws = new WebSocket(pickNode(this.id, this.o.urls), { perMessageDeflate: false });
    this.ws = ws;
    ws.on('open', () => ws.send(JSON.stringify({ t: 'hello', token: this.o.token(this.id) })));
    ws.on('message', (data) => {
      const f = JSON.parse(data.toString()) as Record<string, unknown>;
      if (f.t === 'welcome') {
        this.ready = true;
        this.onReady();
      }
      this.onFrame(f, this);
    });
    ws.on('error', () => {});
    ws.on('close', () => {
      this.ready = false;
      if (!this.running) return;
      this.reconnects++;
      setTimeout(() => this.open(), 200);
    });
  }

  send(frame: object): void {
    if (this.ready && this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
  }

  close(): void {
    this.running = false;
    this.ws?.terminate();
  }
}

export class BystanderPair {
  private readonly o: BystanderOptions;
  private readonly pending = new Map<string, number>();
  private readonly acked = new Set<string>();
  private readonly delivered = new Set<string>();
  private readonly refused: string[] = [];
  private sent = 0;
  private readonly timer: NodeJS.Timeout;
  private readonly sender: Device;
  private readonly receiver: Device;

  constructor(opts: Partial<BystanderOptions> & Pick<BystanderOptions, 'urls' | 'token'>) {
    this.o = { intervalMs: 20, pendingMax: 20, settleMs: 10_000, ...opts };
    const [a, b] = BYSTANDER_USERS;
    this.sender = new Device(`${a}.1`, this.o, (f, d) => this.onSenderFrame(f, d), () => this.resendPending());
    this.receiver = new Device(`${b}.1`, this.o, (f, d) => this.onReceiverFrame(f, d), () => {});
    this.timer = setInterval(() => this.sendNext(), this.o.intervalMs);
  }

  private sendNext(): void {
    if (!this.sender.ready || this.pending.size >= this.o.pendingMax) return;
    const cid = `by${this.sent++}`;
    this.pending.set(cid, 0);
    this.sender.send(this.frame(cid));
  }

  private frame(cid: string): object {
    return { t: 'send', cid, to: BYSTANDER_USERS[1], body: `bystander message ${cid}` };
  }

  /** After a reconnect, every send not yet acked goes again with its cid (a repeat is answered with the same ack). */
  private resendPending(): void {
    for (const cid of this.pending.keys()) this.sender.send(this.frame(cid));
  }

  private onSenderFrame(f: Record<string, unknown>, d: Device): void {
    if (f.t === 'ack' && typeof f.cid === 'string' && this.pending.delete(f.cid)) this.acked.add(f.cid);
    else if (f.t === 'error' && typeof f.cid === 'string' && this.pending.has(f.cid)) {
      if (f.retryable) setTimeout(() => this.pending.has(f.cid as string) && d.send(this.frame(f.cid as string)), Number(f.retryAfterMs ?? 250));
      else {
        this.pending.delete(f.cid);
        if (this.refused.length < 5) this.refused.push(JSON.stringify(f));
      }
    } else if (f.t === 'msg' || f.t === 'receipt') d.send({ t: 'recv', ids: [f.t === 'msg' ? f.mid : f.id] });
  }

  private onReceiverFrame(f: Record<string, unknown>, d: Device): void {
    if (f.t === 'msg') {
      if (f.from === `${BYSTANDER_USERS[0]}.1`) this.delivered.add(String(f.cid));
      d.send({ t: 'recv', ids: [f.mid] });
    } else if (f.t === 'receipt') d.send({ t: 'recv', ids: [f.id] });
  }

  private missing(): number {
    let n = 0;
    for (const cid of this.acked) if (!this.delivered.has(cid)) n++;
    return n;
  }

  /** Stops sending, waits (bounded) for acked messages still on their way, closes both devices. */
  async stop(): Promise<BystanderResult> {
    clearInterval(this.timer);
    const deadline = Date.now() + this.o.settleMs;
    while (this.missing() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    this.sender.close();
    this.receiver.close();
    return {
      sent: this.sent, acked: this.acked.size, delivered: this.delivered.size, lost: this.missing(),
      refused: this.refused, reconnects: this.sender.reconnects + this.receiver.reconnects,
    };
  }
}
