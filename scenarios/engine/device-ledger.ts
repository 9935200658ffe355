import { build } from 'hdr-histogram-js';
import QuickLRU from 'quick-lru';
import type { Ledger, Path } from '../../reports/ledger.ts';
import { DUP_TRANSPORT, MEDIA } from '../../reports/ledger.ts';
import { Snowflake } from '../../system/node/snowflake.ts';
import type { DeviceObserver } from '../device/ports.ts';
import { firstChoice } from '../../system/worlds/placement.ts';
import type { Population } from '../population.ts';
import type { Scenario } from '../scenario.ts';
import type { NodeRef } from '../../system/worlds/world.ts';

/** Bounded memory of mid -> msgKey for receipts about this worker's own sends (the most recent at least). */
const RECEIPT_KEYS_MAX = 200_000;
/** Acked sends remembered per conversation for read markers; the oldest are forgotten first. */
const SENDS_PER_CONV = 10_000;
/** Readers of one conversation found by a scan; more get a Map. */
const READERS_SCANNED = 16;

/** Extra listeners an engine may attach (the sim keeps its online set and mid index with them). */
export interface DeviceLedgerHooks {
  online?(dev: number, online: boolean): void;
  acked?(msgKey: number, mid: string): void;
}

/**
 * Turns device events into ledger rows: what each message is owed (expected
 * deliveries, computed from the deterministic population at ack time), what
 * each device saw and by which path, and running counters for progress.
 */
