import type { Clock, TimerHandle } from '../../system/clock/clock.ts';
import type { ClientFrame } from '../../system/protocol/frames.ts';
import { CloseCodes } from '../../system/protocol/errors.ts';
import type { Random } from '../../system/random/random.ts';
import { DeviceCloseCodes, type DeviceIO, type DeviceObserver, type DeviceState } from './ports.ts';
import { Backoff, validateBackoff } from './backoff.ts';
import { MidWindow } from './mid-window.ts';
import { deviceProfile, resolveDeviceOptions, type DeviceOptions, type DeviceProfile } from './options.ts';
import { Outbox, formatCid, parseCid, validateOutboxOptions, type OutboxEntry, type OutboxOptions, type OutboxPorts } from './outbox.ts';
import { DeliverFlags, ReorderBuffer, type Incoming, type ReorderOptions } from './reorder.ts';
import { ReadTracker } from './read-receipts.ts';
import { emptyStats, type DeviceStats } from './stats.ts';
import { E2eeClient, plainMedia, type E2eeLink, type HeldMessage } from './e2ee/e2ee-client.ts';
import { uploadedMediaOf } from './media.ts';
import { StoryClient } from './stories.ts';
import { CallClient } from './calls.ts';
import type { CallMedia } from '../../system/protocol/frames.ts';

export { DeliverFlags } from './reorder.ts';
export { formatCid, parseCid } from './outbox.ts';
export { DeviceDefaults, resolveDeviceOptions, type DeviceOptions } from './options.ts';
export type { DeviceStats } from './stats.ts';
export { DeviceCloseCodes, type DeviceIO, type DeviceObserver, type DeviceState } from './ports.ts';

type Frame = Record<string, unknown>;

/**
 * One virtual device: the client state machine, without I/O. The engine feeds
 * it socket events and push wake-ups; the scenario gives it commands; it acts
 * through `DeviceIO` and reports to `DeviceObserver`. Time and jitter come from
 * the injected Clock and Random, so the same inputs replay the same run.
 *
 * Guarantees: reconnects with capped, jittered exponential backoff unless
 * offline, stopped, unauthorized (4401) or replaced (4409); every send is
 * retried with the same cid until acked or failed (see Outbox); every
 * delivery is acked with `recv`, duplicates included; the user sees each mid
 * once (within the dedup window) and each conversation in seq order (see
 * ReorderBuffer). Every queue it holds is bounded.
 */
export class VirtualDevice {
  /** The outbox's ports: one small object per device rather than a closure per port (a simulation holds millions of devices). */
  private static readonly OutboxLink = class implements OutboxPorts {
    constructor(private readonly d: VirtualDevice) {}

    get clock(): Clock {
      return this.d.opts.clock;
    }

    online(): boolean {
      return this.d.current === 'online';
    }

    transmit(e: OutboxEntry, first: boolean): void {
      const d = this.d;
      if (first && d.opts.typing) d.write({ t: 'typing', to: e.to });
      if (!first) d.counters.retries++;
      if (!d.opts.e2ee?.enabled) {
        if (e.mediaBytes > 0) return d.write({ t: 'send', cid: e.cid, to: e.to, body: plainMedia(e.body, e.mediaBytes), kind: 'media' });
        return d.write({ t: 'send', cid: e.cid, to: e.to, body: e.body });
      }
      // Encrypted per recipient device (or under the group's sender key); nothing goes out until their keys are here.
      const f = d.e2ee.frameFor(e);
      if (f) d.write(f);
    }

    onSend(k: number, intended: number, sent: number, fired: number): void {
      const stats = this.d.opts.e2ee?.stats;
      if (stats) stats.counts.sends++;
      this.d.observer.onSend(k, intended, sent, fired);
    }

    onAck(k: number, at: number, mid: string, seq: number, conv: string): void {
      this.d.e2eePart?.settled(formatCid(k));
      this.d.observer.onAck(k, at, mid, seq, conv);
    }

    onError(code: string, k: number, at: number, willRetry: boolean): void {
      if (!willRetry) this.d.e2eePart?.settled(formatCid(k));
      this.d.observer.onError(code, k, at, willRetry);
    }
  };

