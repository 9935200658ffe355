import { randomBytes } from 'node:crypto';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import type { Message } from 'werift';
import { turnCredentialsProblem, turnPassword } from './turn-credentials.ts';

type Werift = typeof import('werift');
type Address = readonly [string, number];

export interface RelayStandinOptions {
  /** The TURN REST API secret shared with the chat nodes. */
  secret: string;
  /** UDP port on 127.0.0.1; 0 or absent picks a free one. Kept by `restart`. */
  port?: number;
  realm?: string;
  /** Allocations alive at once, at most; one more is answered 508 (Insufficient Capacity). Default 10,000. */
  maxAllocations?: number;
  /** Wall clock, ms (credential expiry, lifetimes). */
  now?: () => number;
}

/** What the stand-in relay did, for tests and the engine. */
export interface RelayStandinStats {
  /** Allocations alive now. */
  allocations: number;
  /** Allocations granted since start. */
  allocated: number;
  /** Allocate requests refused for their credentials (malformed, forged or expired). */
  refused: number;
  /** Payload bytes relayed, both directions. */
  relayedBytes: number;
  /** Packets dropped: no permission for the peer, or no such channel. */
  dropped: number;
}

const UDP_TRANSPORT = 0x11000000;
const DEFAULT_LIFETIME_S = 600;
const MAX_LIFETIME_S = 3600;
const PERMISSION_MS = 300_000;
const CHANNEL_MS = 600_000;
/** How often expired allocations are swept. */
const SWEEP_MS = 5000;

interface Allocation {
  client: Address;
  username: string;
  key: Buffer;
  relay: Socket;
  relayPort: number;
  expiresAt: number;
  /** Peer IP → permission expiry (RFC 8656: permissions are per IP). */
  perms: Map<string, number>;
  /** Channel number → peer; `ip:port` → channel number. */
  channels: Map<number, { peer: Address; expiresAt: number }>;
  byPeer: Map<string, number>;
  /** The last answered request, sent again when the client retransmits it (its answer was lost). */
  last?: { id: string; bytes: Buffer };
}

/**
 * A minimal TURN relay for the embedded world, where nothing may need
 * installing (no coturn). It speaks enough of TURN (RFC 8656) over UDP for
 * an unchanged TURN client (werift's, which the live media plane uses):
 * Allocate with long-term credentials and MESSAGE-INTEGRITY, Refresh
 * (lifetime 0 releases), CreatePermission, ChannelBind with ChannelData, and
 * Send/Data indications. Chosen over a private relay protocol so the devices
 * run the same client code against this relay and against coturn; werift's
 * STUN message classes do the encoding, so what is left is the allocation
 * table.
 *
 * Credentials are the TURN REST API's, checked as coturn's `use-auth-secret`
 * does: the password of `<expiry>:<user>` is base64(HMAC-SHA1(secret,
 * username)); the request's MESSAGE-INTEGRITY must verify with the key made
 * from it (else: forged), and the expiry must be in the future. A refusal is
 * a 401; for an expired username (the right secret) the 401 carries a
 * MESSAGE-INTEGRITY, so a client gives up at once instead of timing out.
 *
 * Loopback only: it listens on 127.0.0.1 and relays from 127.0.0.1 ports.
 * Not for production; no TCP, no IPv6, no EVEN-PORT or reservations.
 */
export class RelayStandin {
  readonly stats: RelayStandinStats = { allocations: 0, allocated: 0, refused: 0, relayedBytes: 0, dropped: 0 };
  readonly realm: string;
  private socket?: Socket;
  private nonce = randomBytes(16).toString('hex');
  private readonly allocs = new Map<string, Allocation>();
  private sweeper?: NodeJS.Timeout;
  private readonly now: () => number;
  private portNow = 0;

  private constructor(private readonly w: Werift, private readonly opts: RelayStandinOptions) {
    this.realm = opts.realm ?? 'chatlab';
    this.now = opts.now ?? Date.now;
  }

  /** Starts the relay on 127.0.0.1 (werift is loaded on first use: a world without calls does not pay for it). */
  static async start(opts: RelayStandinOptions): Promise<RelayStandin> {
    const relay = new RelayStandin(await import('werift'), opts);
    await relay.listen(opts.port ?? 0);
    return relay;
  }

  get port(): number {
    return this.portNow;
  }

  get secret(): string {
    return this.opts.secret;
  }

