import type { Envelope } from '../bus/envelope.ts';
import type { Unsubscribe } from '../bus/bus.ts';
import type { TimerHandle } from '../clock/clock.ts';
import type { TokenIssuer } from '../auth/tokens.ts';
import { errorFrame } from '../protocol/error-frame.ts';
import { ChatError, CloseCodes } from '../protocol/errors.ts';
import type { ClientFrame, ServerFrame } from '../protocol/frames.ts';
import { FrameError, parseClientFrame, validateClientFrame } from '../protocol/parse.ts';
import { CallOps } from './call-ops.ts';
import { ConnIndex } from './conn-index.ts';
import type { SignedIn } from './connection.ts';
import { Connection } from './connection.ts';
import { Delivery } from './delivery.ts';
import { Directory } from './directory.ts';
import { GroupOps } from './group-ops.ts';
import { KeysOps } from './keys-ops.ts';
import { Limits } from './limits.ts';
import { Liveness } from './liveness.ts';
import { NodeMetrics } from './metrics.ts';
import type { NodeContext } from './node-context.ts';
import type { ChatNodeOptions } from './options.ts';
import { resolveNodeOptions } from './options.ts';
import type { ConnId, Ports, Transport } from './ports.ts';
import { PresenceHub } from './presence-hub.ts';
import { SendPath } from './send-path.ts';
import { SignIn } from './sign-in.ts';
import { Snowflake } from './snowflake.ts';
import { StoryOps } from './story-ops.ts';

/**
 * One chat node: the message lifecycle of docs/design.md, fed events and acting
 * only through its ports and the transport. It does no I/O of its own, so the
 * gateway (real sockets) and the simulator (virtual time) drive the same code.
 *
 * Events in: `onOpen`, `onFrame`, `onClose` (from the transport),
 * `onEnvelope` (from the Bus), timers (from the Clock). The node composes
 * its parts, each built on a NodeContext, and dispatches events to them.
 */
export class ChatNode {
  readonly opts: ChatNodeOptions;
  readonly metrics = new NodeMetrics();
  readonly ids: Snowflake;
  readonly directory: Directory;
  readonly connections = new ConnIndex();
  readonly delivery: Delivery;
  readonly groupOps: GroupOps;
  readonly presence: PresenceHub;
  readonly limits: Limits;
  private readonly sendPath: SendPath;
  private readonly keysOps: KeysOps;
  private readonly storyOps: StoryOps;
  private readonly callOps: CallOps;
  private readonly signIn: SignIn;
  private readonly liveness: Liveness;
  private timers: TimerHandle[] = [];
  private unsubscribe?: Unsubscribe;
  /** False once stopped or killed: late async work then has no effect. */
  alive = false;

  constructor(
    opts: Partial<ChatNodeOptions> & Pick<ChatNodeOptions, 'nodeId' | 'nodeNumber'>,
    readonly ports: Ports,
    tokens: TokenIssuer,
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
    this.keysOps = new KeysOps(ctx, this.delivery);
    this.storyOps = new StoryOps(ctx);
    this.callOps = new CallOps(ctx);
    this.signIn = new SignIn(ctx, tokens, { limits: this.limits, presence: this.presence, groupOps: this.groupOps, delivery: this.delivery, calls: this.callOps });
    this.liveness = new Liveness(ctx, { delivery: this.delivery, sendPath: this.sendPath, presence: this.presence });
  }

  get id(): string {
    return this.opts.nodeId;
  }

  async start(): Promise<void> {
    const { registry, bus, clock } = this.ports;
    this.alive = true;
    await registry.heartbeat(this.id, this.liveness.ttlMs);
    this.unsubscribe = await bus.subscribe(this.id, (env) => this.onEnvelope(env));
    this.timers.push(
      clock.setInterval(() => this.liveness.beat(), this.opts.heartbeatIntervalMs),
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
    this.callOps.halt();
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
    this.signIn.closed(c);
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
      if (frame.code === 'unauthorized') return this.signIn.refuse(c, frame);
      return this.offence(c, frame, frame.cid);
    }
    if (frame.t === 'hello') {
      if (c.state !== 'new') return this.offence(c, new ChatError('bad_frame', 'hello sent twice'));
      void this.signIn.hello(c, frame.token).catch((err) => this.failed(c, err));
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
      case 'story':
        return this.storyOps.relay(env.devices, env.frame);
      case 'call':
        return this.callOps.relay(env);
      case 'kick':
        return this.signIn.kicked(env);
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
      case 'keys.fetch':
      case 'keys.count':
      case 'keys.distribute':
      case 'keys.introduce':
        return this.keysOps.onFrame(c, f);
      case 'story.post':
      case 'story.list':
      case 'story.view':
      case 'story.views':
        return this.storyOps.onFrame(c, f);
      case 'call.offer':
      case 'call.ringing':
      case 'call.answer':
      case 'call.candidate':
      case 'call.reject':
      case 'call.busy':
      case 'call.hangup':
        return this.callOps.onFrame(c, f);
      default:
        return this.groupOps.onFrame(c, f);
    }
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

  /** A frame validation refused: tell the device; after `maxOffences`, close with 1008. */
  private offence(c: Connection, err: ChatError, cid?: string): void {
    this.metrics.reject(err.code);
    this.reply(c, errorFrame(err, cid));
    if (++c.offences >= this.opts.maxOffences) this.transport.close(c.id, CloseCodes.policy, `${err.code}: too many bad frames`);
  }
}