  /** The end-to-end layer's view of its device. */
  private static readonly E2eeLinkOf = class implements E2eeLink {
    constructor(private readonly d: VirtualDevice) {}

    get id(): string {
      return this.d.id;
    }

    get clock(): Clock {
      return this.d.opts.clock;
    }

    online(): boolean {
      return this.d.current === 'online';
    }

    write(frame: ClientFrame): void {
      this.d.write(frame);
    }

    kick(cid: string): void {
      this.d.outboxPart?.kick(cid);
    }

    released(h: HeldMessage, plaintext: string | undefined): void {
      const m = h.meta as Incoming;
      if (plaintext === undefined) m.undecryptable = true;
      else m.media = uploadedMediaOf(plaintext);
      this.d.mids.add(m.mid);
      this.d.queueRecv(m.mid);
      this.d.reorder.offer(m);
    }
  };

  readonly id: string;
  /** Shared with every device built alike (see deviceProfile); the identity is kept apart. */
  private readonly opts: DeviceProfile;
  private readonly token: (deviceId: string) => string;
  private readonly random: Random;
  private current: DeviceState = 'idle';
  /**
   * The parts below are built on first use: a simulation holds millions of
   * devices, most of them idle, and an idle device should cost little. A
   * part not built yet behaves exactly like a fresh one.
   */
  private backoffPart?: Backoff;
  private outboxPart?: Outbox;
  private reorderPart?: ReorderBuffer;
  private readsPart?: ReadTracker;
  private midsPart?: MidWindow;
  private receiptIdsPart?: MidWindow;
  private e2eePart?: E2eeClient;
  private storiesPart?: StoryClient;
  private callsPart?: CallClient;
  private readonly counters: DeviceStats;
  private recvIds: string[] = [];
  private recvTimer: TimerHandle | undefined;
  private reconnectTimer: TimerHandle | undefined;
  /** Set while a backgrounded app waits for its pending sends' acks (goOffline). */
  private backgroundTimer: TimerHandle | undefined;
  private connectTimer: TimerHandle | undefined;
  private draining = false;
  private pushWoken = false;

  constructor(options: DeviceOptions, private readonly io: DeviceIO, private readonly observer: DeviceObserver) {
    const resolved = resolveDeviceOptions(options);
    this.counters = options.stats ?? emptyStats();
    this.id = resolved.id;
    this.token = resolved.token;
    this.random = resolved.random;
    this.opts = deviceProfile(resolved);
    validateParts(this.opts);
  }

  private get backoff(): Backoff {
    return (this.backoffPart ??= new Backoff(this.opts.backoff, this.random));
  }

  private get outbox(): Outbox {
    return (this.outboxPart ??= new Outbox(outboxOptions(this.opts), new VirtualDevice.OutboxLink(this)));
  }

  private get reorder(): ReorderBuffer {
    return (this.reorderPart ??= new ReorderBuffer(reorderOptions(this.opts), this.opts.clock, (m, flags) => this.show(m, flags)));
  }

  private get reads(): ReadTracker {
    return (this.readsPart ??= new ReadTracker(this.opts.clock, this.opts.readDelayMs, (conv, upTo) => {
      if (this.current !== 'online') return false;
      this.write({ t: 'read', conv, upTo });
      return true;
    }));
  }

  /** Built on first use, with end-to-end encryption set up (even off: it counts the frames written). */
  private get e2ee(): E2eeClient {
    return (this.e2eePart ??= new E2eeClient(this.opts.e2ee!, new VirtualDevice.E2eeLinkOf(this)));
  }

  /** End-to-end sessions with these contacts' devices and this device's sender key with these groups, set up before the load (see E2eeClient.prewarm). */
  prewarm(users: readonly string[], groups: readonly string[], introduce: readonly string[] = []): void {
    if (this.opts.e2ee?.enabled && this.current === 'online') this.e2ee.prewarm(users, groups, introduce);
  }

