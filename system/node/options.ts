import type { TurnConfig } from '../calls/turn-credentials.ts';

/** The TURN relays of `ChatNodeOptions.turn`: `ttlS` defaults to TURN_TTL_S_DEFAULT (600). */
export type TurnOptions = Omit<TurnConfig, 'ttlS'> & { ttlS?: number };

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
  /** Bytes of one drain page at most (a single larger entry goes alone); keep well under the gateway's maxBufferedBytes. */
  drainPageMaxBytes: number;
  /** Bytes of deliveries sent and not yet acked, at most (one larger delivery may go alone); beyond it new ones wait in the inbox. */
  unackedWindowMaxBytes: number;
  /** A socket that has not sent a hello with a valid token this long after opening is closed with 4001. */
  helloTimeoutMs: number;
  /** Frames answered `not_ready` (sent before sign-in completed) per socket; one more closes it with 1008. */
  unreadyFramesMax: number;
  /** Devices of one user connected at once, at most (across nodes; see Limits.deviceRoom); one more is refused with 4429. */
  devicesPerUserMax: number;
  /** Per-connection `typing` rate and burst; typing over it is shed without an answer. */
  typingPerSec: number;
  typingBurst: number;
  /** Per-connection `ping` rate and burst; over it → `rate_limited`. */
  pingPerSec: number;
  pingBurst: number;
  /** Per-connection `presence.sub` rate and burst; over it → `rate_limited`. */
  presenceSubPerSec: number;
  presenceSubBurst: number;
  /** Users one connection may subscribe to in all (named in its `presence.sub` frames); more → `too_large`. */
  presenceSubscriptionsMax: number;
  /** Presence frames pushed to one connection per second (and burst); beyond it changes are coalesced, latest per user. */
  presenceFramesPerSec: number;
  presenceFramesBurst: number;
  /** Per-connection `keys.publish` + `keys.fetch` + `keys.count` rate and burst; over it → `rate_limited`. */
  keysPerSec: number;
  keysBurst: number;
  /** Per-connection `keys.distribute` rate and burst (a group's distribution may take several frames); over it → `rate_limited`. */
  keysDistributePerSec: number;
  keysDistributeBurst: number;
  /** Per-connection `read` rate and burst; over it → `rate_limited`. */
  readsPerSec: number;
  readsBurst: number;
  /** Per-device `group.create`/`group.add`/`group.remove` rate and burst (kept across reconnects); over it → `rate_limited`. */
  groupChangesPerSec: number;
  groupChangesBurst: number;
  /** Per-connection `group.list` + `group.receipts` + `group.devices` rate and burst; over it → `rate_limited`. */
  groupQueriesPerSec: number;
  groupQueriesBurst: number;
  /** Members of one group at most; a create or add beyond it → `too_large`. */
  groupMembersMax: number;
  /** How long a story is listed and viewed after it was posted. */
  storyTtlMs: number;
  /** Per-connection `story.post` rate and burst; over it → `rate_limited`. */
  storyPostsPerSec: number;
  storyPostsBurst: number;
  /** Per-connection `story.view` rate and burst; over it → `rate_limited`. */
  storyViewsPerSec: number;
  storyViewsBurst: number;
  /** Per-connection `story.list` + `story.views` rate and burst; over it → `rate_limited`. */
  storyQueriesPerSec: number;
  storyQueriesBurst: number;
  /** Bytes of the stories (as encoded, UTF-8) in one `story.list` answer, about (one story always goes); the rest follows on asking again (`more`). */
  storyListMaxBytes: number;
  /** How long a call rings: its callees' devices ring until `ringUntil` = placed + this; then the call times out. */
  callRingMs: number;
  /** A call's longest life: its record, and its users being in it, last at most this long after it was placed. */
  callMaxMs: number;
  /**
   * A device in a call (the calling device, or one that answered) whose
   * connection closed and that is signed in nowhere this long after hangs
   * up (the caller's ends the call; a callee's leaves it).
   */
  callDropMs: number;
  /** Per-device `call.offer` rate and burst (kept across reconnects); over it → `rate_limited`. */
  callOffersPerSec: number;
  callOffersBurst: number;
  /** Per-connection rate and burst of the other `call.*` frames (ICE candidates come in bursts); over it → `rate_limited`. */
  callSignalsPerSec: number;
  callSignalsBurst: number;
  /**
   * The TURN relays handed to devices in calls, with short-lived credentials
   * minted per user (see turn-credentials.ts). Absent: no relay; devices get
   * credentials with no URLs and connect directly.
   */
  turn?: TurnOptions;
  /** Devices the per-device group-change limiter remembers at most (refilled buckets are forgotten first). */
  limiterKeysMax: number;
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
  drainPageMaxBytes: 1024 * 1024,
  unackedWindowMaxBytes: 2 * 1024 * 1024,
  helloTimeoutMs: 10_000,
  unreadyFramesMax: 20,
  devicesPerUserMax: 8,
  typingPerSec: 5,
  typingBurst: 20,
  pingPerSec: 1,
  pingBurst: 5,
  presenceSubPerSec: 1,
  presenceSubBurst: 10,
  presenceSubscriptionsMax: 2000,
  presenceFramesPerSec: 100,
  presenceFramesBurst: 2000,
  keysPerSec: 5,
  keysBurst: 50,
  keysDistributePerSec: 20,
  keysDistributeBurst: 100,
  readsPerSec: 20,
  readsBurst: 100,
  groupChangesPerSec: 2,
  groupChangesBurst: 100,
  groupQueriesPerSec: 5,
  groupQueriesBurst: 20,
  groupMembersMax: 100_000,
  storyTtlMs: 24 * 3600_000,
  storyPostsPerSec: 1,
  storyPostsBurst: 10,
  storyViewsPerSec: 20,
  storyViewsBurst: 100,
  storyQueriesPerSec: 2,
  storyQueriesBurst: 20,
  storyListMaxBytes: 512 * 1024,
  callRingMs: 45_000,
  callMaxMs: 4 * 3600_000,
  callDropMs: 15_000,
  callOffersPerSec: 1,
  callOffersBurst: 5,
  callSignalsPerSec: 20,
  callSignalsBurst: 200,
  limiterKeysMax: 100_000,
  redeliverAfterMs: 2000,
  redeliverRoundsMax: 10,
  redeliverQueueMax: 200_000,
};

