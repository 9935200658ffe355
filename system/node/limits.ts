import type { Clock, TimerHandle } from '../clock/clock.ts';
import { errorFrame } from '../protocol/error-frame.ts';
import { ChatError, CloseCodes } from '../protocol/errors.ts';
import type { ClientFrame, ServerFrame } from '../protocol/frames.ts';
import type { DeviceId, UserId } from '../protocol/ids.ts';
import type { Registry } from '../registry/registry.ts';
import type { Connection, SignedIn } from './connection.ts';
import type { NodeMetrics } from './metrics.ts';
import type { ChatNodeOptions } from './options.ts';
import type { ConnId } from './ports.ts';
import { ConnLimits, type BucketKind } from './conn-limits.ts';
import { KeyedLimiter, TokenBucket } from './rate-limit.ts';

/** What the limits need of their node: a narrow context, not the node. */
export interface LimitsContext {
  clock: Clock;
  registry: Registry;
  opts: ChatNodeOptions;
  metrics: NodeMetrics;
  reply(c: Connection, frame: ServerFrame): void;
  sendRaw(c: Connection, text: string): void;
  close(conn: ConnId, code: number, reason: string): void;
}

/**
 * The limit on every kind of client work but `send` (SendPath's bucket and
 * admission control) and `recv` (≤ 1,000 ids a frame, each acking what was
 * delivered). Consulted once per frame by ChatNode.onFrame; answers
 * `rate_limited` with `retryAfterMs` (retryable) or `too_large` (not), or
 * sheds typing without an answer. Every bucket is per connection except
 * group changes and call offers, which are per device and survive a
 * reconnect. Limits of one connection never touch another's: abuse costs
 * only the abuser.
 *
 * Also: the hello timeout of unauthenticated sockets, the cap on a user's
 * devices connected at once, and the per-connection presence budget.
 */
export class Limits {
  private readonly groupChanges: KeyedLimiter;
  /** `call.offer` per device, kept across reconnects: each offer rings (and may push-wake) other users' devices. */
  private readonly callOffers: KeyedLimiter;
  /** Sockets not signed in yet, in open order (see sweepHellos). */
  private readonly awaitingHello = new Map<ConnId, Connection>();

  constructor(private readonly ctx: LimitsContext) {
    const o = ctx.opts;
    this.groupChanges = new KeyedLimiter(ctx.clock, { perSec: o.groupChangesPerSec, burst: o.groupChangesBurst }, o.limiterKeysMax);
    this.callOffers = new KeyedLimiter(ctx.clock, { perSec: o.callOffersPerSec, burst: o.callOffersBurst }, o.limiterKeysMax);
  }

