import type { Bus } from '../bus/bus.ts';
import type { DeliveryItem } from '../bus/envelope.ts';
import type { Clock, TimerHandle } from '../clock/clock.ts';
import type { Inbox } from '../inbox/inbox.ts';
import type { DeviceId, NodeId } from '../protocol/ids.ts';
import type { Push } from '../push/push.ts';
import type { Registry } from '../registry/registry.ts';

/** What redelivery needs from its node: a few ports, its options, a counter sink, and the local hand-over. */
export interface RedeliveryContext {
  ports: { clock: Clock; inbox: Inbox; registry: Registry; bus: Bus; push: Push };
  opts: { nodeId: NodeId; redeliverAfterMs: number; redeliverRoundsMax: number; redeliverQueueMax: number };
  metrics: { redeliveries: number; redeliverChecks: number; redeliverDropped: number };
  /** Offers an item to devices connected to this node (never lost: no bus in between). */
  deliverLocal(devices: readonly DeviceId[], item: DeliveryItem): void;
  alive(): boolean;
}

/** One bus delivery waiting for its check. */
interface Watch {
  devices: readonly DeviceId[];
  item: DeliveryItem;
  /** Redeliveries already made of it (0: the first publish). */
  round: number;
  dueMs: number;
}

/** Inbox entries read per device for a check: an online device's inbox is short, as it acks as it reads. */
const CHECK_PAGE = 32;

/**
 * Second chances for live deliveries sent over the bus, which is at most
 * once (Redis pub/sub drops envelopes while a subscriber reconnects; the sim
 * loses them on purpose).
 *
 * Every item this node publishes to another node for its devices is watched:
 * `redeliverAfterMs` later one sweep reads the head of each watched device's
 * inbox, once per device whatever its number of items, and every item still
 * there is routed again (a fresh registry lookup: the device may have moved;
 * an offline device owed a message gets a push). A redelivery is watched in
 * turn, up to `redeliverRoundsMax` rounds. So an online device gets a
 * delivery the bus lost within `redeliverAfterMs × 1.25` (the sweep runs at
 * most every quarter of it) plus one inbox read and one bus hop per loss in a
 * row, and an entry the device has acked costs one inbox read, no frame.
 * An entry still unacked because the device is slow is routed again too:
 * its node offers it only when it is not already outstanding on the
 * connection, and devices drop repeated mids.
 *
 * Costs: one queue slot per (item, destination node) for `redeliverAfterMs`
 * (at most `redeliverQueueMax`; beyond it an item is not watched and waits
 * for the device's next drain, counted in `redeliverDropped`), one node-wide
 * timer, and one inbox read per watched device per sweep. No timer or state
 * per connection. Items of fan-out-on-read groups (no inbox entry) and
 * deliveries to devices on this node (no bus) are not watched.
 */
export class Redelivery {
  /** Watches in due order (every due time is now + the same delay), consumed from `head`. */
  private queue: Watch[] = [];
  private head = 0;
  private timer: TimerHandle | undefined;
  private lastSweepMs = -Infinity;

  constructor(private readonly ctx: RedeliveryContext) {}

  /** Items waiting for their check (tests and metrics). */
  get size(): number {
    return this.queue.length - this.head;
  }

  /** An item published to another node for `devices`; checked `redeliverAfterMs` from now. */
  watch(devices: readonly DeviceId[], item: DeliveryItem, round = 0): void {
    const { opts, ports, metrics } = this.ctx;
    if (opts.redeliverAfterMs <= 0 || item.group !== undefined || round >= opts.redeliverRoundsMax) return;
    if (this.size >= opts.redeliverQueueMax) {
      metrics.redeliverDropped++;
      return;
    }
    this.queue.push({ devices, item, round, dueMs: ports.clock.now() + opts.redeliverAfterMs });
    this.arm();
  }

  /** Forgets every watch (the node stopped or died: its devices drain elsewhere). */
  clear(): void {
    if (this.timer) this.ctx.ports.clock.clear(this.timer);
    this.timer = undefined;
    this.queue = [];
    this.head = 0;
  }

  private arm(): void {
    if (this.timer || this.size === 0) return;
    const { clock } = this.ctx.ports;
    const spacing = this.ctx.opts.redeliverAfterMs / 4;
    const at = Math.max(this.queue[this.head]!.dueMs, this.lastSweepMs + spacing);
    this.timer = clock.setTimeout(() => {
      this.timer = undefined;
      void this.sweep();
    }, Math.max(0, at - clock.now()));
  }

  /** Takes every due watch, checks each device's inbox once, and routes again what is still there. */
  private async sweep(): Promise<void> {
    if (!this.ctx.alive()) return this.clear();
    const now = this.ctx.ports.clock.now();
    this.lastSweepMs = now;
    const byDevice = new Map<DeviceId, Watch[]>();
    while (this.head < this.queue.length && this.queue[this.head]!.dueMs <= now) {
      const w = this.queue[this.head++]!;
      for (const d of w.devices) {
        const list = byDevice.get(d);
        if (list) list.push(w);
        else byDevice.set(d, [w]);
      }
    }
    this.compact();
    this.arm();
    const owed = await this.stillOwed(byDevice);
    if (owed.size > 0 && this.ctx.alive()) await this.resend(owed);
  }

  /** Drops the consumed front of the queue once it is most of it. */
  private compact(): void {
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  /** The watches whose item is still in each device's inbox, with those devices. A failed read counts as owed: routing again is harmless. */
  private async stillOwed(byDevice: Map<DeviceId, Watch[]>): Promise<Map<Watch, DeviceId[]>> {
    const { inbox } = this.ctx.ports;
    const owed = new Map<Watch, DeviceId[]>();
    await Promise.all([...byDevice].map(async ([device, watches]) => {
      this.ctx.metrics.redeliverChecks++;
      const page = await inbox.page(device, null, CHECK_PAGE).catch(() => undefined);
      const ids = page && new Set(page.map((e) => e.id));
      // A full page may stop before an entry: ids sort by time, so one past its last id may still be there.
      const last = page && page.length === CHECK_PAGE ? page[page.length - 1]!.id : undefined;
      for (const w of watches) {
        const id = w.item.id;
        if (ids && !ids.has(id) && !(last !== undefined && id > last)) continue;
        const list = owed.get(w);
        if (list) list.push(device);
        else owed.set(w, [device]);
      }
    }));
    return owed;
  }

  /** Routes each still-owed item again: here, over the bus (watched again), or a push for a device gone offline. */
  private async resend(owed: Map<Watch, DeviceId[]>): Promise<void> {
    const { ports, opts, metrics } = this.ctx;
    const all = [...new Set([...owed.values()].flat())];
    const where = await ports.registry.lookup(all).catch(() => undefined);
    if (!where) return;
    const sends: Promise<void>[] = [];
    for (const [w, devices] of owed) {
      const byNode = new Map<NodeId, DeviceId[]>();
      for (const d of devices) {
        metrics.redeliveries++;
        const n = where.get(d);
        if (n === undefined) {
          if (w.item.kind === 'msg') sends.push(ports.push.wake(d, 'msg'));
        } else if (n === opts.nodeId) this.ctx.deliverLocal([d], w.item);
        else {
          const list = byNode.get(n);
          if (list) list.push(d);
          else byNode.set(n, [d]);
        }
      }
      for (const [n, list] of byNode) {
        sends.push(ports.bus.publish(n, { k: 'deliver', devices: list, item: w.item }));
        this.watch(list, w.item, w.round + 1);
      }
    }
    await Promise.allSettled(sends);
  }
}
