import type { Envelope } from '../bus/envelope.ts';
import type { Unsubscribe } from '../bus/bus.ts';
import type { TimerHandle } from '../clock/clock.ts';
import type { TokenIssuer } from '../auth/tokens.ts';
import { errorFrame } from '../protocol/error-frame.ts';
import { ChatError, CloseCodes } from '../protocol/errors.ts';
import type { ClientFrame, ServerFrame } from '../protocol/frames.ts';
import type { DeviceId, UserId } from '../protocol/ids.ts';
import { FrameError, parseClientFrame, validateClientFrame } from '../protocol/parse.ts';
import { ConnIndex } from './conn-index.ts';
import type { SignedIn } from './connection.ts';
import { Connection } from './connection.ts';
import { Delivery } from './delivery.ts';
import { Directory } from './directory.ts';
import { GroupOps } from './group-ops.ts';
import { Limits } from './limits.ts';
import { NodeMetrics } from './metrics.ts';
import type { NodeContext } from './node-context.ts';
import type { ChatNodeOptions } from './options.ts';
import { resolveNodeOptions } from './options.ts';
import type { ConnId, Ports, Transport } from './ports.ts';
import { PresenceHub } from './presence-hub.ts';
import { SendPath } from './send-path.ts';
import { Snowflake } from './snowflake.ts';

/**
 * One chat node: the message lifecycle of DESIGN.md, fed events and acting
 * only through its ports and the transport. It does no I/O of its own, so the
 * gateway (real sockets) and the simulator (virtual time) drive the same code.
 *
 * Events in: `onOpen`, `onFrame`, `onClose` (from the transport),
 * `onEnvelope` (from the Bus), timers (from the Clock).
 */
export class ChatNode {
  readonly opts: ChatNodeOptions;
  readonly metrics = new NodeMetrics();
  readonly ids: Snowflake;
  readonly directory: Directory;
  readonly delivery: Delivery;
  readonly groupOps: GroupOps;
  readonly presence: PresenceHub;
  readonly limits: Limits;
  private readonly sendPath: SendPath;
  readonly connections = new ConnIndex();
  private timers: TimerHandle[] = [];
  private unsubscribe?: Unsubscribe;
  /** Heartbeats still to be followed by a drain of every connection, after the registry was unreachable. */
  private redrainsOwed = 0;
  private redrainReason = '';
  /** When the last heartbeat that reached the registry was sent (clock ms). */
  private lastBeatMs: number | undefined;
  /** Alive nodes at the last heartbeat, to notice a peer's death. */
  private peers = new Set<string>();
  /** False once stopped or killed: late async work then has no effect. */
  alive = false;

  constructor(
    opts: Partial<ChatNodeOptions> & Pick<ChatNodeOptions, 'nodeId' | 'nodeNumber'>,
    readonly ports: Ports,
    private readonly tokens: TokenIssuer,
    private readonly transport: Transport,
  ) {
    this.opts = resolveNodeOptions(opts);
    this.ids = new Snowflake(ports.clock, this.opts.nodeNumber);
    this.directory = new Directory(ports, this.opts.directoryCacheMs);
    const ctx: NodeContext = {
      ports, opts: this.opts, metrics: this.metrics, directory: this.directory, ids: this.ids, connections: this.connections,
      alive: () => this.alive,
      loadLevel: () => this.loadLevel(),
      reply: (c, f) => this.reply(c, f),
      sendRaw: (c, t) => this.sendRaw(c, t),
      close: (id, code, why) => transport.close(id, code, why),
      failed: (c, err, cid) => this.failed(c, err, cid),
    };
    this.limits = new Limits({
      clock: ports.clock, registry: ports.registry, opts: this.opts, metrics: this.metrics,
      reply: ctx.reply, sendRaw: ctx.sendRaw, close: ctx.close,
    });
    this.delivery = new Delivery(ctx);
    this.groupOps = new GroupOps(ctx, this.delivery);
    this.presence = new PresenceHub(ctx, this.limits);
    this.sendPath = new SendPath(ctx, this.delivery, this.groupOps);
  }

