import WebSocket from 'ws';
import type { ServerFrame } from '../../system/protocol/frames.ts';

/** A scripted device for integration tests: a real ws connection and promise-based waits on frames. */
export class TestClient {
  readonly frames: ServerFrame[] = [];
  closeCode?: number;
  private readonly consumed = new Set<ServerFrame>();
  private ws!: WebSocket;
  private waiters: { pred: (f: ServerFrame) => boolean; resolve: (f: ServerFrame) => void }[] = [];
  private closeWaiters: ((code: number) => void)[] = [];

  constructor(readonly url: string, readonly autoAck = true) {}

  static async connect(url: string, token: string, autoAck = true): Promise<TestClient> {
    const c = new TestClient(url, autoAck);
    await c.open();
    c.send({ t: 'hello', token });
    await c.next('welcome');
    return c;
  }

  open(): Promise<void> {
    this.ws = new WebSocket(this.url);
    this.ws.on('message', (data) => this.onFrame(JSON.parse(data.toString())));
    this.ws.on('close', (code) => {
      this.closeCode = code;
      for (const w of this.closeWaiters) w(code);
    });
    return new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
  }

  private onFrame(f: ServerFrame): void {
    this.frames.push(f);
    if (this.autoAck && (f.t === 'msg' || f.t === 'receipt')) this.send({ t: 'recv', ids: [f.t === 'msg' ? f.mid : f.id] });
    this.waiters = this.waiters.filter((w) => (w.pred(f) ? (w.resolve(f), false) : true));
  }

  send(frame: object): void {
    this.ws.send(JSON.stringify(frame));
  }

  raw(data: string | Buffer): void {
    this.ws.send(data);
  }

  of<T extends ServerFrame['t']>(t: T): Extract<ServerFrame, { t: T }>[] {
    return this.frames.filter((f) => f.t === t) as Extract<ServerFrame, { t: T }>[];
  }

  /** The next frame of type `t` (or already received, when `seen` is true) matching `pred`. */
  next<T extends ServerFrame['t']>(t: T, pred: (f: Extract<ServerFrame, { t: T }>) => boolean = () => true, timeoutMs = 5000): Promise<Extract<ServerFrame, { t: T }>> {
    // A frame that arrived before the wait started counts, once.
    const early = this.frames.find((f) => f.t === t && !this.consumed.has(f) && pred(f as never));
    if (early) {
      this.consumed.add(early);
      return Promise.resolve(early as never);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${t}`)), timeoutMs);
      this.waiters.push({
        pred: (f) => f.t === t && pred(f as never),
        resolve: (f) => {
          this.consumed.add(f);
          clearTimeout(timer);
          resolve(f as never);
        },
      });
    });
  }

  /** Waits until `count` frames of type `t` have arrived in total. */
  async until<T extends ServerFrame['t']>(t: T, count: number, timeoutMs = 10_000): Promise<Extract<ServerFrame, { t: T }>[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.of(t).length < count) {
      if (Date.now() > deadline) throw new Error(`timed out: ${this.of(t).length}/${count} ${t} frames`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.of(t);
  }

  async sendAndAck(cid: string, to: string, body: string): Promise<Extract<ServerFrame, { t: 'ack' }>> {
    const p = this.next('ack', (a) => a.cid === cid);
    this.send({ t: 'send', cid, to, body });
    return p;
  }

  closed(): Promise<number> {
    if (this.closeCode !== undefined) return Promise.resolve(this.closeCode);
    return new Promise((resolve) => this.closeWaiters.push(resolve));
  }

  close(): void {
    this.ws.close();
  }

  terminate(): void {
    this.ws.terminate();
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