  /** True when `f` from the signed-in `c` may go on; otherwise it was answered (or shed) here. */
  admit(c: SignedIn, f: ClientFrame): boolean {
    const o = this.ctx.opts;
    switch (f.t) {
      case 'typing':
        if (this.take(c, 'typing', o.typingPerSec, o.typingBurst) === 0) return true;
        this.ctx.metrics.reject('typing_shed');
        return false;
      case 'ping':
        return this.rate(c, 'ping', o.pingPerSec, o.pingBurst, 'ping');
      case 'presence.sub':
        return this.rate(c, 'presenceSub', o.presenceSubPerSec, o.presenceSubBurst, 'presence.sub') && this.subscribe(c, f.users);
      case 'keys.publish':
      case 'keys.fetch':
      case 'keys.count':
        return this.rate(c, 'keys', o.keysPerSec, o.keysBurst, 'keys');
      case 'keys.distribute':
      case 'keys.introduce':
        // One bucket for the pairwise key messages: a distribution and an introduction cost the node alike.
        return this.rate(c, 'keysDistribute', o.keysDistributePerSec, o.keysDistributeBurst, f.t, f.cid);
      case 'read':
        return this.rate(c, 'reads', o.readsPerSec, o.readsBurst, 'read');
      case 'group.list':
      case 'group.receipts':
      case 'group.devices':
        return this.rate(c, 'groupQueries', o.groupQueriesPerSec, o.groupQueriesBurst, 'group query');
      case 'story.post':
        return this.rate(c, 'storyPosts', o.storyPostsPerSec, o.storyPostsBurst, 'story.post', f.cid);
      case 'story.view':
        return this.rate(c, 'storyViews', o.storyViewsPerSec, o.storyViewsBurst, 'story.view', f.cid);
      case 'story.list':
      case 'story.views':
        return this.rate(c, 'storyQueries', o.storyQueriesPerSec, o.storyQueriesBurst, 'story query', f.cid);
      case 'call.offer': {
        const wait = this.callOffers.take(c.device);
        return wait === 0 || this.refuse(c, new ChatError('rate_limited', 'call.offer rate limit reached', wait), f.cid);
      }
      case 'call.ringing':
      case 'call.answer':
      case 'call.candidate':
      case 'call.reject':
      case 'call.busy':
      case 'call.hangup':
        return this.rate(c, 'callSignals', o.callSignalsPerSec, o.callSignalsBurst, 'call signalling');
      case 'group.create':
        if (new Set([c.user, ...f.members]).size > o.groupMembersMax) return this.refuse(c, new ChatError('too_large', `a group has at most ${o.groupMembersMax} members`));
        return this.groupChange(c);
      case 'group.add':
      case 'group.remove':
        return this.groupChange(c);
      default:
        return true;
    }
  }

  private groupChange(c: SignedIn): boolean {
    const wait = this.groupChanges.take(c.device);
    return wait === 0 || this.refuse(c, new ChatError('rate_limited', 'group change rate limit reached', wait));
  }

  private rate(c: Connection, kind: BucketKind, perSec: number, burst: number, what: string, cid?: string): boolean {
    const wait = this.take(c, kind, perSec, burst);
    return wait === 0 || this.refuse(c, new ChatError('rate_limited', `${what} rate limit reached`, wait), cid);
  }

  private take(c: Connection, kind: BucketKind, perSec: number, burst: number): number {
    const l = (c.limits ??= new ConnLimits());
    let b = l.buckets.get(kind);
    if (!b) l.buckets.set(kind, (b = new TokenBucket(this.ctx.clock, perSec, burst)));
    return b.take();
  }

  private refuse(c: Connection, err: ChatError, cid?: string): false {
    this.ctx.metrics.reject(err.code);
    this.ctx.reply(c, errorFrame(err, cid));
    return false;
  }

  /**
   * Counts the users `c` subscribes to; the frame that would pass the cap
   * is refused whole. A count, not a set: a user named twice counts twice,
   * and the node keeps no copy of what the presence store already holds.
   */
  private subscribe(c: Connection, users: readonly UserId[]): boolean {
    const max = this.ctx.opts.presenceSubscriptionsMax;
    const l = (c.limits ??= new ConnLimits());
    if (l.subscribed + users.length > max) {
      return this.refuse(c, new ChatError('too_large', `presence subscriptions are limited to ${max} users per connection (${l.subscribed} so far)`));
    }
    l.subscribed += users.length;
    return true;
  }

  /**
   * A presence frame for `c`: sent now within the connection's presence
   * budget, else kept (latest per user: presence is state, so the newest
   * frame supersedes older ones) and sent as tokens come back. So one
   * subscription's fan-out to a connection is bounded per second, and what
   * waits is bounded by the subscription cap.
   */
  presenceOut(c: Connection, user: UserId, text: string): void {
    const l = (c.limits ??= new ConnLimits());
    if (!l.pendingPresence && this.take(c, 'presenceFrames', this.ctx.opts.presenceFramesPerSec, this.ctx.opts.presenceFramesBurst) === 0) {
      return this.ctx.sendRaw(c, text);
    }
    const pending = (l.pendingPresence ??= new Map());
    pending.delete(user);
    if (pending.size >= this.ctx.opts.presenceSubscriptionsMax) return this.ctx.metrics.reject('presence_shed');
    pending.set(user, text);
    this.schedulePresence(c, l);
  }