  get id(): string {
    return this.opts.nodeId;
  }

  async start(): Promise<void> {
    const { registry, bus, clock } = this.ports;
    this.alive = true;
    await registry.heartbeat(this.id, this.opts.heartbeatIntervalMs * 3);
    this.unsubscribe = await bus.subscribe(this.id, (env) => this.onEnvelope(env));
    this.timers.push(
      clock.setInterval(() => this.heartbeat(), this.opts.heartbeatIntervalMs),
      clock.setInterval(() => this.presence.flush(), this.opts.presenceFlushMs),
      clock.setInterval(() => this.limits.sweepHellos(), this.opts.helloTimeoutMs / 4),
    );
  }

  /** Graceful stop: leave the registry, close every connection with 1001 so devices move elsewhere. */
  async stop(): Promise<void> {
    if (!this.alive) return;
    const users = [...this.connections.byUser.keys()];
    this.halt();
    for (const c of this.connections.open.values()) this.transport.close(c.id, CloseCodes.goingAway, 'node stopping');
    await Promise.allSettled([
      this.ports.registry.retire(this.id),
      this.unsubscribe?.(),
      ...users.map((u) => this.ports.presence.offline(u)),
    ]);
  }

  /** Crash: stop at once without telling anyone. The registry entry expires with the heartbeat TTL. */
  kill(): void {
    if (!this.alive) return;
    this.halt();
    void this.unsubscribe?.().catch(() => {});
  }

  private halt(): void {
    this.alive = false;
    this.delivery.redelivery.clear();
    for (const t of this.timers) this.ports.clock.clear(t);
    this.timers = [];
  }

  /** The gateway's measurement of event-loop delay, for admission control. */
  setEventLoopDelay(ms: number): void {
    this.metrics.eventLoopDelayMs = ms;
  }

  /** 0 = fine, 1 = shed ephemeral work, 2 = reject sends too. */
  loadLevel(): 0 | 1 | 2 {
    const o = this.opts;
    const d = this.metrics.eventLoopDelayMs;
    const inflight = this.metrics.inFlight;
    if (inflight >= o.maxInFlight || d >= 2 * o.overloadEventLoopDelayMs) return 2;
    if (inflight >= o.maxInFlight / 2 || d >= o.overloadEventLoopDelayMs) return 1;
    return 0;
  }

  onOpen(conn: ConnId): void {
    if (!this.alive) return this.transport.close(conn, CloseCodes.goingAway, 'node stopping');
    const c = new Connection(conn, this.ports.clock.now());
    this.connections.open.set(conn, c);
    this.limits.opened(c);
    this.metrics.connections++;
  }

  onClose(conn: ConnId): void {
    const c = this.connections.open.get(conn);
    if (!c) return;
    this.connections.open.delete(conn);
    this.metrics.connections--;
    c.state = 'closed';
    this.limits.settled(c);
    c.pageWaiter?.();
    this.delivery.wakeIfOwed(c);
    // Replaced by a newer sign-in of its device here (retire), or never signed in: the device is not going offline.
    const s = this.connections.current(c);
    if (!s) return;
    const lastOfUser = this.detach(s);
    if (!this.alive) return;
    void this.ports.registry.remove(s.device, this.id).catch(() => {});
    void this.ports.presence.unsubscribeAll(s.device).catch(() => {});
    if (lastOfUser) this.presence.wentOffline(s.user);
  }

  /** Takes a signed-in connection out of the device, user and group indexes; true when it was its user's last one here. */
  private detach(c: SignedIn): boolean {
    const last = this.connections.remove(c);
    this.groupOps.detach(c);
    return last;
  }

