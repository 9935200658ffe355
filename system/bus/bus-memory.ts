import type { NodeId } from '../protocol/ids.ts';
import type { FaultSwitch } from '../faults/port-faults.ts';
import type { Bus, Unsubscribe } from './bus.ts';
import type { Envelope } from './envelope.ts';

export interface MemoryBusOptions {
  /** Test hook: `failNext('publish')` rejects a publish, `dropNext('publish')` loses one envelope. */
  faults?: FaultSwitch;
  /**
   * Called when a handler throws. Default: rethrow asynchronously, so a bug in
   * a node's envelope handler fails loudly instead of stalling the bus.
   */
  onHandlerError?: (error: unknown, node: NodeId) => void;
  /**
   * Envelopes waiting for delivery at most; beyond it a publish is dropped
   * (at most once allows it; Redis likewise cuts off a subscriber whose
   * output buffer overflows). Default 100,000.
   */
  queueMax?: number;
}

/** Envelopes delivered per turn before yielding to I/O, so a busy bus cannot starve sockets. */
const DRAIN_BATCH = 4096;

/** Drops an envelope when it returns false (fault tests: partitions, lossy links). */
export type BusFilter = (node: NodeId, envelope: Envelope) => boolean;

interface Subscription {
  node: NodeId;
  handler: (envelope: Envelope) => void;
  active: boolean;
}

export interface MemoryBusStats {
  published: number;
  delivered: number;
  /** Envelopes lost: no subscriber, filtered out, dropped by a fault, or bus closed. */
  dropped: number;
}

const rethrow = (error: unknown): void => {
  queueMicrotask(() => {
    throw error;
  });
};

/**
 * An in-process bus shared by every node of one process (one instance, many
 * subscribers). Envelopes go through one FIFO queue drained in a microtask, so
 * delivery is asynchronous (a handler never runs inside `publish`) and in
 * publish order, which keeps order per (publisher, subscriber). Like Redis
 * pub/sub, the receivers are fixed when the envelope is published: nobody
 * subscribed then means it is dropped, and a subscription ended before
 * delivery does not see it.
 */
export class MemoryBus implements Bus {
  readonly stats: MemoryBusStats = { published: 0, delivered: 0, dropped: 0 };
  private readonly faults?: FaultSwitch;
  private readonly onHandlerError: (error: unknown, node: NodeId) => void;
  private readonly queueMax: number;
  private readonly subs = new Map<NodeId, Subscription[]>();
  private filter?: BusFilter;
  private queue: ({ to: Subscription[]; envelope: Envelope } | undefined)[] = [];
  private head = 0;
  private draining = false;
  private closed = false;

  constructor(options: MemoryBusOptions = {}) {
    this.faults = options.faults;
    this.onHandlerError = options.onHandlerError ?? rethrow;
    this.queueMax = options.queueMax ?? 100_000;
  }

  /** Test hook: envelopes for which `filter` returns false are dropped at publish. `undefined` removes it. */
  setFilter(filter: BusFilter | undefined): void {
    this.filter = filter;
  }

  async publish(node: NodeId, envelope: Envelope): Promise<void> {
    this.faults?.check('publish');
    this.stats.published++;
    const to = this.subs.get(node);
    const lost =
      this.closed ||
      !to ||
      this.queue.length - this.head >= this.queueMax ||
      this.faults?.shouldDrop('publish') ||
      (this.filter !== undefined && !this.filter(node, envelope));
    if (lost) {
      this.stats.dropped++;
      return;
    }
    this.queue.push({ to, envelope });
    if (!this.draining) {
      this.draining = true;
      queueMicrotask(() => this.drain());
    }
  }

  async subscribe(node: NodeId, handler: (envelope: Envelope) => void): Promise<Unsubscribe> {
    this.faults?.check('subscribe');
    if (this.closed) throw new Error('MemoryBus is closed');
    const sub: Subscription = { node, handler, active: true };
    // Copy on write: envelopes already queued keep the receivers they were published to.
    this.subs.set(node, [...(this.subs.get(node) ?? []), sub]);
    return async () => this.unsubscribe(sub);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const list of this.subs.values()) for (const sub of list) sub.active = false;
    this.subs.clear();
  }

  private unsubscribe(sub: Subscription): void {
    if (!sub.active) return;
    sub.active = false;
    const rest = (this.subs.get(sub.node) ?? []).filter((s) => s !== sub);
    if (rest.length > 0) this.subs.set(sub.node, rest);
    else this.subs.delete(sub.node);
  }

  private drain(): void {
    // Handlers may publish more; those join the end of this same queue.
    for (let n = 0; n < DRAIN_BATCH && this.head < this.queue.length; n++) {
      const { to, envelope } = this.queue[this.head]!;
      this.queue[this.head++] = undefined;
      let delivered = false;
      for (const sub of to) {
        if (!sub.active) continue;
        delivered = true;
        try {
          sub.handler(envelope);
        } catch (error) {
          this.onHandlerError(error, sub.node);
        }
      }
      if (delivered) this.stats.delivered++;
      else this.stats.dropped++;
    }
    if (this.head < this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
      setImmediate(() => this.drain());
      return;
    }
    this.queue = [];
    this.head = 0;
    this.draining = false;
  }
}
