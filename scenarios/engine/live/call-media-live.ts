import { createSocket, type Socket } from 'node:dgram';
import type { Message, TurnProtocol, UdpTransport } from 'werift';
import type { CallMedia, TurnCredentials } from '../../../system/protocol/frames.ts';
import { hash32 } from '../../../system/random/random.ts';
import { DEFAULT_CODECS, packetBytes, type CallMediaPlane, type Codec, type LegFigures } from '../../device/call-media.ts';

type Werift = typeof import('werift');
type Address = readonly [string, number];

/**
 * What the plane tells its host about relays, so the engine can follow
 * allocations and relay bandwidth over time (and their peaks) without
 * asking every leg: small, called from the plane's own timer.
 */
export interface CallMediaStats {
  /** An allocation was granted (`true`) or released (`false`). Open allocations = grants − releases. */
  allocation(open: boolean): void;
  /**
   * Bytes relayed legs sent into their relay since the last call (header
   * and payload; probes and byes too), once per tick that moved any and at
   * a close. Each leg counts only its own stream, so a relayed call's two
   * legs together count both directions once: the relay's ingress, which
   * is its egress less what it dropped.
   */
  relayBytes(bytes: number): void;
}

export interface LiveCallMediaOptions {
  /** Codec of each kind of call; default DEFAULT_CODECS (a scenario's `behaviour.calls.codecs`). */
  codecs?: Readonly<Record<CallMedia, Codec>>;
  stats?: CallMediaStats;
  /** How long an allocation may take before the leg fails `turn_unreachable`. Default 3 s (coturn answers in ~25 ms; a relay that does not answer never will). */
  allocateTimeoutMs?: number;
  /** The plane's one timer, ms: every started leg is looked at this often. Default 5. */
  tickMs?: number;
  /** Allocation lifetime asked for, seconds; refreshed at 5/6 of what the relay grants. Default 600. */
  lifetimeS?: number;
}

/** Every media packet starts with this header: u32 seq, f64 sender time (epoch ms), u32 kind (2 bits) and call tag (30 bits). */
const HEADER = 16;
const TAG_MASK = 0x3fffffff;
/** Media: counted, timed. Probe: header only, sent until anything arrives from the peer (the path is open both ways). Bye: header only, seq = packets sent in all. */
const KIND_MEDIA = 0;
const KIND_PROBE = 1;
const KIND_BYE = 2;
/** Packets one leg may send in one tick to catch up with its schedule; beyond that the schedule skips (a stalled process does not burst). */
const CATCH_UP_MAX = 3;

interface Leg {
  device: string;
  call: string;
  tag: number;
  relayed: boolean;
  state: 'opening' | 'open' | 'closed';
  socket?: Socket;
  turn?: TurnProtocol;
  peer?: Address;
  size: number;
  packetMs: number;
  started: boolean;
  /** Packets can go to the peer: the direct socket is connected to it, or the relayed leg has its peer. */
  linked: boolean;
  /** Anything arrived from the peer: both directions work, media replaces probes. */
  connected: boolean;
  nextDue: number;
  startedAt: number;
  lastArrival: number;
  silenceMs: number;
  silent?: () => void;
  sent: number;
  received: number;
  /** Packets the peer says it sent: highest media seq + 1, or its bye. */
  peerSent: number;
  jitter: number;
  lastTransit: number;
  relayedBytes: number;
  /** A start that came while the allocation was still being made. */
  pendingStart?: () => void;
  refreshTimer?: NodeJS.Timeout;
}