  /** End-to-end encryption is off, or this device's first bundle is stored (the node answered its publish). */
  get keysPublished(): boolean {
    return !this.opts.e2ee?.enabled || (this.e2eePart?.keysPublished ?? false);
  }

  /** What `prewarm` still waits for, in words. */
  get unsettled(): string {
    return this.e2eePart?.unsettled ?? '';
  }

  /** `prewarm` still has requests on their way. */
  get settling(): boolean {
    return this.e2eePart?.settling ?? false;
  }

  /** Posts a story (text or a media reference) for `audience` (absent: anyone who asks); counted failed when offline. */
  postStory(body: string, audience?: string[]): void {
    const s = this.stories;
    if (!s) return;
    if (this.current !== 'online') return this.opts.stories!.failed(this.id, 'offline');
    s.post(body, audience);
  }

  /** Lists these users' stories (fan-out on read) and views each one not seen before; counted failed when offline. */
  viewStories(users: string[]): void {
    const s = this.stories;
    if (!s) return;
    if (this.current !== 'online') return this.opts.stories!.failed(this.id, 'offline');
    s.list(users);
  }

  /** Calls `users` (one: a 1:1 call) for `durationMs` from the first answer; counted failed when offline. False when the device is already in a call (nothing placed). */
  placeCall(users: string[], media: CallMedia, durationMs: number): boolean {
    return this.calls?.place(users, media, durationMs, this.current === 'online') ?? false;
  }

  private get calls(): CallClient | undefined {
    if (!this.opts.calls) return undefined;
    return (this.callsPart ??= new CallClient(this.id, this.opts.calls, (f) => {
      if (this.current !== 'online') return false;
      this.write(f);
      return true;
    }, this.opts.clock));
  }

  private get stories(): StoryClient | undefined {
    if (!this.opts.stories) return undefined;
    return (this.storiesPart ??= new StoryClient(this.id, this.opts.stories, (f) => this.write(f), () => this.now(), this.opts.media));
  }

  /** A new signed pre-key, published with fresh one-time pre-keys (the previous one still answers sessions starting from it). */
  rotateKeys(): void {
    if (this.opts.e2ee?.enabled) this.e2ee.rotateSignedPreKey();
  }

  /** The app is reinstalled: a new identity, no sessions (contacts see an identity change). */
  reinstall(): void {
    if (this.opts.e2ee?.enabled) this.e2ee.reinstall();
  }

  private get mids(): MidWindow {
    return (this.midsPart ??= new MidWindow(this.opts.dedupWindow));
  }

  private get receiptIds(): MidWindow {
    return (this.receiptIdsPart ??= new MidWindow(this.opts.dedupWindow));
  }

  get state(): DeviceState {
    return this.current;
  }

  // ---- events from the engine ----

  /** Begins connecting. Only from `idle`. */
  start(): void {
    if (this.current !== 'idle') throw new Error(`start() in state ${this.current}`);
    this.connect();
  }

  onOpen(): void {
    if (this.current !== 'connecting') return;
    this.current = 'authenticating';
    this.write({ t: 'hello', token: this.token(this.id) });
  }

  /** A frame from the socket: its text, or the decoded object from a link that carries objects (never modified here). */
  onFrame(input: string | object): void {
    if (this.current !== 'authenticating' && this.current !== 'online') return;
    let f: Frame;
    if (typeof input !== 'string') f = input as Frame;
    else {
      try {
        const parsed: unknown = JSON.parse(input);
        if (typeof parsed !== 'object' || parsed === null) throw new TypeError('not an object');
        f = parsed as Frame;
      } catch {
        this.counters.badFrames++;
        return;
      }
    }
    this.counters.framesIn++;
    if (this.opts.e2ee?.enabled && f.t !== 'msg') {
      if ((f.t === 'skdm' || f.t === 'intro') && typeof f.id === 'string') {
        this.queueRecv(f.id);
        // Redelivered (its recv was not in time): the device has it already.
        if (!this.receiptIds.add(f.id)) return;
      }
      if (this.e2ee.onFrame(f)) return;
    }
    if (typeof f.t === 'string' && f.t.startsWith('story.') && this.stories?.onFrame(f)) return;
    if (typeof f.t === 'string' && f.t.startsWith('call.') && this.calls?.onFrame(f)) return;
    switch (f.t) {
      case 'welcome': return this.onWelcome(f);
      case 'msg': return this.onMsg(f);
      case 'receipt': return this.onReceiptFrame(f);
      case 'ack': return this.onAckFrame(f);
      case 'error': return this.onErrorFrame(f);
      case 'drained':
        this.draining = false;
        this.pushWoken = false;
        return;
      default:
        this.counters.otherFrames++;
    }
  }