  /** `turn:127.0.0.1:<port>?transport=udp`, as handed to devices. */
  get urls(): string[] {
    return [`turn:127.0.0.1:${this.portNow}?transport=udp`];
  }

  get running(): boolean {
    return this.socket !== undefined;
  }

  /** Closes the listener and every allocation: every relayed call in flight goes silent. */
  async stop(): Promise<void> {
    clearInterval(this.sweeper);
    for (const key of [...this.allocs.keys()]) this.release(key);
    const s = this.socket;
    this.socket = undefined;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }

  /** Back on the same port, with no allocations (clients must allocate again) and a fresh nonce. */
  async restart(): Promise<void> {
    await this.stop();
    this.nonce = randomBytes(16).toString('hex');
    await this.listen(this.portNow);
  }

  private async listen(port: number): Promise<void> {
    const s = createSocket('udp4');
    await new Promise<void>((res, rej) => {
      s.once('error', rej);
      s.bind(port, '127.0.0.1', () => {
        s.off('error', rej);
        res();
      });
    });
    s.on('error', () => {}); // ICMP errors of one client must not end the relay
    s.on('message', (data, rinfo) => this.fromClient(data, rinfo));
    this.socket = s;
    this.portNow = s.address().port;
    this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
    this.sweeper.unref();
  }

  private fromClient(data: Buffer, rinfo: RemoteInfo): void {
    const key = `${rinfo.address}:${rinfo.port}`;
    // ChannelData: the first two bits are 01 (channel numbers 0x4000–0x7FFF).
    if (data.length >= 4 && (data[0]! & 0xc0) === 0x40) return this.channelData(key, data);
    const msg = this.w.parseMessage(data);
    if (!msg) return;
    const { classes, methods } = this.w;
    const alloc = this.allocs.get(key);
    if (msg.messageClass === classes.INDICATION) {
      if (msg.messageMethod === methods.SEND && alloc) this.sendIndication(alloc, msg);
      return;
    }
    if (msg.messageClass !== classes.REQUEST) return;
    if (msg.messageMethod === methods.BINDING) {
      return this.reply(rinfo, this.message(methods.BINDING, classes.RESPONSE, msg).setAttribute('XOR-MAPPED-ADDRESS', [rinfo.address, rinfo.port]).addFingerprint());
    }
    if (alloc?.last?.id === msg.transactionIdHex) return this.sendTo(rinfo.address, rinfo.port, alloc.last.bytes);
    if (msg.messageMethod === methods.ALLOCATE) return this.allocate(key, rinfo, data, msg, alloc);
    if (!alloc) return this.error(rinfo, msg, 437, 'Allocation Mismatch');
    const verified = this.w.parseMessage(data, alloc.key);
    if (!verified || verified.getAttributeValue('USERNAME') !== alloc.username) return this.challenge(rinfo, msg, 401, 'Unauthorized');
    if (!this.nonceOk(verified)) return this.challenge(rinfo, msg, 438, 'Stale Nonce');
    const now = this.now();
    let res: Message;
    switch (msg.messageMethod) {
      case methods.REFRESH: {
        const lifetime = lifetimeOf(verified);
        res = this.message(methods.REFRESH, classes.RESPONSE, msg).setAttribute('LIFETIME', lifetime);
        if (lifetime === 0) {
          this.release(key);
          return this.reply(rinfo, res.addMessageIntegrity(alloc.key).addFingerprint());
        }
        alloc.expiresAt = now + lifetime * 1000;
        break;
      }
      case methods.CREATE_PERMISSION: {
        const peer = verified.getAttributeValue('XOR-PEER-ADDRESS') as Address | undefined;
        if (!peer) return this.error(rinfo, msg, 400, 'Bad Request', alloc.key);
        alloc.perms.set(peer[0], now + PERMISSION_MS);
        res = this.message(methods.CREATE_PERMISSION, classes.RESPONSE, msg);
        break;
      }
      case methods.CHANNEL_BIND: {
        const peer = verified.getAttributeValue('XOR-PEER-ADDRESS') as Address | undefined;
        const number = verified.getAttributeValue('CHANNEL-NUMBER') as number | undefined;
        const peerKey = peer ? `${peer[0]}:${peer[1]}` : '';
        const bound = number === undefined ? undefined : alloc.channels.get(number);
        const other = alloc.byPeer.get(peerKey);
        if (!peer || number === undefined || number < 0x4000 || number > 0x7fff
          || (bound && `${bound.peer[0]}:${bound.peer[1]}` !== peerKey) || (other !== undefined && other !== number)) {
          return this.error(rinfo, msg, 400, 'Bad Request', alloc.key);
        }
        alloc.channels.set(number, { peer: [peer[0], peer[1]], expiresAt: now + CHANNEL_MS });
        alloc.byPeer.set(peerKey, number);
        alloc.perms.set(peer[0], now + PERMISSION_MS);
        res = this.message(methods.CHANNEL_BIND, classes.RESPONSE, msg);
        break;
      }
      default:
        return this.error(rinfo, msg, 400, 'Bad Request', alloc.key);
    }
    const bytes = res.addMessageIntegrity(alloc.key).addFingerprint().bytes;
    alloc.last = { id: msg.transactionIdHex, bytes };
    this.sendTo(rinfo.address, rinfo.port, bytes);
  }

