import { CloseCodes } from '../protocol/errors.ts';
import type { Delivery } from './delivery.ts';
import type { NodeContext } from './node-context.ts';
import type { ConnId } from './ports.ts';
import type { PresenceHub } from './presence-hub.ts';
import type { SendPath } from './send-path.ts';

/**
 * Heartbeats keep this node alive in the registry. Two ways its liveness can
 * lapse while its connections stay open: the registry is unreachable (the
 * heartbeat fails), or this node itself stood still for longer than the TTL
 * (SIGSTOP, a long stall) and peers saw it dead. Either way senders meanwhile
 * chose push over routing here, so once a heartbeat gets through again,
 * every connection is drained (twice, see redrainAll). A peer's lapse is
 * noticed at the heartbeat too, and drains every connection once.
 */
export class Liveness {
  /** Heartbeats still to be followed by a drain of every connection, after the registry was unreachable. */
  private redrainsOwed = 0;
  private redrainReason = '';
  /** When the last heartbeat that reached the registry was sent (clock ms). */
  private lastBeatMs: number | undefined;
  /** Alive nodes at the last heartbeat, to notice a peer's death. */
  private peers = new Set<string>();

  constructor(
    private readonly ctx: NodeContext,
    private readonly parts: LivenessParts,
  ) {}

  /** Liveness TTL in the registry: three heartbeat intervals. */
  get ttlMs(): number {
    return this.ctx.opts.heartbeatIntervalMs * 3;
  }

  /** One heartbeat, every `heartbeatIntervalMs`; also renews send claims and local users' presence. */
  beat(): void {
    const { ports, opts } = this.ctx;
    const ttl = this.ttlMs;
    const sentMs = ports.clock.now();
    // The registry can become unreachable between the heartbeat and the peer list: either failure owes the redrains.
    void ports.registry.heartbeat(opts.nodeId, ttl).then(() => {
      const previous = this.lastBeatMs;
      this.lastBeatMs = sentMs;
      if (previous !== undefined && sentMs - previous > ttl) this.oweRedrains('this node lapsed');
      if (this.redrainsOwed > 0 && this.ctx.alive()) {
        this.redrainsOwed--;
        this.redrainAll(this.redrainReason);
      }
      return this.watchPeers();
    }).catch(() => this.oweRedrains('shared state back'));
    this.parts.sendPath.renewClaims();
    this.parts.presence.refresh();
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
    const { ports, opts } = this.ctx;
    const now = new Set(await ports.registry.nodes());
    const vanished = [...this.peers].find((n) => n !== opts.nodeId && !now.has(n));
    this.peers = now;
    if (vanished && this.ctx.alive()) this.redrainAll(`${vanished} lapsed`);
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
    const { metrics, connections } = this.ctx;
    metrics.redrains.set(reason, (metrics.redrains.get(reason) ?? 0) + 1);
    for (const c of connections.open.values()) {
      if (!c.isReady()) continue;
      if (c.draining) c.needsDrain = true;
      // A drain that fails (store still slow or away) would leave the connection marked draining, holding
      // live deliveries forever: close it instead, so the device reconnects and drains afresh.
      else void this.parts.delivery.drain(c).catch(() => this.drainFailed(c.id));
    }
  }

  private drainFailed(conn: ConnId): void {
    this.ctx.metrics.drainFailures++;
    this.ctx.close(conn, CloseCodes.goingAway, 'drain failed, reconnect');
  }
}

/** The parts a heartbeat keeps going or sets off. */
export interface LivenessParts {
  delivery: Delivery;
  sendPath: SendPath;
  presence: PresenceHub;
}