  onClose(code: number): void {
    if (!this.socketActive()) return;
    this.socketEnded(code);
    if (code === CloseCodes.unauthorized) {
      this.observer.onError('unauthorized', undefined, this.now(), false);
      this.halt();
    } else if (code === CloseCodes.replaced) {
      this.halt();
    } else if (this.backgroundTimer) {
      // Backgrounding: the app does not reconnect for what was pending; it goes when the device is next online.
      this.background();
    } else {
      this.scheduleReconnect();
    }
  }

  /** A push wake-up: brings an offline (backgrounded) device online when `wakeOnPush`. */
  onPush(): void {
    this.counters.pushes++;
    if (this.current !== 'offline' || !this.opts.wakeOnPush) return;
    this.counters.pushWakes++;
    this.pushWoken = true;
    this.backoffPart?.reset();
    this.connect();
  }

  // ---- commands from the scenario ----

  /**
   * Queues a message to a user id or `g:<gid>`; transmitted when online,
   * retried until acked. `firedMs`: when the load handed it over, if earlier
   * than now (a message with uploaded media is queued once its upload ended:
   * that wait is the device's, not the scheduler's lateness).
   */
  send(to: string, body: string, msgKey: number, intendedMs: number, mediaBytes = 0, firedMs?: number): void {
    if (this.current === 'stopped') {
      this.observer.onError('stopped', msgKey, this.now(), false);
      return;
    }
    this.counters.sends++;
    if (!this.outbox.add(to, body, msgKey, intendedMs, mediaBytes, firedMs)) this.counters.queueFull++;
  }

  /**
   * Backgrounds the app: closes the socket and stays offline until
   * `comeOnline` or a push wake. Sends already on their way are given
   * `backgroundGraceMs` to be acked first (a mobile OS's background time):
   * the socket closes once the last one is, or when that time is up, and
   * what is still pending then goes when the device is next online.
   */
  goOffline(): void {
    if (this.current === 'offline' || this.current === 'stopped') return;
    if (this.current === 'online' && (this.outboxPart?.size ?? 0) > 0 && this.opts.backgroundGraceMs > 0) {
      this.backgroundTimer ??= this.opts.clock.setTimeout(() => this.background(), this.opts.backgroundGraceMs);
      return;
    }
    this.background();
  }

  /** Foregrounds the app: connects now (from idle, offline or a backoff wait); a device still finishing its sends in the background stays online. */
  comeOnline(): void {
    if (this.backgroundTimer) return this.clearBackground();
    if (this.current !== 'idle' && this.current !== 'offline' && this.current !== 'backoff') return;
    this.clearReconnect();
    this.backoffPart?.reset();
    this.connect();
  }

  /** An abrupt network drop: the socket dies and the device reconnects with backoff. */
  drop(): void {
    if (!this.socketActive()) return;
    this.closeSocket(DeviceCloseCodes.drop);
    this.scheduleReconnect();
  }

  /** Best-effort typing signal; dropped when not online. */
  typing(to: string): void {
    if (this.current === 'online') this.write({ t: 'typing', to });
    else this.counters.typingDropped++;
  }

  /** End of run: closes the socket, cancels every timer, keeps no queue. Final. */
  stop(): void {
    if (this.current === 'stopped') return;
    if (this.socketActive()) this.closeSocket(DeviceCloseCodes.client);
    this.halt();
  }