export class DeviceLedger {
  connected = 0;
  sent = 0;
  acked = 0;
  delivered = 0;
  deliveredUnique = 0;
  expected = 0;
  errors = 0;
  /** Told when a send is over: acked, or failed for good (a closed-loop VU sends its next message then). */
  onSettled?: (msgKey: number) => void;
  private readonly targets = new Map<number, { from: number; to: string }>();
  private readonly midKeys = new QuickLRU<string, number>({ maxSize: RECEIPT_KEYS_MAX });
  private readonly retried = new Set<number>();
  private readonly nodeNumbers: Map<string, number>;
  private readonly nodeIds: string[];
  private readonly nodes: Record<string, string>;
  private readonly window = build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000, numberOfSignificantValueDigits: 2 });
  /** Per device, 2 + the number of the node it is signed in to (-1: unknown), 0 while signed out; grown as devices sign in. */
  private nodeSlots = new Int16Array(0);
  /**
   * Direct conversations with acked sends of this worker still waiting for
   * a reader's read marker, each in one array of numbers (a run holds
   * millions of conversations; only those with unread sends are kept, so
   * this follows the rate of sends × the read delay, not the run's length):
   * - [0]: 2 × the number of sends below, plus 1 once its readers moved to `manyReaders`;
   * - then the sends in seq order as [seq, msgKey, readers still to read it, sending device]
   *   (a device's own marker covers its own sends too: those are not reads);
   * - then the highest seq each reader device has reported read, as [device, seq]
   *   pairs, up to READERS_SCANNED readers.
   * A send leaves once every device owed it has read it; the conversation
   * leaves, marks and all, with its last send. A marker for a conversation
   * with nothing waiting is not kept: a send acked after it (a late ack) is
   * receipted by that reader's next marker.
   */
  private readonly convs = new Map<string, number[]>();
  /** Read marks of conversations with more than READERS_SCANNED readers. */
  private readonly manyReaders = new Map<string, Map<number, number>>();
  /** Connection rows need the run's origin; setup connects come before it. */
  private recordingConnections = false;

  constructor(
    private readonly ledger: Ledger,
    private readonly population: Population,
    config: { nodes: NodeRef[] },
    private readonly scenario: Scenario,
    private readonly t0: () => number,
    private readonly hooks: DeviceLedgerHooks = {},
  ) {
    this.nodeNumbers = new Map(config.nodes.map((n) => [n.id, n.number]));
    this.nodeIds = config.nodes.map((n) => n.url);
    this.nodes = Object.fromEntries(config.nodes.map((n) => [n.url, n.id]));
  }

  /** The sender side remembers where a message goes, to list its expected deliveries at ack time. */
  willSend(msgKey: number, from: number, to: string): void {
    this.targets.set(msgKey, { from, to });
  }

  /**
   * The run clock has its origin (t0): connect and disconnect rows are
   * recorded from here on. Before it, times cannot be made relative, and
   * every device is online when the run starts anyway.
   */
  runStarted(): void {
    this.recordingConnections = true;
  }

  /** Direct conversations with an acked send some reader has not read yet (tests, memory accounting). */
  get unreadConversations(): number {
    return this.convs.size;
  }

  pendingSends(): number {
    return this.targets.size;
  }

  takeWindowP99(): number {
    const v = this.window.totalCount > 0 ? this.window.getValueAtPercentile(99) : 0;
    this.window.reset();
    return v;
  }

  /**
   * The hooks one device reports to. `io.connected()` is called on every
   * welcome (the socket restarts its node preference from the first choice).
   * The observer is three fields and no closures: a sim holds millions.
   */
  observerFor(dev: number, io: { connected(): void }): DeviceObserver {
    return new LedgerObserver(this, dev, io);
  }

  /**
   * The hooks of a sim cell's stand-in for another cell's device (a ghost,
   * cells.ts): what it receives counts as a delivery, but its sign-ins and
   * session ends are the real device's, in its own cell's ledger. The
   * ghost's node is kept, for the delivery's path.
   */
  ghostObserverFor(dev: number, io: { connected(): void }): DeviceObserver {
    return new LedgerObserver(this, dev, io, true);
  }

  /** Ghosts signed in now (not in `connected`, which counts the devices the run plays). */
  ghostsConnected = 0;

  private rel(at: number): number {
    return at - this.t0();
  }

  /** @internal LedgerObserver's hooks from here on. */
  onSend(k: number, intended: number, sent: number, dev: number, fired = sent): void {
    this.sent++;
    this.ledger.send(k, dev, this.rel(intended), this.rel(sent), fired - intended);
  }

  /** @internal */
  onAck(k: number, at: number, mid: string, seq: number, conv: string): void {
    this.acked++;
    this.ledger.ack(k, this.rel(at), mid);
    if (this.retried.delete(k)) this.ledger.retrySucceeded(k);
    this.hooks.acked?.(k, mid);
    this.onSettled?.(k);
    const t = this.targets.get(k);
    this.targets.delete(k);
    if (!t) return;
    const recipients = this.population.recipients(t.from, t.to);
    for (const r of recipients) {
      this.ledger.expect(k, r, this.predictPath(t.to, t.from, r));
      this.expected++;
    }
    this.midKeys.set(mid, k);
    if (this.scenario.behaviour.readDelayMs >= 0 && conv.startsWith('d:')) this.rememberSend(conv, seq, k, t.from, recipients.length, this.rel(at));
  }

  /** @internal */
  onDeliver(dev: number, k: number | undefined, mid: string, conv: string, at: number, flags: number, drained: boolean, pushWoken: boolean): void {
    if (k === undefined) return;
    this.delivered++;
    if (!(flags & DUP_TRANSPORT)) {
      this.deliveredUnique++;
      // Progress only: the store time in the mid stands in for the send time, which another worker holds.
      const e2e = at - Snowflake.timeOf(mid);
      if (e2e >= 0) this.window.recordValue(Math.max(1, Math.round(e2e)));
    }
    const path = flags & MEDIA ? 'media' : this.actualPath(dev, mid, conv, drained, pushWoken);
    this.ledger.deliver(k, dev, this.rel(at), path, flags);
  }

  /** @internal */
  onReceipt(kind: 'delivered' | 'read', mid: string | undefined, byDevice: string, at: number, conv: string, upTo: number | undefined): void {
    const by = this.population.deviceIndex(byDevice);
    if (by < 0) return;
    if (kind === 'read' && upTo !== undefined) return this.readUpTo(conv, by, upTo, this.rel(at));
    const k = mid === undefined ? undefined : this.midKeys.get(mid);
    if (k !== undefined) this.ledger.receipt(k, by, kind, this.rel(at));
  }

  /** @internal */
  onError(code: string, k: number | undefined, at: number, willRetry: boolean): void {
    this.errors++;
    if (k !== undefined) {
      if (willRetry) this.retried.add(k);
      else {
        this.targets.delete(k);
        this.onSettled?.(k);
      }
    }
    this.ledger.error(this.rel(at), code, k ?? -1, willRetry);
  }

  /** @internal */
  onConnected(dev: number, io: { connected(): void }, at: number, node: string, ghost = false): void {
    io.connected();
    if (dev >= this.nodeSlots.length) {
      const grown = new Int16Array(Math.max(dev + 1, this.nodeSlots.length * 2, 1024));
      grown.set(this.nodeSlots);
      this.nodeSlots = grown;
    }
    if (ghost) {
      if (!this.nodeSlots[dev]) this.ghostsConnected++;
      this.nodeSlots[dev] = 2 + (this.nodeNumbers.get(node) ?? -1);
      return;
    }
    this.connected++;
    this.nodeSlots[dev] = 2 + (this.nodeNumbers.get(node) ?? -1);
    if (this.recordingConnections) {
      this.ledger.connected(dev, this.rel(at));
      this.sampleConnected(at);
    }
    this.hooks.online?.(dev, true);
  }

  /**
   * Every sign-in and session end also samples the connected gauge: the
   * once-a-second sample would miss a mass drop the devices recover from
   * within the second (the report's connected chart shows each bucket's low).
   */
  private sampleConnected(at: number): void {
    this.ledger.sample(this.rel(at), { connected: this.connected });
  }

  /** @internal */
  onDisconnected(dev: number, at: number, code: number, ghost = false): void {
    if (ghost) {
      if (this.nodeSlots[dev]) this.ghostsConnected--;
      this.nodeSlots[dev] = 0;
      return;
    }
    // Only the end of an authenticated session is a disconnect; failed attempts in backoff are not.
    if (this.nodeSlots[dev]) {
      this.nodeSlots[dev] = 0;
      this.connected--;
      if (this.recordingConnections) {
        this.ledger.disconnected(dev, this.rel(at), code);
        this.sampleConnected(at);
      }
    }
    this.hooks.online?.(dev, false);
  }

  /**
   * Keeps an acked send until its `readers` have read it. A reader whose
   * marker already covers it (the ack came late) has read it: the sender
   * learns so with the ack.
   */
  private rememberSend(conv: string, seq: number, k: number, from: number, readers: number, atMs: number): void {
    let a = this.convs.get(conv);
    if (a) {
      const end = sendsEnd(a);
      if (a[0]! & 1) {
        for (const [by, mark] of this.manyReaders.get(conv)!) if (mark >= seq && by !== from) readers = this.readNow(k, by, atMs, readers);
      } else {
        for (let j = end; j < a.length; j += 2) if (a[j + 1]! >= seq && a[j] !== from) readers = this.readNow(k, a[j]!, atMs, readers);
      }
      if (readers <= 0) return;
      let i = end;
      while (i > 1 && a[i - SEND]! > seq) i -= SEND;
      const b = insertSend(a, i, seq, k, readers, from);
      if (b !== a) this.convs.set(conv, (a = b));
      a[0]! += 2;
      if (a[0]! >> 1 > SENDS_PER_CONV) {
        a.splice(1, SEND);
        a[0]! -= 2;
      }
    } else if (readers > 0) this.convs.set(conv, [2, seq, k, readers, from]);
  }

  private readNow(k: number, by: number, atMs: number, readers: number): number {
    this.ledger.receipt(k, by, 'read', atMs);
    return readers - 1;
  }

  /** A read marker covers every message of ours in the conversation up to `upTo` not yet reported read by that device. */
  private readUpTo(conv: string, by: number, upTo: number, atMs: number): void {
    const a = this.convs.get(conv);
    if (!a) return;
    let from = 0;
    let mark = -1;
    const end = sendsEnd(a);
    if (a[0]! & 1) from = this.manyReaders.get(conv)!.get(by) ?? 0;
    else {
      for (let j = end; j < a.length; j += 2) {
        if (a[j] === by) {
          mark = j;
          from = a[j + 1]!;
          break;
        }
      }
    }
    if (upTo <= from) return;
    let kept = a;
    if (a[0]! & 1) this.manyReaders.get(conv)!.set(by, upTo);
    else if (mark >= 0) a[mark + 1] = upTo;
    else if (a.length - end < 2 * READERS_SCANNED) this.convs.set(conv, (kept = insertPair(a, a.length, by, upTo)));
    else {
      const marks = new Map<number, number>();
      for (let j = end; j < a.length; j += 2) marks.set(a[j]!, a[j + 1]!);
      marks.set(by, upTo);
      this.manyReaders.set(conv, marks);
      a.length = end;
      a[0]! += 1;
    }
    // Receipts in seq order; a send every reader has read leaves.
    let w = 1;
    for (let j = 1; j < end; j += SEND) {
      const seq = kept[j]!;
      let left = kept[j + 2]!;
      if (seq > from && seq <= upTo && kept[j + 3] !== by) {
        this.ledger.receipt(kept[j + 1]!, by, 'read', atMs);
        left--;
      }
      if (left > 0) {
        kept[w] = seq;
        kept[w + 1] = kept[j + 1]!;
        kept[w + 2] = left;
        kept[w + 3] = kept[j + 3]!;
        w += SEND;
      }
    }
    if (w === 1) {
      this.convs.delete(conv);
      if (kept[0]! & 1) this.manyReaders.delete(conv);
    } else if (w < end) {
      kept.splice(w, end - w);
      kept[0]! -= (2 * (end - w)) / SEND;
    }
  }

  /** The path a delivery should take, used for deliveries that never happen: the recipient's first-choice node decides direct vs cross-node. */
  private predictPath(to: string, from: number, recipient: number): Path {
    if (to.startsWith('g:')) return this.population.group(to.slice(2))?.spec.fanout === 'read' ? 'group-read' : 'group-write';
    const theirs = this.nodeNumbers.get(this.nodes[firstChoice(this.population.deviceId(recipient), this.nodeIds)]!);
    return theirs === this.nodeOf(from) ? 'direct' : 'cross-node';
  }

  private actualPath(dev: number, mid: string, conv: string, drained: boolean, pushWoken: boolean): Path {
    if (conv.startsWith('g:')) return this.population.group(conv.slice(2))?.spec.fanout === 'read' ? 'group-read' : 'group-write';
    if (pushWoken) return 'push-wake';
    if (drained) return 'offline-drain';
    return Snowflake.nodeOf(mid) === this.nodeOf(dev) ? 'direct' : 'cross-node';
  }

  /** The number of the node `dev` is signed in to, undefined while signed out. */
  private nodeOf(dev: number): number | undefined {
    const slot = this.nodeSlots[dev];
    return slot ? slot - 2 : undefined;
  }
}

