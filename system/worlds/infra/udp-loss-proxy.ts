import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { SeededRandom, type Random } from '../../random/random.ts';

export interface UdpLossProxyOptions {
  /** `host:port` it forwards to (a TURN relay's listening port). */
  target: string;
  /** Listening port on 127.0.0.1; 0 or absent picks a free one. Kept across stop/start. */
  port?: number;
  /** Share of packets dropped, each direction, 0..1. Default 0. */
  loss?: number;
  /** Seed of the drop decisions: the same seed and the same packets drop the same ones. Default 1. */
  seed?: number;
  /** Clients (source addresses) served at once, at most; packets of one more are dropped. Default 10,000. */
  maxClients?: number;
  /** A client silent this long is forgotten (its upstream socket closed). Default 60 s. */
  idleMs?: number;
}

/** Packets seen, forwarded and dropped, by direction (`up`: client to target). */
export interface UdpLossProxyStats {
  up: { packets: number; dropped: number };
  down: { packets: number; dropped: number };
  /** Packets dropped because the proxy was stopped or full. */
  refused: number;
}

interface Client {
  address: string;
  port: number;
  upstream: Socket;
  lastSeen: number;
}

/**
 * A UDP proxy on loopback for relay drills: clients send to its port, it
 * forwards to `target` from one upstream socket per client (so the target
 * sees each client as its own 5-tuple, as a TURN relay needs) and sends the
 * answers back to that client, dropping a share of packets both ways with
 * a seeded RNG. Give devices a TURN URL pointing at the proxy
 * (`turn:127.0.0.1:<port>?transport=udp`) and their relay traffic goes
 * through it: `setLoss` for packet loss on the relay link, `stop` for a
 * relay gone mid-call (the listener closes, every packet is dropped),
 * `start` for its return on the same port (the upstream sockets were kept,
 * so allocations still within their lifetime work again).
 */
export class UdpLossProxy {
  readonly stats: UdpLossProxyStats = { up: { packets: 0, dropped: 0 }, down: { packets: 0, dropped: 0 }, refused: 0 };
  private listener?: Socket;
  private readonly clients = new Map<string, Client>();
  private readonly random: Random;
  private readonly targetHost: string;
  private readonly targetPort: number;
  private loss: number;
  private portNow: number;
  private sweeper?: NodeJS.Timeout;

  private constructor(private readonly opts: UdpLossProxyOptions) {
    const colon = opts.target.lastIndexOf(':');
    this.targetHost = opts.target.slice(0, colon);
    this.targetPort = Number(opts.target.slice(colon + 1));
    if (colon <= 0 || !Number.isInteger(this.targetPort) || this.targetPort <= 0 || this.targetPort > 65_535) {
      throw new RangeError(`target must be host:port, got ${JSON.stringify(opts.target)}`);
    }
    this.loss = checkLoss(opts.loss ?? 0);
    this.random = new SeededRandom(opts.seed ?? 1);
    this.portNow = opts.port ?? 0;
  }

  static async start(opts: UdpLossProxyOptions): Promise<UdpLossProxy> {
    const proxy = new UdpLossProxy(opts);
    await proxy.start();
    return proxy;
  }

  get port(): number {
    return this.portNow;
  }

  /** `turn:127.0.0.1:<port>?transport=udp`: the proxy as a TURN URL for devices. */
  get turnUrl(): string {
    return `turn:127.0.0.1:${this.portNow}?transport=udp`;
  }

  get running(): boolean {
    return this.listener !== undefined;
  }

  /** Changes the share of packets dropped (0..1), from the next packet on. */
  setLoss(share: number): void {
    this.loss = checkLoss(share);
  }

  /** Listens again (on the same port once it had one); a no-op while running. */
  async start(): Promise<void> {
    if (this.listener) return;
    const s = createSocket('udp4');
    await new Promise<void>((res, rej) => {
      s.once('error', rej);
      s.bind(this.portNow, '127.0.0.1', () => {
        s.off('error', rej);
        res();
      });
    });
    s.on('error', () => {});
    s.on('message', (data, rinfo) => this.fromClient(data, rinfo));
    this.listener = s;
    this.portNow = s.address().port;
    this.sweeper ??= setInterval(() => this.sweep(), Math.max(1000, (this.opts.idleMs ?? 60_000) / 4));
    this.sweeper.unref();
  }

  /** Closes the listener: everything sent to it is lost, and nothing comes back, until `start`. */
  async stop(): Promise<void> {
    const s = this.listener;
    this.listener = undefined;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }

  /** Stops and forgets every client (their upstream sockets closed). */
  async close(): Promise<void> {
    await this.stop();
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    for (const c of this.clients.values()) c.upstream.close();
    this.clients.clear();
  }

  private fromClient(data: Buffer, rinfo: RemoteInfo): void {
    const key = `${rinfo.address}:${rinfo.port}`;
    let client = this.clients.get(key);
    if (!client) {
      if (this.clients.size >= (this.opts.maxClients ?? 10_000)) {
        this.stats.refused++;
        return;
      }
      const upstream = createSocket('udp4');
      const c: Client = { address: rinfo.address, port: rinfo.port, upstream, lastSeen: 0 };
      upstream.on('error', () => {});
      upstream.on('message', (answer) => this.fromTarget(c, answer));
      upstream.bind(0, '127.0.0.1');
      this.clients.set(key, (client = c));
    }
    client.lastSeen = performance.now();
    this.stats.up.packets++;
    if (this.drop()) {
      this.stats.up.dropped++;
      return;
    }
    client.upstream.send(data, this.targetPort, this.targetHost);
  }

  private fromTarget(client: Client, data: Buffer): void {
    this.stats.down.packets++;
    if (!this.listener) {
      this.stats.refused++;
      return;
    }
    if (this.drop()) {
      this.stats.down.dropped++;
      return;
    }
    this.listener.send(data, client.port, client.address);
  }

  private drop(): boolean {
    return this.loss > 0 && this.random.next() < this.loss;
  }

  private sweep(): void {
    const cutoff = performance.now() - (this.opts.idleMs ?? 60_000);
    for (const [key, c] of this.clients) {
      if (c.lastSeen < cutoff) {
        c.upstream.close();
        this.clients.delete(key);
      }
    }
  }
}

function checkLoss(share: number): number {
  if (!(share >= 0 && share <= 1)) throw new RangeError(`loss must be a share in 0..1, got ${share}`);
  return share;
}
