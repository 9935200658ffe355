import type { Clock, TimerHandle } from '../../system/clock/clock.ts';

const CID = /^(0|[1-9a-z][0-9a-z]{0,10})$/;

/** The cid a virtual device puts on the send of `msgKey`: its base-36 digits. */
export function formatCid(msgKey: number): string {
  if (!Number.isSafeInteger(msgKey) || msgKey < 0) throw new RangeError(`msgKey must be a non-negative safe integer, got ${msgKey}`);
  return msgKey.toString(36);
}

/** The msgKey a virtual device encoded in `cid`, or undefined for any other cid (another client's). */
export function parseCid(cid: unknown): number | undefined {
  if (typeof cid !== 'string' || !CID.test(cid)) return undefined;
  const n = parseInt(cid, 36);
  return Number.isSafeInteger(n) && n.toString(36) === cid ? n : undefined;
}

export interface OutboxOptions {
  /** Resend when no ack came within this long. */
  timeoutMs: number;
  /** Transmissions per message, the first included; then the send fails with `timeout`. */
  maxAttempts: number;
  /** Un-acked sends held at once; one more is refused with `queue_full`. */
  maxPending: number;
}

/** What the outbox needs from its device. */
export interface OutboxPorts {
  clock: Clock;
  /** True while the socket is authenticated, so a frame can go out now. */
  online(): boolean;
  /** Writes the send frame; `first` on the message's first transmission. */
  transmit(e: OutboxEntry, first: boolean): void;
  onSend(msgKey: number, intendedMs: number, sentMs: number, firedMs: number): void;
  onAck(msgKey: number, ackMs: number, mid: string, seq: number, conv: string): void;
  onError(code: string, msgKey: number, atMs: number, willRetry: boolean): void;
}

export interface OutboxEntry {
  readonly cid: string;
  readonly msgKey: number;
  readonly to: string;
  readonly body: string;
  readonly intendedMs: number;
  /** When the message was handed to the device (`add`). */
  readonly firedMs: number;
  /** Bytes of a media attachment it carries (0: none). */
  readonly mediaBytes: number;
  attempts: number;
  timer: TimerHandle | undefined;
}

/** Throws a RangeError unless `opts` are valid outbox options. */
export function validateOutboxOptions(opts: OutboxOptions): void {
  if (!(opts.timeoutMs > 0)) throw new RangeError(`sendRetry.timeoutMs must be > 0, got ${opts.timeoutMs}`);
  if (!(Number.isInteger(opts.maxAttempts) && opts.maxAttempts >= 1)) throw new RangeError('sendRetry.maxAttempts must be an integer >= 1');
  if (!(Number.isInteger(opts.maxPending) && opts.maxPending >= 1)) throw new RangeError('maxPendingSends must be an integer >= 1');
}

/** Shared by every instance until its first entry (millions of simulated devices each hold several of these). */
const NONE = new Map<never, never>();

/**
 * A device's un-acked sends.
 *
 * Guarantees: every retry of a message carries the same cid (so the server's
 * dedup makes the retries at-most-once as stored); a message is transmitted
 * until it is acked, fails for good (non-retryable error, or `maxAttempts`
 * transmissions without ack → `timeout`), or the run stops; `onSend` fires
 * once per message, at its first transmission; `onAck` at most once. While
 * offline nothing is transmitted and no attempt is spent; `resendAll` sends
 * everything pending, oldest first. At most `maxPending` messages are held.
 */
export class Outbox {
  private pending: Map<string, OutboxEntry> = NONE;
  /** Made on the first `rate_limited`/`overloaded`; most devices never meet one (a device per million in the sim). */
  private gate?: Gate;

  constructor(private readonly opts: OutboxOptions, private readonly ports: OutboxPorts) {
    validateOutboxOptions(opts);
  }

  get size(): number {
    return this.pending.size;
  }

  /** Queues a message; transmits it now if online. False (and `queue_full` reported) at the limit. */
  add(to: string, body: string, msgKey: number, intendedMs: number, mediaBytes = 0, firedMs = this.ports.clock.now()): boolean {
    const cid = formatCid(msgKey);
    if (this.pending.has(cid)) throw new Error(`msgKey ${msgKey} is already pending on this device`);
    if (this.pending.size >= this.opts.maxPending) {
      this.ports.onError('queue_full', msgKey, this.ports.clock.now(), false);
      return false;
    }
    const e: OutboxEntry = { cid, msgKey, to, body, intendedMs, firedMs, mediaBytes, attempts: 0, timer: undefined };
    if (this.pending === NONE) this.pending = new Map();
    this.pending.set(cid, e);
    if (this.gate?.holding()) this.gate.queue.push(e);
    else if (this.ports.online()) this.transmit(e);
    return true;
  }

  /** An ack for `cid`. Returns false when nothing was pending under it (a late or repeated ack). */
  ack(cid: string, mid: string, seq: number, conv: string): boolean {
    const e = this.pending.get(cid);
    if (!e) return false;
    this.finish(e);
    this.ports.onAck(e.msgKey, this.ports.clock.now(), mid, seq, conv);
    return true;
  }