/** Numbers per waiting send: seq, msgKey, readers still to read it, sending device. */
const SEND = 4;

/** Index past a conversation's sends (where its reader marks start). */
function sendsEnd(a: readonly number[]): number {
  return 1 + SEND * (a[0]! >> 1);
}

/** Arrays up to this long grow to their exact size: push leaves 16 slots or more idle, and most conversations stay this short. */
const EXACT_MAX = 64;

/** `a` with `n` slots opened at `i` for the caller to fill: a copy of the exact size while short, else `a` itself. */
function openAt(a: number[], i: number, n: number): number[] {
  if (a.length >= EXACT_MAX) {
    const len = a.length;
    for (let j = 0; j < n; j++) a.push(0);
    a.copyWithin(i + n, i, len);
    return a;
  }
  const b = new Array<number>(a.length + n);
  for (let j = 0; j < i; j++) b[j] = a[j]!;
  for (let j = i; j < a.length; j++) b[j + n] = a[j]!;
  return b;
}

function insertPair(a: number[], i: number, x: number, y: number): number[] {
  const b = openAt(a, i, 2);
  b[i] = x;
  b[i + 1] = y;
  return b;
}

function insertSend(a: number[], i: number, seq: number, k: number, readers: number, from: number): number[] {
  const b = openAt(a, i, 4);
  b[i] = seq;
  b[i + 1] = k;
  b[i + 2] = readers;
  b[i + 3] = from;
  return b;
}