  /**
   * The device signed in again here while its old connection still looks
   * open (the node is told of a dropped socket late, or never): the old one
   * leaves the indexes now and is closed. Its close must not unregister the
   * device (the registry keys a device by node, and the new sign-in's put
   * may land first) nor mark it offline: it is coming back online here.
   */
  private retire(old: SignedIn): void {
    if (this.connections.byDevice.get(old.device) === old) this.detach(old);
    this.transport.close(old.id, CloseCodes.replaced, 'connected again');
  }

  /**
   * A frame from a device: text as received, or an object from a transport
   * that carries objects (see validateClientFrame). Whatever handling the
   * frame throws or rejects with stays with this connection (see `failed`):
   * no input reaches the process as an uncaught exception or an unhandled
   * rejection.
   */
  onFrame(conn: ConnId, input: string | object): void {
    const c = this.connections.open.get(conn);
    if (!c || !this.alive) return;
    try {
      this.handle(c, input);
    } catch (err) {
      this.failed(c, err);
    }
  }

  private handle(c: Connection, input: string | object): void {
    this.metrics.framesIn++;
    const frame = typeof input === 'string' ? parseClientFrame(input) : validateClientFrame(input);
    if (frame instanceof FrameError) {
      // A hello without a usable token is a failed sign-in, as a bad token is.
      if (frame.code === 'unauthorized') return this.refuse(c, frame);
      return this.offence(c, frame, frame.cid);
    }
    if (frame.t === 'hello') {
      if (c.state !== 'new') return this.offence(c, new ChatError('bad_frame', 'hello sent twice'));
      void this.hello(c, frame.token).catch((err) => this.failed(c, err));
      return;
    }
    if (!c.isReady()) return this.limits.notReady(c);
    if (!this.limits.admit(c, frame)) return;
    // The two frames of every message are called straight, without dispatch's extra promise: onSend never rejects.
    if (frame.t === 'send') return void this.sendPath.onSend(c, frame);
    if (frame.t === 'recv') return void this.delivery.onRecv(c, frame.ids).catch((err) => this.failed(c, err));
    void this.dispatch(c, frame).catch((err) => this.failed(c, err));
  }

  /**
   * A frame's handling failed. A ChatError (an input the state refuses, or
   * a port that failed: `unavailable`) is answered as an error frame; any
   * other error is a fault of this node, not of the input: the connection
   * is closed with 1011 ("internal error") and the device reconnects. Never
   * throws.
   */
  failed(c: Connection, err: unknown, cid?: string): void {
    try {
      if (err instanceof ChatError) return this.reply(c, errorFrame(err, cid));
      this.metrics.reject('internal');
      this.transport.close(c.id, CloseCodes.internal, 'internal error');
    } catch {
      // The transport failed as well: nothing more can be said to this connection.
    }
  }

  onEnvelope(env: Envelope): void {
    if (!this.alive) return;
    switch (env.k) {
      case 'deliver':
        return this.delivery.deliverLocal(env.devices, env.item, env.push);
      case 'group':
        return this.groupOps.onGroupEnvelope(env);
      case 'typing':
      case 'presence':
        return this.presence.relay(env.devices, env.frame, env.k);
      case 'kick': {
        const c = this.connections.byDevice.get(env.device);
        if (c && env.newNode !== this.id) this.transport.close(c.id, CloseCodes.replaced, 'connected elsewhere');
        return;
      }
      case 'membership':
        return this.groupOps.onMembership(env);
    }
  }

  private async dispatch(c: SignedIn, f: ClientFrame): Promise<void> {
    switch (f.t) {
      case 'send':
        return this.sendPath.onSend(c, f);
      case 'recv':
        return this.delivery.onRecv(c, f.ids);
      case 'read':
        return this.delivery.onRead(c, f.conv, f.upTo);
      case 'typing':
        return this.presence.onTyping(c, f.to);
      case 'presence.sub':
        return this.presence.onSubscribe(c, f.users);
      case 'ping':
        return this.reply(c, { t: 'pong', serverMs: this.ports.clock.now() });
      case 'keys.publish':
        await this.ports.keys.publish(c.device, f.bundle);
        return this.reply(c, { t: 'keys', user: c.user, bundles: [] });
      case 'keys.fetch':
        // An unknown user (or one without published keys) gets an empty list, not not_found.
        return this.reply(c, { t: 'keys', user: f.user, bundles: await this.ports.keys.fetch(f.user) });
      default:
        return this.groupOps.onFrame(c, f);
    }
  }