  /**
   * The node asked this device to slow down (`rate_limited`: its send
   * bucket is empty; `overloaded`: the node sheds load). Retrying each
   * refused send on its own `retryAfterMs` would send them all back at the
   * same instant, and all but one would be refused again — a storm that
   * grows with what is pending. Instead every refused and every new send
   * waits in one queue; from `retryAfterMs` on they go one at a time, the
   * next when the previous is acked, oldest first. The gate opens when the
   * queue is empty, or on a new connection (its limits are new too).
   */
  private slowDown(e: OutboxEntry, retryAfterMs: number): void {
    this.cancel(e);
    const g = (this.gate ??= new Gate());
    if (g.probe === e) g.probe = undefined;
    g.until = Math.max(g.until, this.ports.clock.now() + retryAfterMs);
    if (!g.queue.includes(e)) {
      // Oldest first, as they were handed over.
      const at = g.queue.findIndex((q) => q.firedMs > e.firedMs || (q.firedMs === e.firedMs && q.msgKey > e.msgKey));
      g.queue.splice(at < 0 ? g.queue.length : at, 0, e);
    }
    this.armGate(g);
  }

  private armGate(g: Gate): void {
    if (g.timer || g.probe) return;
    g.timer = this.ports.clock.setTimeout(() => {
      g.timer = undefined;
      this.releaseNext(g);
    }, Math.max(0, g.until - this.ports.clock.now()));
  }

  /** Sends the oldest queued message, or opens the gate when none is left. */
  private releaseNext(g: Gate): void {
    if (g.probe || g.timer) return;
    if (this.ports.clock.now() < g.until) return this.armGate(g);
    const e = g.queue.shift();
    if (!e) return void (this.gate = undefined);
    if (!this.ports.online()) return void g.queue.unshift(e);
    g.probe = e;
    this.transmit(e);
  }

  /** An error frame for `cid`. Returns false when nothing was pending under it. */
  error(cid: string, code: string, retryable: boolean, retryAfterMs: number | undefined): boolean {
    const e = this.pending.get(cid);
    if (!e) return false;
    const willRetry = retryable && e.attempts < this.opts.maxAttempts;
    if (!willRetry) {
      this.finish(e);
      this.ports.onError(code, e.msgKey, this.ports.clock.now(), false);
      return true;
    }
    this.ports.onError(code, e.msgKey, this.ports.clock.now(), true);
    const after = retryAfterMs !== undefined && retryAfterMs >= 0 ? retryAfterMs : this.opts.timeoutMs;
    if (code === 'rate_limited' || code === 'overloaded') this.slowDown(e, after);
    else this.schedule(e, after);
    return true;
  }

  /**
   * The frame of pending send `cid` can be built now (its recipients' keys
   * arrived): transmits it at once, unless offline or queued behind the
   * slow-down gate (which sends it in turn).
   */
  kick(cid: string): void {
    const e = this.pending.get(cid);
    if (!e || !this.ports.online() || this.gate?.queue.includes(e)) return;
    this.retry(e);
  }

  /** The socket is authenticated again: transmit every pending message, oldest first (a new connection has fresh limits). */
  resendAll(): void {
    this.closeGate();
    for (const e of [...this.pending.values()]) this.retry(e);
  }

  /** The socket closed: no timers run while offline; `resendAll` picks everything up. */
  pause(): void {
    for (const e of this.pending.values()) this.cancel(e);
    this.closeGate();
  }

  private closeGate(): void {
    if (this.gate?.timer) this.ports.clock.clear(this.gate.timer);
    this.gate = undefined;
  }

  /** End of run: forget everything; un-acked messages stay unknown in the ledger. */
  clear(): void {
    this.pause();
    this.pending.clear();
  }

  private transmit(e: OutboxEntry): void {
    const first = e.attempts === 0;
    e.attempts++;
    this.ports.transmit(e, first);
    if (first) this.ports.onSend(e.msgKey, e.intendedMs, this.ports.clock.now(), e.firedMs);
    this.schedule(e, this.opts.timeoutMs);
  }

  /** Transmits again, or fails the message when its attempts are spent. */
  private retry(e: OutboxEntry): void {
    this.cancel(e);
    if (e.attempts >= this.opts.maxAttempts) {
      this.finish(e);
      this.ports.onError('timeout', e.msgKey, this.ports.clock.now(), false);
    } else if (this.ports.online()) {
      this.transmit(e);
    }
  }

  private schedule(e: OutboxEntry, delayMs: number): void {
    this.cancel(e);
    e.timer = this.ports.clock.setTimeout(() => {
      e.timer = undefined;
      this.retry(e);
    }, delayMs);
  }

  private cancel(e: OutboxEntry): void {
    if (e.timer) this.ports.clock.clear(e.timer);
    e.timer = undefined;
  }

  /** An emptied outbox goes back to the shared empty Map: a device has nothing pending nearly all the time. */
  private finish(e: OutboxEntry): void {
    this.cancel(e);
    const g = this.gate;
    if (g) {
      const i = g.queue.indexOf(e);
      if (i >= 0) g.queue.splice(i, 1);
      if (g.probe === e) {
        g.probe = undefined;
        this.releaseNext(g);
      }
    }
    this.pending.delete(e.cid);
    if (this.pending.size === 0) this.pending = NONE;
  }
}

/** The outbox's slow-down state (see Outbox.slowDown). */
class Gate {
  /** Nothing is sent before this (clock ms). */
  until = 0;
  /** Sends waiting, oldest first. */
  readonly queue: OutboxEntry[] = [];
  /** The one queued send in flight; the next goes when it is acked or refused. */
  probe: OutboxEntry | undefined;
  timer: TimerHandle | undefined;

  holding(): boolean {
    return this.queue.length > 0 || this.probe !== undefined || this.timer !== undefined;
  }
}
