import { build } from 'hdr-histogram-js';
import QuickLRU from 'quick-lru';
import type { Ledger, Path } from '../../reports/ledger.ts';
import { DUP_TRANSPORT } from '../../reports/ledger.ts';
import { Snowflake } from '../../system/node/snowflake.ts';
import type { DeviceObserver } from '../device/ports.ts';
import { preferenceOrder } from '../../system/worlds/placement.ts';
import type { Population } from '../population.ts';
import type { Scenario } from '../scenario.ts';
import type { NodeRef } from './config.ts';

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
  private readonly targets = new Map<number, { from: number; to: string }>();
  private readonly midKeys = new QuickLRU<string, number>({ maxSize: RECEIPT_KEYS_MAX });
  private readonly retried = new Set<number>();
  private readonly nodeNumbers: Map<string, number>;
  private readonly nodeIds: string[];
  private readonly nodes: Record<string, string>;
  private readonly window = build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000, numberOfSignificantValueDigits: 2 });
  private readonly nodeOf = new Map<number, number>();
  /**
   * Per conversation, in one array of numbers (a simulation holds millions
   * of conversations, most with a message or two: a key string, a Map entry
   * and an object or array more each added up to hundreds of bytes):
   * - [0]: 2 × the number of sends below, plus 1 once its readers moved to `manyReaders`;
   * - then this worker's acked sends in seq order as [seq, msgKey] pairs, to turn
   *   a read marker (upTo) into per-message receipts;
   * - then the highest seq each reader device has reported read, as [device, seq]
   *   pairs, up to READERS_SCANNED readers.
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

  private rel(at: number): number {
    return at - this.t0();
  }

  /** @internal LedgerObserver's hooks from here on. */
  onSend(k: number, intended: number, sent: number, dev: number): void {
    this.sent++;
    this.ledger.send(k, dev, this.rel(intended), this.rel(sent));
  }

  /** @internal */
  onAck(k: number, at: number, mid: string, seq: number, conv: string): void {
    this.acked++;
    this.ledger.ack(k, this.rel(at));
    if (this.retried.delete(k)) this.ledger.retrySucceeded(k);
    this.hooks.acked?.(k, mid);
    const t = this.targets.get(k);
    this.targets.delete(k);
    if (!t) return;
    for (const r of this.population.recipients(t.from, t.to)) {
      this.ledger.expect(k, r, this.predictPath(t.to, t.from, r));
      this.expected++;
    }
    this.midKeys.set(mid, k);
    if (this.scenario.behaviour.readDelayMs >= 0 && conv.startsWith('d:')) this.rememberSend(conv, seq, k);
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
    this.ledger.deliver(k, dev, this.rel(at), this.actualPath(dev, mid, conv, drained, pushWoken), flags);
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
      else this.targets.delete(k);
    }
    this.ledger.error(this.rel(at), code, k ?? -1, willRetry);
  }

  /** @internal */
  onConnected(dev: number, io: { connected(): void }, at: number, node: string): void {
    this.connected++;
    io.connected();
    this.nodeOf.set(dev, this.nodeNumbers.get(node) ?? -1);
    if (this.recordingConnections) this.ledger.connected(dev, this.rel(at));
    this.hooks.online?.(dev, true);
  }

  /** @internal */
  onDisconnected(dev: number, at: number, code: number): void {
    // Only the end of an authenticated session is a disconnect; failed attempts in backoff are not.
    if (this.nodeOf.delete(dev)) {
      this.connected--;
      if (this.recordingConnections) this.ledger.disconnected(dev, this.rel(at), code);
    }
    this.hooks.online?.(dev, false);
  }

  private rememberSend(conv: string, seq: number, k: number): void {
    const a = this.convs.get(conv);
    if (!a) {
      this.convs.set(conv, [2, seq, k]);
      return;
    }
    const end = 1 + a[0]! - (a[0]! & 1);
    let i = end;
    while (i > 1 && a[i - 2]! > seq) i -= 2;
    const b = insertPair(a, i, seq, k);
    if (b !== a) this.convs.set(conv, b);
    b[0]! += 2;
    if (end + 1 > 2 * SENDS_PER_CONV) {
      b.splice(1, 2);
      b[0]! -= 2;
    }
  }

  /** A read marker covers every message of ours in the conversation up to `upTo` not yet reported read by that device. */
  private readUpTo(conv: string, by: number, upTo: number, atMs: number): void {
    const a = this.convs.get(conv);
    let from = 0;
    let mark = -1;
    const end = a ? 1 + a[0]! - (a[0]! & 1) : 0;
    if (a && a[0]! & 1) from = this.manyReaders.get(conv)!.get(by) ?? 0;
    else if (a) {
      for (let j = end; j < a.length; j += 2) {
        if (a[j] === by) {
          mark = j;
          from = a[j + 1]!;
          break;
        }
      }
    }
    if (upTo <= from) return;
    if (!a) {
      this.convs.set(conv, [0, by, upTo]);
      return;
    }
    if (a[0]! & 1) this.manyReaders.get(conv)!.set(by, upTo);
    else if (mark >= 0) a[mark + 1] = upTo;
    else if (a.length - end < 2 * READERS_SCANNED) this.convs.set(conv, insertPair(a, a.length, by, upTo));
    else {
      const marks = new Map<number, number>();
      for (let j = end; j < a.length; j += 2) marks.set(a[j]!, a[j + 1]!);
      marks.set(by, upTo);
      this.manyReaders.set(conv, marks);
      a.length = end;
      a[0]! += 1;
    }
    for (let j = 1; j < end; j += 2) {
      const seq = a[j]!;
      if (seq > from && seq <= upTo) this.ledger.receipt(a[j + 1]!, by, 'read', atMs);
    }
  }

  /** The path a delivery should take, used for deliveries that never happen: the recipient's first-choice node decides direct vs cross-node. */
  private predictPath(to: string, from: number, recipient: number): Path {
    if (to.startsWith('g:')) return this.population.group(to.slice(2))?.spec.fanout === 'read' ? 'group-read' : 'group-write';
    const theirs = this.nodeNumbers.get(this.nodes[preferenceOrder(this.population.deviceId(recipient), this.nodeIds)[0]!]!);
    return theirs === this.nodeOf.get(from) ? 'direct' : 'cross-node';
  }

  private actualPath(dev: number, mid: string, conv: string, drained: boolean, pushWoken: boolean): Path {
    if (conv.startsWith('g:')) return this.population.group(conv.slice(2))?.spec.fanout === 'read' ? 'group-read' : 'group-write';
    if (pushWoken) return 'push-wake';
    if (drained) return 'offline-drain';
    return Snowflake.nodeOf(mid) === this.nodeOf.get(dev) ? 'direct' : 'cross-node';
  }
}