  /** The counters (summed over every device sharing them, see DeviceOptions.stats) and this device's own queues. */
  stats(): DeviceStats & { pendingSends: number; heldMessages: number; conversations: number } {
    const r = this.reorderPart;
    return { ...this.counters, pendingSends: this.outboxPart?.size ?? 0, heldMessages: r?.held ?? 0, conversations: r?.conversations ?? 0 };
  }

  // ---- frames ----

  private onWelcome(f: Frame): void {
    if (this.current !== 'authenticating') return;
    this.clearConnectTimer();
    this.current = 'online';
    this.draining = true;
    this.backoffPart?.reset();
    this.counters.connects++;
    this.observer.onConnected(this.now(), typeof f.node === 'string' ? f.node : '');
    if (this.opts.e2ee?.enabled) this.e2ee.onWelcome();
    if (this.opts.presenceSubscribe.length > 0) this.write({ t: 'presence.sub', users: this.opts.presenceSubscribe });
    this.outboxPart?.resendAll();
    this.readsPart?.flushOwed();
    this.callsPart?.online();
  }

  private onMsg(f: Frame): void {
    const { mid, seq, conv, from } = f;
    if (typeof mid !== 'string' || typeof conv !== 'string' || typeof from !== 'string' || !isSeq(seq)) {
      this.counters.badFrames++;
      return;
    }
    const msgKey = parseCid(f.cid);
    if (this.mids.has(mid)) {
      this.queueRecv(mid);
      this.counters.dupTransport++;
      this.observer.onDeliver(msgKey, mid, conv, seq, this.now(), DeliverFlags.DUP_TRANSPORT, from, this.draining, this.pushWoken);
      return;
    }
    // Its first copy waits for its sender key, unacked (so the inbox offers it again): this one is dropped, unacked too.
    if (this.e2eePart?.isHeld(mid)) return;
    const m: Incoming = { mid, conv, seq, from, msgKey, arrivedMs: this.now(), drained: this.draining, pushWoken: this.pushWoken };
    if (f.kind === 'e2e') {
      if (!this.opts.e2ee?.enabled) m.undecryptable = true;
      else {
        const r = this.e2ee.decryptMsg(f, m);
        // A group message whose sender key is still on its way waits for it, unacked and not yet counted
        // as seen: the inbox keeps it until E2eeLink.released offers it (and acks it), so a device stopped
        // meanwhile (its held messages dropped) takes the inbox's next copy as the message itself.
        if (r.held) return;
        if (r.plaintext === undefined) m.undecryptable = true;
        else m.media = uploadedMediaOf(r.plaintext);
      }
    } else if (typeof f.body === 'string') m.media = uploadedMediaOf(f.body);
    this.mids.add(mid);
    this.queueRecv(mid);
    this.reorder.offer(m);
  }

  private onReceiptFrame(f: Frame): void {
    const { id, kind, by, conv } = f;
    if (typeof id !== 'string' || (kind !== 'delivered' && kind !== 'read') || typeof by !== 'string' || typeof conv !== 'string') {
      this.counters.badFrames++;
      return;
    }
    this.queueRecv(id);
    if (!this.receiptIds.add(id)) {
      this.counters.dupReceipts++;
      return;
    }
    this.counters.receipts++;
    const mid = typeof f.mid === 'string' ? f.mid : undefined;
    const upTo = isSeq(f.upTo) ? f.upTo : undefined;
    this.observer.onReceipt(kind, mid, by, this.now(), conv, upTo);
  }

  private onAckFrame(f: Frame): void {
    const { cid, mid, seq, conv } = f;
    if (typeof cid !== 'string' || typeof mid !== 'string' || typeof conv !== 'string' || !isSeq(seq)) {
      this.counters.badFrames++;
      return;
    }
    // Even a late ack names a seq that is ours: the reorder buffer must not wait for it.
    this.reorder.markOwn(conv, seq);
    if (!this.outbox.ack(cid, mid, seq, conv)) this.counters.lateAcks++;
    else this.counters.acks++;
    this.settleBackground();
  }

