import { build } from 'hdr-histogram-js';
import type { Ledger, Path } from '../../reports/ledger.ts';
import { DUP_TRANSPORT } from '../../reports/ledger.ts';
import { Snowflake } from '../../system/node/snowflake.ts';
import type { DeviceObserver } from '../device/ports.ts';
import { preferenceOrder } from '../../system/worlds/placement.ts';
import type { Population } from '../population.ts';
import type { Scenario } from '../scenario.ts';
import type { NodeRef } from './config.ts';

/** Bounded memory of mid -> msgKey for receipts about this worker's own sends. */
const RECEIPT_KEYS_MAX = 200_000;

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
  private readonly midKeys = new Map<string, number>();
  private readonly retried = new Set<number>();
  private readonly nodeNumbers: Map<string, number>;
  private readonly nodeIds: string[];
  private readonly nodes: Record<string, string>;
  private readonly window = build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000, numberOfSignificantValueDigits: 2 });
  private readonly nodeOf = new Map<number, number>();
  /** Per conversation, this worker's acked sends in seq order, to turn a read marker (upTo) into per-message receipts. */
  private readonly sentInConv = new Map<string, { seq: number; k: number }[]>();
  /** Highest seq each (conversation, reader device) has reported read. */
  private readonly readMarks = new Map<string, number>();
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

  /** `io.connected()` is called on every welcome (the socket restarts its node preference from the first choice). */
  observerFor(dev: number, io: { connected(): void }): DeviceObserver {
    const rel = (at: number) => at - this.t0();
    return {
      onSend: (k, intended, sent) => {
        this.sent++;
        this.ledger.send(k, dev, rel(intended), rel(sent));
      },
      onAck: (k, at, mid, seq, conv) => {
        this.acked++;
        this.ledger.ack(k, rel(at));
        if (this.retried.delete(k)) this.ledger.retrySucceeded(k);
        this.hooks.acked?.(k, mid);
        const t = this.targets.get(k);
        this.targets.delete(k);
        if (!t) return;
        for (const r of this.population.recipients(t.from, t.to)) {
          this.ledger.expect(k, r, this.predictPath(t.to, t.from, r));
          this.expected++;
        }
        if (this.midKeys.size >= RECEIPT_KEYS_MAX) this.midKeys.delete(this.midKeys.keys().next().value as string);
        this.midKeys.set(mid, k);
        if (this.scenario.behaviour.readDelayMs >= 0 && conv.startsWith('d:')) this.rememberSend(conv, seq, k);
      },
      onDeliver: (k, mid, conv, _seq, at, flags, _from, drained, pushWoken) => {
        if (k === undefined) return;
        this.delivered++;
        if (!(flags & DUP_TRANSPORT)) {
          this.deliveredUnique++;
          // Progress only: the store time in the mid stands in for the send time, which another worker holds.
          const e2e = at - Snowflake.timeOf(mid);
          if (e2e >= 0) this.window.recordValue(Math.max(1, Math.round(e2e)));
        }
        this.ledger.deliver(k, dev, rel(at), this.actualPath(dev, mid, conv, drained, pushWoken), flags);
      },
      onReceipt: (kind, mid, byDevice, at, conv, upTo) => {
        const by = this.population.deviceIndex(byDevice);
        if (by < 0) return;
        if (kind === 'read' && upTo !== undefined) return this.readUpTo(conv, by, upTo, rel(at));
        const k = mid === undefined ? undefined : this.midKeys.get(mid);
        if (k !== undefined) this.ledger.receipt(k, by, kind, rel(at));
      },
      onError: (code, k, at, willRetry) => {
        this.errors++;
        if (k !== undefined) {
          if (willRetry) this.retried.add(k);
          else this.targets.delete(k);
        }
        this.ledger.error(rel(at), code, k ?? -1, willRetry);
      },
      onConnected: (at, node) => {
        this.connected++;
        io.connected();
        this.nodeOf.set(dev, this.nodeNumbers.get(node) ?? -1);
        if (this.recordingConnections) this.ledger.connected(dev, rel(at));
        this.hooks.online?.(dev, true);
      },
      onDisconnected: (at, code) => {
        // Only the end of an authenticated session is a disconnect; failed attempts in backoff are not.
        if (this.nodeOf.delete(dev)) {
          this.connected--;
          if (this.recordingConnections) this.ledger.disconnected(dev, rel(at), code);
        }
        this.hooks.online?.(dev, false);
      },
    };
  }

  private rememberSend(conv: string, seq: number, k: number): void {
    let list = this.sentInConv.get(conv);
    if (!list) this.sentInConv.set(conv, (list = []));
    let i = list.length;
    while (i > 0 && list[i - 1]!.seq > seq) i--;
    list.splice(i, 0, { seq, k });
    if (list.length > 10_000) list.shift();
  }

  /** A read marker covers every message of ours in the conversation up to `upTo` not yet reported read by that device. */
  private readUpTo(conv: string, by: number, upTo: number, atMs: number): void {
    const key = `${conv}|${by}`;
    const from = this.readMarks.get(key) ?? 0;
    if (upTo <= from) return;
    this.readMarks.set(key, upTo);
    for (const { seq, k } of this.sentInConv.get(conv) ?? []) if (seq > from && seq <= upTo) this.ledger.receipt(k, by, 'read', atMs);
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