/**
 * The live engine's media plane (CallMediaPlane): real UDP on loopback, in
 * one driver worker. A direct leg is a `node:dgram` socket of its own; a
 * relayed leg is a TURN allocation made with werift's TURN client and the
 * credentials the node minted, against coturn (local and containers
 * worlds) or the embedded world's stand-in relay — the same client for both.
 *
 * From `start` a leg sends probes (a header alone) until anything arrives
 * from its peer, as ICE checks connectivity before media: a relay drops
 * what reaches an allocation before its owner made a permission for the
 * sender, so media sent before the peer is ready would read as loss. Then
 * it sends the codec's packets on schedule; the receiver counts them, finds
 * losses from the sequence numbers (gaps, and at close the tail up to the
 * peer's bye, which carries its final count: a bye that never came leaves
 * the tail to the host, which has both legs' `sent`), and keeps RFC 3550
 * interarrival jitter from the sender's timestamps.
 *
 * One timer per plane ticks every started leg (no timer per leg), and
 * stops when no leg is started: hundreds of legs cost one wake-up per tick.
 * The packets themselves are the cost (measured here: 200 audio legs, 100
 * calls in one process, ~17% of a core direct, ~21% relayed through coturn;
 * a 20 ms tick instead of 5 ms saves about a sixth of that).
 */
export class LiveCallMedia implements CallMediaPlane {
  private readonly legs = new Map<string, Leg>();
  private readonly active: Leg[] = [];
  private timer?: NodeJS.Timeout;
  private readonly codecs: Readonly<Record<CallMedia, Codec>>;
  private readonly tickMs: number;
  private pendingRelayBytes = 0;
  private werift?: Promise<Werift>;

  constructor(private readonly opts: LiveCallMediaOptions = {}) {
    this.codecs = opts.codecs ?? DEFAULT_CODECS;
    this.tickMs = opts.tickMs ?? 5;
  }

  open(device: string, call: string, relay: TurnCredentials | undefined, done: (endpoint: string | undefined, error?: string) => void): void {
    const key = legKey(device, call);
    if (this.legs.has(key)) return void queueMicrotask(() => done(undefined, 'leg_exists'));
    const leg: Leg = {
      device, call, tag: hash32(call) & TAG_MASK, relayed: relay !== undefined, state: 'opening',
      size: HEADER, packetMs: 20, started: false, linked: false, connected: false, nextDue: 0, startedAt: 0, lastArrival: 0, silenceMs: 0,
      sent: 0, received: 0, peerSent: 0, jitter: 0, lastTransit: Number.NaN, relayedBytes: 0,
    };
    this.legs.set(key, leg);
    const fail = (error: string) => {
      if (this.legs.get(key) === leg) this.legs.delete(key);
      if (leg.state !== 'closed') done(undefined, error);
      leg.state = 'closed';
    };
    const opened = (endpoint: string) => {
      if (leg.state === 'closed') return this.release(leg); // closed while opening: nobody waits for it
      leg.state = 'open';
      done(endpoint);
      leg.pendingStart?.();
      leg.pendingStart = undefined;
    };
    if (relay) return void this.allocate(leg, relay).then(opened, (e: Error) => fail(e.message));
    const socket = createSocket('udp4');
    leg.socket = socket;
    socket.once('error', (e) => {
      leg.socket = undefined;
      socket.close();
      fail((e as NodeJS.ErrnoException).code === 'EMFILE' ? 'no_socket' : 'socket_failed');
    });
    socket.bind(0, '127.0.0.1', () => {
      socket.removeAllListeners('error');
      socket.on('error', () => {}); // ICMP port unreachable once the peer is gone: silence tells
      socket.on('message', (data) => this.arrived(leg, data));
      opened(`127.0.0.1:${socket.address().port}`);
    });
  }

  start(device: string, call: string, peer: string, media: CallMedia, silenceMs: number, silent: () => void): void {
    const leg = this.legs.get(legKey(device, call));
    if (!leg || leg.state === 'closed' || leg.started) return;
    // A malformed endpoint (it came from the peer's signalling) is a path that never works: nothing is sent, silence tells.
    const address = parseEndpoint(peer);
    const codec = this.codecs[media];
    const begin = () => {
      leg.peer = address;
      leg.size = packetBytes(codec);
      leg.packetMs = codec.packetMs;
      leg.silenceMs = silenceMs;
      leg.silent = silent;
      leg.started = true;
      leg.linked = address !== undefined && leg.turn !== undefined;
      leg.startedAt = performance.now();
      leg.nextDue = leg.startedAt;
      this.activate(leg);
      // A direct socket is connected to its peer: no address lookup per packet, and strays from other ports are dropped by the kernel.
      if (address && leg.socket) leg.socket.connect(address[1], address[0], () => (leg.linked = leg.state === 'open'));
    };
    if (leg.state === 'opening') leg.pendingStart = begin;
    else begin();
  }