/** Arrays up to this long grow to their exact size: push leaves 16 slots or more idle, and most conversations stay this short. */
const EXACT_MAX = 64;

/** `a` with (x, y) inserted at `i`: a copy of the exact size while short, else `a` itself. */
function insertPair(a: number[], i: number, x: number, y: number): number[] {
  if (a.length >= EXACT_MAX) {
    if (i === a.length) a.push(x, y);
    else a.splice(i, 0, x, y);
    return a;
  }
  const b = new Array<number>(a.length + 2);
  for (let j = 0; j < i; j++) b[j] = a[j]!;
  b[i] = x;
  b[i + 1] = y;
  for (let j = i; j < a.length; j++) b[j + 2] = a[j]!;
  return b;
}

/** One device's DeviceObserver: forwards to the DeviceLedger, which holds all the state. */
class LedgerObserver implements DeviceObserver {
  constructor(private readonly l: DeviceLedger, private readonly dev: number, private readonly io: { connected(): void }) {}

  onSend(msgKey: number, intendedMs: number, sentMs: number): void {
    this.l.onSend(msgKey, intendedMs, sentMs, this.dev);
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
    this.l.onError(code, msgKey, atMs, willRetry);
  }

  onConnected(atMs: number, node: string): void {
    this.l.onConnected(this.dev, this.io, atMs, node);
  }

  onDisconnected(atMs: number, code: number): void {
    this.l.onDisconnected(this.dev, atMs, code);
  }
}
