/** Tunables of one chat node. Defaults are spread first; `validateNodeOptions` checks them once at the edge. */
export interface ChatNodeOptions {
  /** Node name, unique in the cluster (registry and bus address). */
  nodeId: string;
  /** Node number in [0, 4095] for Snowflake ids; unique in the cluster. */
  nodeNumber: number;
  /** Members above which a new group uses fan-out on read. */
  fanoutWriteMax: number;
  /** Inbox entries sent per drain page; the next page waits for the device's acks. */
  drainPageSize: number;
  /** Deliveries sent to a device and not yet acked, at most; beyond it new ones stay in the inbox until a drain. */
  unackedWindowMax: number;
  /** Live deliveries held while a drain is running, at most; beyond it a second drain picks them up. */
  drainBufferMax: number;
  /** How long the node waits for a drain page's acks before closing the connection. */
  drainAckTimeoutMs: number;
  /** Sends being processed at once, at most; beyond it sends get `overloaded`. */
  maxInFlight: number;
  /** Event-loop delay above which the node sheds typing/presence, and at twice that, sends. */
  overloadEventLoopDelayMs: number;
  /** Per-device send rate (token bucket) and its burst. */
  rateLimitPerSec: number;
  rateLimitBurst: number;
  /** Malformed frames tolerated per connection before closing with 1008. */
  maxOffences: number;
  /** How long a client message id is remembered for dedup. */
  dedupTtlMs: number;
  /**
   * Registry heartbeat interval; the node is considered dead 3 intervals
   * after its last one (its liveness TTL). The same TTL is the lease of a
   * send's dedup claim, renewed every heartbeat while the send is stored:
   * a node that dies mid-send blocks a retry of that cid (answered
   * `in_progress`) for at most 3 intervals after its last heartbeat.
   */
  heartbeatIntervalMs: number;
  /** Presence changes are coalesced and published at most once per interval. */
  presenceFlushMs: number;
  /** Presence heartbeat TTL for online users. */
  presenceTtlMs: number;
  /** Changed users kept for the next presence flush, at most (extra changes are shed). */
  presenceChangesMax: number;
  /**
   * How long group membership and device lists are cached (0 = never). A
   * device's first sign-in waits this long before its welcome when other
   * nodes are alive (see ChatNode.newDeviceFence).
   */
  directoryCacheMs: number;
  /** Retry hint sent with retryable errors. */
  retryAfterMs: number;
  /**
   * A live delivery published over the bus (at most once) whose inbox entry
   * is still there this long after is routed again (0 = never; see
   * Redelivery). An online device gets a delivery the bus lost within
   * 1.25 × this, plus an inbox read and a bus hop, per loss in a row.
   */
  redeliverAfterMs: number;
  /** Redeliveries of one item at most; after them it waits for the device's next drain. */
  redeliverRoundsMax: number;
  /** Bus deliveries waiting for their check, at most; beyond it new ones are not watched (counted in redeliverDropped). */
  redeliverQueueMax: number;
}

export const defaultNodeOptions: Omit<ChatNodeOptions, 'nodeId' | 'nodeNumber'> = {
  fanoutWriteMax: 256,
  drainPageSize: 100,
  unackedWindowMax: 1000,
  drainBufferMax: 1000,
  drainAckTimeoutMs: 15_000,
  maxInFlight: 10_000,
  overloadEventLoopDelayMs: 500,
  rateLimitPerSec: 50,
  rateLimitBurst: 100,
  maxOffences: 3,
  dedupTtlMs: 24 * 3600_000,
  heartbeatIntervalMs: 1000,
  presenceFlushMs: 1000,
  presenceTtlMs: 30_000,
  presenceChangesMax: 10_000,
  directoryCacheMs: 2000,
  retryAfterMs: 250,
  redeliverAfterMs: 2000,
  redeliverRoundsMax: 10,
  redeliverQueueMax: 200_000,
};

export function resolveNodeOptions(opts: Partial<ChatNodeOptions> & Pick<ChatNodeOptions, 'nodeId' | 'nodeNumber'>): ChatNodeOptions {
  const o = { ...defaultNodeOptions, ...opts };
  for (const [k, v] of Object.entries(o)) {
    if (k === 'nodeId') continue;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new RangeError(`node option ${k} must be a non-negative number, got ${v}`);
  }
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(o.nodeId)) throw new RangeError(`nodeId must match [A-Za-z0-9_-]{1,64}, got ${o.nodeId}`);
  if (o.drainPageSize < 1 || o.unackedWindowMax < o.drainPageSize) {
    throw new RangeError('drainPageSize must be >= 1 and unackedWindowMax >= drainPageSize');
  }
  return o;
}