  private schedulePresence(c: Connection, l: ConnLimits): void {
    if (l.presenceTimer) return;
    const waitMs = Math.max(1, Math.ceil(1000 / Math.max(this.ctx.opts.presenceFramesPerSec, 0.001)));
    l.presenceTimer = this.ctx.clock.setTimeout(() => this.flushPresence(c, l), waitMs);
  }

  private flushPresence(c: Connection, l: ConnLimits): void {
    l.presenceTimer = undefined;
    const pending = l.pendingPresence;
    if (!pending || c.closed) return void (l.pendingPresence = undefined);
    const o = this.ctx.opts;
    for (const [user, text] of pending) {
      if (this.take(c, 'presenceFrames', o.presenceFramesPerSec, o.presenceFramesBurst) > 0) break;
      pending.delete(user);
      this.ctx.sendRaw(c, text);
    }
    if (pending.size === 0) l.pendingPresence = undefined;
    else this.schedulePresence(c, l);
  }

  /**
   * A frame before sign-in completed: `not_ready` (retryable), up to
   * `unreadyFramesMax` of them; one more closes the socket with 1008. A
   * device waits for `welcome` before sending, so only a socket that is not
   * signing in gets there, and it cannot keep the node answering.
   */
  notReady(c: Connection): void {
    const l = (c.limits ??= new ConnLimits());
    const over = ++l.unreadyFrames - this.ctx.opts.unreadyFramesMax;
    if (over > 0) {
      // Closed once; frames already on their way meanwhile are dropped.
      if (over === 1) this.ctx.close(c.id, CloseCodes.policy, 'too many frames before hello');
      return;
    }
    this.refuse(c, new ChatError('not_ready', 'send hello first', this.ctx.opts.retryAfterMs));
  }

  /** A socket opened: it has `helloTimeoutMs` to present a valid token. */
  opened(c: Connection): void {
    this.awaitingHello.set(c.id, c);
  }

  /**
   * The socket presented a valid token (its sign-in is under way) or
   * closed: no more hello timeout for it. A sign-in slowed by the stores
   * is a real device waiting, not an idle socket, so it is not cut.
   */
  settled(c: Connection): void {
    this.awaitingHello.delete(c.id);
    if (c.closed && c.limits?.presenceTimer) this.ctx.clock.clear(c.limits.presenceTimer);
  }

  /**
   * Closes sockets that have not sent a hello with a valid token within
   * `helloTimeoutMs` (4001; a bad token is closed at once with 4401). Run every quarter of the timeout, so a socket goes at most
   * 1.25 × the timeout after opening. The map is in open order, so a sweep
   * stops at the first socket still within its time: one clock timer per
   * node, not one per socket.
   */
  sweepHellos(): void {
    const deadline = this.ctx.clock.now() - this.ctx.opts.helloTimeoutMs;
    for (const [id, c] of this.awaitingHello) {
      if (c.openedMs > deadline) return;
      this.awaitingHello.delete(id);
      if (c.state !== 'new') continue;
      this.ctx.metrics.reject('hello_timeout');
      this.ctx.close(id, CloseCodes.helloTimeout, 'no hello in time');
    }
  }

  /**
   * Whether `device` may connect: at most `devicesPerUserMax`
   * devices of a user connected at once, counted across nodes through the
   * registry. The registry is read only when the user has more devices
   * (`known`, the account's list) than the cap, so a normal sign-in costs
   * nothing. Two sign-ins at the same moment may both pass (the check and
   * the registration are not one step): the cap is exact for sign-ins one
   * after another.
   */
  async deviceRoom(device: DeviceId, known: readonly DeviceId[]): Promise<boolean> {
    const max = this.ctx.opts.devicesPerUserMax;
    const others = known.filter((d) => d !== device);
    if (others.length < max) return true;
    const where = await this.ctx.registry.lookup(others);
    return where.size < max;
  }
}