  private onErrorFrame(f: Frame): void {
    const code = typeof f.code === 'string' ? f.code : 'unknown';
    this.counters.errors++;
    const retryAfterMs = typeof f.retryAfterMs === 'number' ? f.retryAfterMs : undefined;
    if (StoryClient.owns(f.cid) && this.storiesPart) return this.storiesPart.onError(f.cid as string, code);
    if (this.callsPart?.onError(f.cid, code)) return;
    if (this.e2eePart) {
      // The sender's view of the recipients was stale: refresh it before the resend below.
      if ((code === 'devices_changed' || code === 'members_changed') && typeof f.cid === 'string') this.e2eePart.onStale(f.cid, f);
      // A refused key distribution or keys request is the end-to-end layer's own to retry.
      if (this.e2eePart.onError(f.cid, code, retryAfterMs)) return;
    }
    if (typeof f.cid === 'string' && this.outbox.error(f.cid, code, f.retryable === true, retryAfterMs)) return this.settleBackground();
    // Not about a pending send (a connection-level error, or one for a send already settled).
    this.observer.onError(code, undefined, this.now(), false);
  }

  /** The reorder buffer's output: what the user sees. */
  private show(m: Incoming, flags: number): void {
    if (m.undecryptable) flags |= DeliverFlags.UNDECRYPTABLE;
    if (flags & DeliverFlags.DUP_TRANSPORT) this.counters.dupTransport++;
    else if (m.undecryptable) this.counters.undecryptable++;
    else {
      this.counters.delivered++;
      if (flags & DeliverFlags.DUP_VISIBLE) this.counters.dupVisible++;
      if (flags & DeliverFlags.OUT_OF_ORDER) this.counters.outOfOrder++;
      if (flags & DeliverFlags.GAP_SKIPPED) this.counters.gapsSkipped++;
      this.reads.shown(m.conv, m.seq);
    }
    const media = this.opts.media;
    if (m.media && media && !m.undecryptable && !(flags & DeliverFlags.DUP_TRANSPORT)) {
      // Shown once its media is here (or known lost or expired): that is when the user has the message.
      media.fetch(this.id, m.media, (outcome) => {
        const f = flags | DeliverFlags.MEDIA | (outcome === 'lost' ? DeliverFlags.MEDIA_LOST : outcome === 'expired' ? DeliverFlags.MEDIA_EXPIRED : 0);
        this.observer.onDeliver(m.msgKey, m.mid, m.conv, m.seq, this.now(), f, m.from, m.drained, m.pushWoken);
      });
      return;
    }
    this.observer.onDeliver(m.msgKey, m.mid, m.conv, m.seq, this.now(), flags, m.from, m.drained, m.pushWoken);
  }

  // ---- delivery acks ----

  private queueRecv(id: string): void {
    if (this.current !== 'online') return;
    this.recvIds.push(id);
    if (this.recvIds.length >= this.opts.recvBatchMax) this.flushRecv();
    else if (!this.recvTimer) this.recvTimer = this.opts.clock.setTimeout(() => this.flushRecv(), this.opts.recvFlushMs);
  }

  private flushRecv(): void {
    if (this.recvTimer) this.opts.clock.clear(this.recvTimer);
    this.recvTimer = undefined;
    if (this.recvIds.length === 0) return;
    const ids = this.recvIds;
    this.recvIds = [];
    this.write({ t: 'recv', ids });
  }

  // ---- connection ----

  private connect(): void {
    this.current = 'connecting';
    this.counters.connectAttempts++;
    this.connectTimer = this.opts.clock.setTimeout(() => {
      this.connectTimer = undefined;
      this.closeSocket(DeviceCloseCodes.connectTimeout);
      this.scheduleReconnect();
    }, this.opts.connectTimeoutMs);
    this.io.connect();
  }

  private socketActive(): boolean {
    return this.current === 'connecting' || this.current === 'authenticating' || this.current === 'online';
  }

  private closeSocket(code: number): void {
    this.io.close();
    this.socketEnded(code);
  }