  close(device: string, call: string): LegFigures | undefined {
    const key = legKey(device, call);
    const leg = this.legs.get(key);
    if (!leg) return undefined;
    this.legs.delete(key);
    const wasOpen = leg.state === 'open';
    leg.state = 'closed';
    const i = this.active.indexOf(leg);
    if (i >= 0) {
      this.active[i] = this.active[this.active.length - 1]!;
      this.active.pop();
    }
    if (!wasOpen) return undefined; // still allocating: released when the allocation comes back
    this.release(leg, leg.linked);
    this.flushRelayBytes(); // the bye's bytes: the timer may already have stopped
    return {
      sent: leg.sent,
      received: leg.received,
      lost: Math.max(0, leg.peerSent - leg.received),
      jitterMs: leg.jitter,
      relayedBytes: leg.relayedBytes,
    };
  }

  /** Closes every leg (a worker that stops). */
  stop(): void {
    for (const leg of [...this.legs.values()]) this.close(leg.device, leg.call);
    this.flushRelayBytes();
  }

  private activate(leg: Leg): void {
    if (leg.state !== 'open') return;
    this.active.push(leg);
    if (!this.timer) {
      this.timer = setInterval(() => this.tick(), this.tickMs);
      this.timer.unref(); // media never keeps a process alive by itself
    }
  }