export function resolveNodeOptions(opts: Partial<ChatNodeOptions> & Pick<ChatNodeOptions, 'nodeId' | 'nodeNumber'>): ChatNodeOptions {
  const o = { ...defaultNodeOptions, ...opts };
  for (const [k, v] of Object.entries(o)) {
    if (k === 'nodeId' || k === 'turn') continue;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new RangeError(`node option ${k} must be a non-negative number, got ${v}`);
  }
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(o.nodeId)) throw new RangeError(`nodeId must match [A-Za-z0-9_-]{1,64}, got ${o.nodeId}`);
  if (o.drainPageSize < 1 || o.unackedWindowMax < o.drainPageSize) {
    throw new RangeError('drainPageSize must be >= 1 and unackedWindowMax >= drainPageSize');
  }
  if (o.drainPageMaxBytes < 1 || o.unackedWindowMaxBytes < o.drainPageMaxBytes) {
    throw new RangeError('drainPageMaxBytes must be >= 1 and unackedWindowMaxBytes >= drainPageMaxBytes');
  }
  for (const k of ['typingBurst', 'pingBurst', 'presenceSubBurst', 'presenceFramesBurst', 'keysBurst', 'keysDistributeBurst', 'readsBurst', 'groupChangesBurst', 'groupQueriesBurst', 'storyTtlMs', 'storyPostsBurst', 'storyViewsBurst', 'storyQueriesBurst', 'storyListMaxBytes', 'limiterKeysMax', 'devicesPerUserMax', 'helloTimeoutMs', 'callRingMs', 'callOffersBurst', 'callSignalsBurst'] as const) {
    if (o[k] < 1) throw new RangeError(`node option ${k} must be >= 1, got ${o[k]}`);
  }
  if (o.callMaxMs < o.callRingMs) throw new RangeError(`node option callMaxMs must be >= callRingMs, got ${o.callMaxMs}`);
  if (o.turn !== undefined) {
    const t = o.turn;
    if (typeof t.secret !== 'string' || t.secret === '') throw new RangeError('node option turn.secret must be a non-empty string');
    if (!Array.isArray(t.urls) || t.urls.length === 0 || !t.urls.every((u) => typeof u === 'string' && u !== '')) {
      throw new RangeError('node option turn.urls must list at least one relay URL');
    }
    if (t.ttlS !== undefined && !(Number.isSafeInteger(t.ttlS) && t.ttlS >= 1)) throw new RangeError(`node option turn.ttlS must be a positive integer, got ${t.ttlS}`);
  }
  return o;
}