  private async hello(c: Connection, token: string): Promise<void> {
    const check = this.tokens.verify(token);
    if (!check.ok) return this.refuse(c, new ChatError(check.code, check.reason));
    const { user, device } = check.claims;
    const s = c.signIn(user, device);
    this.limits.settled(s);
    s.draining = true;
    try {
      // A read (cached) first: registering a device is a write (a transaction in Cassandra) needed once per device, not per connect.
      const known = (await this.directory.devicesOf([user])).get(user) ?? [];
      if (!(await this.limits.deviceRoom(device, known))) return this.tooManyDevices(s);
      if (!known.includes(device)) {
        await this.ports.accounts.addDevice(user, device);
        this.directory.noteDevice(user, device);
        await this.newDeviceFence(user, device);
      }
      const old = this.connections.byDevice.get(device);
      if (old && old !== s) this.retire(old);
      const previous = await this.ports.registry.put(device, this.id);
      if (previous && previous !== this.id) {
        void this.ports.bus.publish(previous, { k: 'kick', device, newNode: this.id }).catch(() => {});
      }
      if (s.closed || !this.alive) return void this.ports.registry.remove(device, this.id).catch(() => {});
      if (this.connections.add(s)) this.presence.cameOnline(user);
      await this.groupOps.attach(s);
      s.state = 'ready';
      this.reply(s, { t: 'welcome', node: this.id, device, serverMs: this.ports.clock.now() });
      await this.delivery.drain(s);
    } catch (err) {
      if (!(err instanceof ChatError)) return this.failed(s, err);
      this.reply(s, errorFrame(err));
      this.transport.close(s.id, CloseCodes.goingAway, 'sign-in failed, retry');
    }
  }

  private tooManyDevices(c: SignedIn): void {
    const max = this.opts.devicesPerUserMax;
    this.metrics.reject('too_many_devices');
    this.reply(c, errorFrame(new ChatError('forbidden', `this user already has ${max} devices connected (devicesPerUserMax)`)));
    this.transport.close(c.id, CloseCodes.tooManyDevices, 'too many devices connected');
  }

  /**
   * A device the user's account did not list until now is welcomed only
   * once no node can still serve a list without it from its directory
   * cache: a cached list was read before the device was added and lives at
   * most `directoryCacheMs`, so after that wait every node reads a list with
   * the device in it, and every message sent once the device is welcomed is
   * written to its inbox. Without the wait, a peer's stale list would skip it
   * for good (at-least-once to every device).
   *
   * No wait when nothing can be stale: the user's first device (the list is
   * read again after the write, so two devices registering at once on two
   * nodes see each other, and directories never cache an empty list), or no
   * other node alive (this node's own cache has the device: noteDevice). So
   * it is paid once per added device of a user who already had one, as
   * linking a companion device takes a moment.
   */
  private async newDeviceFence(user: UserId, device: DeviceId): Promise<void> {
    const ms = this.opts.directoryCacheMs;
    if (ms <= 0) return;
    const devices = (await this.ports.accounts.devicesOf([user])).get(user) ?? [];
    if (!devices.some((d) => d !== device)) return;
    const nodes = await this.ports.registry.nodes();
    if (!nodes.some((n) => n !== this.id)) return;
    await new Promise<void>((resolve) => this.ports.clock.setTimeout(resolve, ms));
  }