  /** Whatever ended the socket: unsent acks are dropped (the server redelivers), sends wait for the next welcome. */
  private socketEnded(code: number): void {
    this.clearConnectTimer();
    if (this.recvTimer) this.opts.clock.clear(this.recvTimer);
    this.recvTimer = undefined;
    this.recvIds = [];
    this.outboxPart?.pause();
    this.e2eePart?.onDisconnected();
    this.storiesPart?.reset();
    this.callsPart?.disconnected();
    this.draining = false;
    this.counters.disconnects++;
    this.observer.onDisconnected(this.now(), code);
  }

  private scheduleReconnect(): void {
    this.current = 'backoff';
    this.reconnectTimer = this.opts.clock.setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connect();
    }, this.backoff.next());
  }

  /** Stops for good: no reconnect, no timers, no queues. */
  /** The app goes to the background now (see goOffline). */
  private background(): void {
    this.clearBackground();
    if (this.socketActive()) this.closeSocket(DeviceCloseCodes.client);
    this.clearReconnect();
    this.pushWoken = false;
    this.current = 'offline';
  }

  /** A backgrounding app whose last pending send was just settled (acked or failed): it goes now. */
  private settleBackground(): void {
    if (this.backgroundTimer && (this.outboxPart?.size ?? 0) === 0) this.background();
  }

  private clearBackground(): void {
    if (this.backgroundTimer) this.opts.clock.clear(this.backgroundTimer);
    this.backgroundTimer = undefined;
  }

  private halt(): void {
    this.clearBackground();
    this.current = 'stopped';
    this.clearReconnect();
    this.clearConnectTimer();
    this.outboxPart?.clear();
    this.reorderPart?.clear();
    this.readsPart?.clear();
    this.e2eePart?.stop();
    this.callsPart?.stop();
    this.pushWoken = false;
  }

  private clearReconnect(): void {
    if (this.reconnectTimer) this.opts.clock.clear(this.reconnectTimer);
    this.reconnectTimer = undefined;
  }

  private clearConnectTimer(): void {
    if (this.connectTimer) this.opts.clock.clear(this.connectTimer);
    this.connectTimer = undefined;
  }

  private write(frame: ClientFrame): void {
    this.counters.framesOut++;
    const stats = this.opts.e2ee?.stats;
    if (this.io.sendFrame) {
      // A link that carries objects (the sim) serializes nothing: the bytes are what the frame's JSON would be.
      if (stats) stats.wrote(JSON.stringify(frame).length);
      return this.io.sendFrame(frame);
    }
    const text = JSON.stringify(frame);
    // JSON of base64url ciphertexts and ids is ASCII: its length is its bytes (a plaintext body may be a few bytes over).
    stats?.wrote(text.length);
    this.io.send(text);
  }

  private now(): number {
    return this.opts.clock.now();
  }
}

/** Nested options already checked; resolveDeviceOptions shares them between devices given the same input. */
const validated = new WeakSet<object>();
const outboxShared = new WeakMap<object, Map<number, OutboxOptions>>();
const reorderShared = new Map<string, ReorderOptions>();

/** Checks at construction what the parts built on first use would check, so bad options still fail at the edge. */
function validateParts(o: DeviceProfile): void {
  if (!validated.has(o.backoff)) {
    validateBackoff(o.backoff);
    validated.add(o.backoff);
  }
  outboxOptions(o);
}

/** One options object per distinct (sendRetry, maxPendingSends), shared by every device's outbox. */
function outboxOptions(o: DeviceProfile): OutboxOptions {
  let byMax = outboxShared.get(o.sendRetry);
  if (!byMax) outboxShared.set(o.sendRetry, (byMax = new Map()));
  let r = byMax.get(o.maxPendingSends);
  if (!r) {
    r = { ...o.sendRetry, maxPending: o.maxPendingSends };
    validateOutboxOptions(r);
    byMax.set(o.maxPendingSends, r);
  }
  return r;
}

function reorderOptions(o: DeviceProfile): ReorderOptions {
  const key = `${o.reorderWaitMs}/${o.reorderMax}`;
  let r = reorderShared.get(key);
  if (!r) reorderShared.set(key, (r = { waitMs: o.reorderWaitMs, maxHeldPerConversation: o.reorderMax, maxSkippedRanges: 64 }));
  return r;
}

function isSeq(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 1;
}