  private tick(): void {
    const now = performance.now();
    const epoch = performance.timeOrigin + now;
    for (let i = 0; i < this.active.length; i++) {
      const leg = this.active[i]!;
      for (let n = 0; leg.linked && leg.nextDue <= now && n < CATCH_UP_MAX; n++) {
        if (leg.connected) this.send(leg, KIND_MEDIA, leg.sent++, leg.size, epoch);
        else this.send(leg, KIND_PROBE, 0, HEADER, epoch);
        leg.nextDue += leg.packetMs;
      }
      if (leg.nextDue <= now) leg.nextDue = now + leg.packetMs;
      if (leg.silent && now - Math.max(leg.lastArrival, leg.startedAt) > leg.silenceMs) {
        const silent = leg.silent;
        leg.silent = undefined; // once
        silent();
      }
    }
    this.flushRelayBytes();
    if (this.active.length === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private packet(leg: Leg, kind: number, seq: number, size: number, epoch = performance.timeOrigin + performance.now()): Buffer {
    const packet = Buffer.alloc(size);
    packet.writeUInt32BE(seq >>> 0, 0);
    packet.writeDoubleBE(epoch, 4);
    packet.writeUInt32BE(((kind << 30) | leg.tag) >>> 0, 12);
    return packet;
  }

  private send(leg: Leg, kind: number, seq: number, size: number, epoch?: number): void {
    const packet = this.packet(leg, kind, seq, size, epoch);
    if (leg.socket) {
      leg.socket.send(packet);
    } else if (leg.turn) {
      leg.turn.sendData(packet, leg.peer as [string, number]).catch(() => {}); // a lost relay shows as silence
      leg.relayedBytes += size;
      this.pendingRelayBytes += size;
    }
  }

  private arrived(leg: Leg, data: Buffer): void {
    if (data.length < HEADER || leg.state === 'closed') return;
    const word = data.readUInt32BE(12);
    if ((word & TAG_MASK) !== leg.tag) return; // another call's packet (a port used again)
    const now = performance.now();
    leg.lastArrival = now;
    leg.connected = true;
    const kind = word >>> 30;
    const seq = data.readUInt32BE(0);
    if (kind === KIND_BYE) {
      leg.peerSent = Math.max(leg.peerSent, seq);
      return;
    }
    if (kind !== KIND_MEDIA) return;
    leg.received++;
    leg.peerSent = Math.max(leg.peerSent, seq + 1);
    // RFC 3550 §6.4.1: J += (|D| − J) / 16, D the change in transit time between consecutive packets.
    const transit = performance.timeOrigin + now - data.readDoubleBE(4);
    if (!Number.isNaN(leg.lastTransit)) leg.jitter += (Math.abs(transit - leg.lastTransit) - leg.jitter) / 16;
    leg.lastTransit = transit;
  }

  private flushRelayBytes(): void {
    if (this.pendingRelayBytes === 0) return;
    const n = this.pendingRelayBytes;
    this.pendingRelayBytes = 0;
    this.opts.stats?.relayBytes(n);
  }

  /**
   * A TURN allocation for `leg`: the first `turn:` URL, its credentials,
   * bounded by `allocateTimeoutMs`. Fails with `no_relay` (no usable URL),
   * `turn_refused` (401 once credentials were sent, 403), `turn_capacity`
   * (486, 508), `turn_unreachable` (no answer in time), `turn_failed`.
   * Resolves to the relayed address, the leg's endpoint.
   */
  private async allocate(leg: Leg, relay: TurnCredentials): Promise<string> {
    const server = turnServer(relay.urls);
    if (!server) throw new Error('no_relay');
    const w = await (this.werift ??= import('werift'));
    const transport = await w.UdpTransport.init('udp4', { interfaceAddresses: { udp4: '127.0.0.1' } });
    const turn = new w.TurnProtocol([server[0], server[1]], relay.username, relay.credential, this.opts.lifetimeS ?? 600, transport);
    const internal = turn as unknown as TurnInternals;
    internal.refresh = (grantedS) => this.keepAlive(leg, w, turn, grantedS);
    let timer: NodeJS.Timeout | undefined;
    let refused: string | undefined;
    const outcome = new Promise<string | undefined>((resolve) => {
      timer = setTimeout(() => resolve('turn_unreachable'), this.opts.allocateTimeoutMs ?? 3000);
      const allocated = turn.connectionMade();
      // Read the relay's answers during the allocation: a refusal after the
      // credentials were sent comes without a MESSAGE-INTEGRITY the client can
      // check (coturn), and the client would wait out its retransmissions (~6 s).
      const inner = transport.onData;
      transport.onData = (data, addr) => {
        // Only an answer to a request still waiting counts: a retransmitted request's second 401 is not a refusal.
        const error = errorOf(w, data);
        const request = error && internal.transactions[error.id]?.request;
        if (error && request) {
          if ((error.code === 401 && request.attributesKeys.includes('MESSAGE-INTEGRITY')) || error.code === 403) refused = 'turn_refused';
          else if (error.code === 486 || error.code === 508) refused = 'turn_capacity';
          if (refused) resolve(refused);
        }
        inner(data, addr);
      };
      allocated.then(() => {
        transport.onData = inner;
        resolve(undefined);
      }, (e: unknown) => {
        const code = (e as { response?: Message }).response?.getAttributeValue('ERROR-CODE')?.[0] as number | undefined;
        resolve(code === undefined ? 'turn_unreachable' : code === 401 || code === 403 ? 'turn_refused' : code === 486 || code === 508 ? 'turn_capacity' : 'turn_failed');
      });
    });
    const failure = await outcome;
    clearTimeout(timer);
    if (failure) {
      for (const t of Object.values(internal.transactions)) t.failWithTimeout();
      await turn.close().catch(() => {});
      throw new Error(failure);
    }
    leg.turn = turn;
    turn.onData.subscribe((data) => this.arrived(leg, data));
    this.opts.stats?.allocation(true);
    return `${turn.relayedAddress[0]}:${turn.relayedAddress[1]}`;
  }

  /** Refreshes the allocation at 5/6 of its granted lifetime (an unref'd timer: werift's own would hold the process for minutes after close). */
  private keepAlive(leg: Leg, w: Werift, turn: TurnProtocol, grantedS: number): void {
    const everyMs = Math.max(1, grantedS) * 1000 * (5 / 6);
    leg.refreshTimer = setInterval(() => {
      const request = new w.Message(w.methods.REFRESH, w.classes.REQUEST).setAttribute('LIFETIME', this.opts.lifetimeS ?? 600);
      turn.requestWithRetry(request, turn.server).catch(() => {}); // a relay that is gone shows as silence
    }, everyMs);
    leg.refreshTimer.unref();
  }

  /**
   * Frees a leg's socket or allocation, after its bye (when `bye`) has gone
   * out: a socket closed with a send still queued drops it. A relayed leg is
   * also released on the relay (Refresh with lifetime 0), so its relay port
   * is free at once rather than when the allocation's lifetime runs out.
   */
  private release(leg: Leg, bye = false): void {
    clearInterval(leg.refreshTimer);
    if (leg.socket) {
      const socket = leg.socket;
      leg.socket = undefined;
      if (bye) socket.send(this.packet(leg, KIND_BYE, leg.sent, HEADER), () => socket.close());
      else socket.close();
      return;
    }
    if (bye) this.send(leg, KIND_BYE, leg.sent, HEADER);
    const turn = leg.turn;
    if (!turn) return;
    leg.turn = undefined;
    this.opts.stats?.allocation(false);
    void this.werift!.then(async (w) => {
      await new Promise((r) => setImmediate(r)); // the bye's sendData has resolved its channel and queued the packet
      const socket = (turn.transport as UdpTransport).socket;
      if (turn.integrityKey && turn.realm && turn.nonce) {
        const dealloc = new w.Message(w.methods.REFRESH, w.classes.REQUEST)
          .setAttribute('LIFETIME', 0)
          .setAttribute('USERNAME', turn.username)
          .setAttribute('REALM', turn.realm)
          .setAttribute('NONCE', turn.nonce)
          .addMessageIntegrity(turn.integrityKey)
          .addFingerprint();
        await new Promise<void>((r) => socket.send(dealloc.bytes, turn.server[1], turn.server[0], () => r()));
      }
      for (const t of Object.values((turn as unknown as TurnInternals).transactions)) t.failWithTimeout();
      await turn.close();
    }).catch(() => {});
  }
}

/** werift's TurnProtocol parts the plane reaches past its typed surface. */
interface TurnInternals {
  refresh: (grantedS: number) => void;
  transactions: Record<string, { request: Message; failWithTimeout(): void }>;
}

function legKey(device: string, call: string): string {
  return `${device}\n${call}`;
}

/** `host:port` → address; undefined when malformed. */
export function parseEndpoint(endpoint: string): Address | undefined {
  const colon = endpoint.lastIndexOf(':');
  const port = Number(endpoint.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port <= 0 || port > 65_535) return undefined;
  return [endpoint.slice(0, colon).replace(/^\[|\]$/g, ''), port];
}

/** Host and port of the first `turn:` URL over UDP (`turn:host[:port][?transport=udp]`, port 3478 by default). */
export function turnServer(urls: readonly string[]): Address | undefined {
  for (const url of urls) {
    const m = /^turn:(\[[^\]]+\]|[^:?]+)(?::(\d+))?(?:\?transport=(\w+))?$/i.exec(url.trim());
    if (!m || (m[3] && m[3].toLowerCase() !== 'udp')) continue;
    return [m[1]!.replace(/^\[|\]$/g, ''), m[2] ? Number(m[2]) : 3478];
  }
  return undefined;
}

/** The ERROR-CODE and transaction of a STUN error response, or undefined for anything else (media, ChannelData, a success). */
function errorOf(w: Werift, data: Buffer): { code: number; id: string } | undefined {
  if (data.length < 20 || (data[0]! & 0xc0) !== 0 || (data.readUInt16BE(0) & 0x0110) !== 0x0110) return undefined;
  const msg = w.parseMessage(data);
  const code = msg?.getAttributeValue('ERROR-CODE') as [number, string] | undefined;
  return msg && code ? { code: code[0], id: msg.transactionIdHex } : undefined;
}