  private allocate(key: string, rinfo: RemoteInfo, data: Buffer, msg: Message, existing: Allocation | undefined): void {
    const { classes, methods } = this.w;
    const username = msg.getAttributeValue('USERNAME') as string | undefined;
    if (username === undefined || !msg.attributesKeys.includes('MESSAGE-INTEGRITY')) return this.challenge(rinfo, msg, 401, 'Unauthorized');
    const password = turnPassword(this.opts.secret, username);
    const integrityKey = this.w.makeIntegrityKey(username, this.realm, password);
    const verified = this.w.parseMessage(data, integrityKey);
    const problem = verified ? turnCredentialsProblem(this.opts.secret, username, password, this.now()) : 'forged';
    if (problem) {
      this.stats.refused++;
      // The right secret (only the expiry is wrong): sign the refusal so the client can trust it and stop at once.
      return this.challenge(rinfo, msg, 401, `Unauthorized (${problem})`, problem === 'expired' ? integrityKey : undefined);
    }
    if (!this.nonceOk(verified!)) return this.challenge(rinfo, msg, 438, 'Stale Nonce');
    if (existing) return this.error(rinfo, msg, 437, 'Allocation Mismatch', integrityKey);
    if (verified!.getAttributeValue('REQUESTED-TRANSPORT') !== UDP_TRANSPORT) return this.error(rinfo, msg, 442, 'Unsupported Transport Protocol', integrityKey);
    if (this.allocs.size >= (this.opts.maxAllocations ?? 10_000)) return this.error(rinfo, msg, 508, 'Insufficient Capacity', integrityKey);
    const relay = createSocket('udp4');
    const lifetime = lifetimeOf(verified!) || DEFAULT_LIFETIME_S;
    const alloc: Allocation = {
      client: [rinfo.address, rinfo.port], username, key: integrityKey, relay, relayPort: 0,
      expiresAt: this.now() + lifetime * 1000, perms: new Map(), channels: new Map(), byPeer: new Map(),
    };
    this.allocs.set(key, alloc);
    this.stats.allocations = this.allocs.size;
    relay.on('error', () => {});
    relay.on('message', (payload, from) => this.fromPeer(alloc, payload, from));
    relay.bind(0, '127.0.0.1', () => {
      if (this.allocs.get(key) !== alloc) return; // released while binding
      alloc.relayPort = relay.address().port;
      this.stats.allocated++;
      const res = this.message(methods.ALLOCATE, classes.RESPONSE, msg)
        .setAttribute('XOR-RELAYED-ADDRESS', ['127.0.0.1', alloc.relayPort])
        .setAttribute('XOR-MAPPED-ADDRESS', [rinfo.address, rinfo.port])
        .setAttribute('LIFETIME', lifetime)
        .addMessageIntegrity(integrityKey)
        .addFingerprint();
      alloc.last = { id: msg.transactionIdHex, bytes: res.bytes };
      this.sendTo(rinfo.address, rinfo.port, alloc.last.bytes);
    });
  }

  private sendIndication(alloc: Allocation, msg: Message): void {
    const peer = msg.getAttributeValue('XOR-PEER-ADDRESS') as Address | undefined;
    const payload = msg.getAttributeValue('DATA') as Buffer | undefined;
    if (!peer || !payload) return;
    this.toPeer(alloc, peer[0], peer[1], payload);
  }