  /**
   * Heartbeats keep this node alive in the registry. Two ways its liveness can
   * lapse while its connections stay open: the registry is unreachable (the
   * heartbeat fails), or this node itself stood still for longer than the TTL
   * (SIGSTOP, a long stall) and peers saw it dead. Either way senders meanwhile
   * chose push over routing here, so once a heartbeat gets through again,
   * every connection is drained (twice, see redrainAll).
   */
  private heartbeat(): void {
    const ttl = this.opts.heartbeatIntervalMs * 3;
    const sentMs = this.ports.clock.now();
    // The registry can become unreachable between the heartbeat and the peer list: either failure owes the redrains.
    void this.ports.registry.heartbeat(this.id, ttl).then(() => {
      const previous = this.lastBeatMs;
      this.lastBeatMs = sentMs;
      if (previous !== undefined && sentMs - previous > ttl) this.oweRedrains('this node lapsed');
      if (this.redrainsOwed > 0 && this.alive) {
        this.redrainsOwed--;
        this.redrainAll(this.redrainReason);
      }
      return this.watchPeers();
    }).catch(() => this.oweRedrains('shared state back'));
    this.sendPath.renewClaims();
    this.presence.refresh();
  }

  private oweRedrains(reason: string): void {
    this.redrainsOwed = 2;
    this.redrainReason = reason;
  }

  /**
   * A node that dies between acking a send and routing it leaves the message
   * in its recipients' inboxes, and recipients connected elsewhere would only
   * see it on their next reconnect. So when a peer's heartbeat lapses, every
   * surviving node re-drains its connections once (devices drop repeats).
   */
  private async watchPeers(): Promise<void> {
    const now = new Set(await this.ports.registry.nodes());
    const vanished = [...this.peers].find((n) => n !== this.id && !now.has(n));
    this.peers = now;
    if (vanished && this.alive) this.redrainAll(`${vanished} lapsed`);
  }

  /**
   * While the registry and bus were unreachable (shared state down, or this
   * node cut off from it), live deliveries to devices here were dropped:
   * lookups failed, bus envelopes had no subscriber, or this node looked dead
   * and senders chose push. Their inbox entries wait; a drain of every
   * connection hands them over. Done twice — on the first heartbeat back and
   * the next — because the bus resubscribes on its own connection a moment
   * later, and an envelope lost in that gap may belong to an entry written
   * after the first drain read the inbox. Devices drop the repeats (mid).
   */
  private redrainAll(reason: string): void {
    this.metrics.redrains.set(reason, (this.metrics.redrains.get(reason) ?? 0) + 1);
    for (const c of this.connections.open.values()) {
      if (!c.isReady()) continue;
      if (c.draining) c.needsDrain = true;
      // A drain that fails (store still slow or away) would leave the connection marked draining, holding
      // live deliveries forever: close it instead, so the device reconnects and drains afresh.
      else void this.delivery.drain(c).catch(() => this.drainFailed(c.id));
    }
  }

  private drainFailed(conn: ConnId): void {
    this.metrics.drainFailures++;
    this.transport.close(conn, CloseCodes.goingAway, 'drain failed, reconnect');
  }

  reply(c: Connection, frame: ServerFrame): void {
    if (!this.transport.sendFrame) return this.sendRaw(c, JSON.stringify(frame));
    if (c.closed || !this.alive) return;
    this.metrics.framesOut++;
    this.transport.sendFrame(c.id, frame);
  }

  sendRaw(c: Connection, text: string): void {
    if (c.closed || !this.alive) return;
    this.metrics.framesOut++;
    this.transport.send(c.id, text);
  }

  /** A sign-in refused (no usable token, a bad or expired one): tell the device, close with 4401. */
  private refuse(c: Connection, err: ChatError): void {
    this.metrics.reject(err.code);
    this.reply(c, errorFrame(err));
    this.transport.close(c.id, CloseCodes.unauthorized, err.message);
  }

  /** A frame validation refused: tell the device; after `maxOffences`, close with 1008. */
  private offence(c: Connection, err: ChatError, cid?: string): void {
    this.metrics.reject(err.code);
    this.reply(c, errorFrame(err, cid));
    if (++c.offences >= this.opts.maxOffences) this.transport.close(c.id, CloseCodes.policy, `${err.code}: too many bad frames`);
  }
}