/** One device's DeviceObserver: forwards to the DeviceLedger, which holds all the state. */
class LedgerObserver implements DeviceObserver {
  constructor(private readonly l: DeviceLedger, private readonly dev: number, private readonly io: { connected(): void }, private readonly ghost = false) {}

  onSend(msgKey: number, intendedMs: number, sentMs: number, firedMs: number): void {
    this.l.onSend(msgKey, intendedMs, sentMs, this.dev, firedMs);
  }

  onAck(msgKey: number, ackMs: number, mid: string, seq: number, conv: string): void {
    this.l.onAck(msgKey, ackMs, mid, seq, conv);
  }

  onDeliver(msgKey: number | undefined, mid: string, conv: string, _seq: number, atMs: number, flags: number, _fromDevice: string, drained: boolean, pushWoken: boolean): void {
    this.l.onDeliver(this.dev, msgKey, mid, conv, atMs, flags, drained, pushWoken);
  }

  onReceipt(kind: 'delivered' | 'read', mid: string | undefined, byDevice: string, atMs: number, conv: string, upTo: number | undefined): void {
    this.l.onReceipt(kind, mid, byDevice, atMs, conv, upTo);
  }

  onError(code: string, msgKey: number | undefined, atMs: number, willRetry: boolean): void {
    // A ghost sends nothing of the load; its connection errors are its cell's world's, not the run's.
    if (this.ghost) return;
    this.l.onError(code, msgKey, atMs, willRetry);
  }

  onConnected(atMs: number, node: string): void {
    this.l.onConnected(this.dev, this.io, atMs, node, this.ghost);
  }

  onDisconnected(atMs: number, code: number): void {
    this.l.onDisconnected(this.dev, atMs, code, this.ghost);
  }
}