  private channelData(key: string, data: Buffer): void {
    const alloc = this.allocs.get(key);
    const channel = alloc?.channels.get(data.readUInt16BE(0));
    const length = data.readUInt16BE(2);
    if (!alloc || !channel || channel.expiresAt <= this.now() || data.length < 4 + length) {
      this.stats.dropped++;
      return;
    }
    this.toPeer(alloc, channel.peer[0], channel.peer[1], data.subarray(4, 4 + length));
  }

  private toPeer(alloc: Allocation, host: string, port: number, payload: Buffer): void {
    if ((alloc.perms.get(host) ?? 0) <= this.now() || alloc.relayPort === 0) {
      this.stats.dropped++;
      return;
    }
    this.stats.relayedBytes += payload.length;
    alloc.relay.send(payload, port, host);
  }

  /** A packet from a peer to a relayed address: to the client as ChannelData when a channel is bound to the peer, else as a Data indication. */
  private fromPeer(alloc: Allocation, payload: Buffer, from: RemoteInfo): void {
    const now = this.now();
    if ((alloc.perms.get(from.address) ?? 0) <= now) {
      this.stats.dropped++;
      return;
    }
    this.stats.relayedBytes += payload.length;
    const number = alloc.byPeer.get(`${from.address}:${from.port}`);
    const channel = number === undefined ? undefined : alloc.channels.get(number);
    if (number !== undefined && channel && channel.expiresAt > now) {
      const frame = Buffer.allocUnsafe(4 + payload.length);
      frame.writeUInt16BE(number, 0);
      frame.writeUInt16BE(payload.length, 2);
      payload.copy(frame, 4);
      return this.sendTo(alloc.client[0], alloc.client[1], frame);
    }
    const { classes, methods } = this.w;
    const indication = new this.w.Message(methods.DATA, classes.INDICATION)
      .setAttribute('XOR-PEER-ADDRESS', [from.address, from.port])
      .setAttribute('DATA', payload);
    this.sendTo(alloc.client[0], alloc.client[1], indication.bytes);
  }

  private nonceOk(msg: Message): boolean {
    const nonce = msg.getAttributeValue('NONCE') as Buffer | undefined;
    return nonce !== undefined && nonce.toString() === this.nonce;
  }

  private message(method: number, cls: number, request: Message): Message {
    return new this.w.Message(method, cls, request.transactionId);
  }

  /** An error with REALM and NONCE, as a client needs to (re)authenticate. */
  private challenge(rinfo: RemoteInfo, msg: Message, code: number, reason: string, sign?: Buffer): void {
    const res = this.message(msg.messageMethod, this.w.classes.ERROR, msg)
      .setAttribute('ERROR-CODE', [code, reason])
      .setAttribute('REALM', this.realm)
      .setAttribute('NONCE', Buffer.from(this.nonce));
    if (sign) res.addMessageIntegrity(sign);
    this.reply(rinfo, res.addFingerprint());
  }

  private error(rinfo: RemoteInfo, msg: Message, code: number, reason: string, sign?: Buffer): void {
    const res = this.message(msg.messageMethod, this.w.classes.ERROR, msg).setAttribute('ERROR-CODE', [code, reason]);
    if (sign) res.addMessageIntegrity(sign);
    this.reply(rinfo, res.addFingerprint());
  }

  private reply(rinfo: RemoteInfo, res: Message): void {
    this.sendTo(rinfo.address, rinfo.port, res.bytes);
  }

  private sendTo(host: string, port: number, bytes: Buffer): void {
    this.socket?.send(bytes, port, host);
  }

  private release(key: string): void {
    const alloc = this.allocs.get(key);
    if (!alloc) return;
    this.allocs.delete(key);
    this.stats.allocations = this.allocs.size;
    try {
      alloc.relay.close();
    } catch {
      // never bound
    }
  }

  /** Allocations past their lifetime (a client that vanished without releasing) are closed. */
  private sweep(): void {
    const now = this.now();
    for (const [key, alloc] of this.allocs) if (alloc.expiresAt <= now) this.release(key);
  }
}

/** The LIFETIME a request asks for, seconds, capped at an hour; absent: the default 600 s. */
function lifetimeOf(msg: Message): number {
  const asked = msg.getAttributeValue('LIFETIME') as number | undefined;
  return asked === undefined ? DEFAULT_LIFETIME_S : Math.min(asked, MAX_LIFETIME_S);
}
