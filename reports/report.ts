/**
 * The Report: the schema of report.json, produced by `check()` and read by
 * every renderer, `compare` and CI. Documented field by field in
 * docs/report-schema.md. All durations are milliseconds; times on the
 * timeline and fault markers are relative to the run's start (startMs).
 * Fields marked "wall-clock" vary between two runs of the same seed.
 */
import type { Path } from './ledger.ts';

/** Whether the undelivered were told pending from lost by asking the stores ('stores') or could not be ('none'). */
export type Classified = 'stores' | 'none';

export const REPORT_SCHEMA_VERSION = 1;

/** A latency distribution; all values in ms, 0 when count is 0. */
export interface LatencySummary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/** Delivery counts; every count is of distinct (msg, device) pairs. */
export interface DeliveryCounts {
  /** Owed: acked messages × recipient devices (expect()), by actual path when delivered. */
  expected: number;
  /** Owed pairs delivered at least once by endMs + graceMs. */
  delivered: number;
  /**
   * Owed pairs not delivered by endMs + graceMs and held by no store (the
   * guarantee broke); when `delivery.classified` is 'none', every such pair.
   */
  lost: number;
  /**
   * Owed pairs not delivered by endMs + graceMs that the recipient's inbox
   * still held when the stores were asked, or that arrived after the grace
   * (late: the guarantee holds). 0 when `delivery.classified` is 'none'.
   */
  pending: number;
  /** Pairs shown to the user twice (DUP_VISIBLE): a guarantee violation. */
  duplicated: number;
  /** Pairs the transport delivered again and the device dropped (DUP_TRANSPORT): allowed. */
  duplicatedTransport: number;
  /** Pairs shown out of per-conversation order (OUT_OF_ORDER): a guarantee violation. */
  reordered: number;
  /**
   * Owed pairs that arrived but the device could not decrypt (end-to-end
   * encryption: no session, a ratchet out of step, no sender key): the user
   * never saw them, so the guarantee broke. Counted apart from lost.
   */
  undecryptable: number;
  /** Delivered pairs whose e2e latency exceeded lateMs. */
  late: number;
}

export interface PathReport extends DeliveryCounts {
  e2eMs: LatencySummary;
  /** Age of the pending pairs: intended send → the stores were asked (or the late delivery). */
  pendingAgeMs: LatencySummary;
}

export interface LostKey {
  msg: number;
  dev: number;
  path: Path;
  /** Intended (else actual) send time of the message, relative to startMs. */
  sentAtMs: number;
}

export interface DeliveryReport extends DeliveryCounts {
  /** delivered / expected (1 when nothing was expected). */
  ratio: number;
  /** Pairs delivered for messages never acked (the server failed mid-way): never counted as lost. */
  deliveredUnacked: number;
  /** Deliveries of acked messages to devices nobody expected (path prediction or routing bug). */
  unexpected: number;
  /** The lost pair with the earliest send, or null. */
  firstLost: LostKey | null;
  /** 'stores': undelivered pairs were looked up in the world's stores (pending vs lost); 'none': nothing could be asked, all count lost. */
  classified: Classified;
  /** Age of the pending pairs, as in PathReport. */
  pendingAgeMs: LatencySummary;
  /** Lost pairs no store could be asked about (fan-out-on-read groups keep no inbox entry; a message without a mid). */
  unclassified: number;
}

export interface LatencyReport {
  /** Send → first delivery on the device, measured from the intended send time (coordinated-omission corrected). */
  e2eMs: LatencySummary;
  /** Same, measured from the actual socket write: what an uncorrected tool would report. */
  e2eSendMs: LatencySummary;
  /** Intended send → server ack ("sent" tick). */
  ackMs: LatencySummary;
  /**
   * The driver's own lateness: actual first write − intended send time, per
   * open-model send. Part of every e2e figure measured from the intended
   * send; a large share of e2e p99 means the driver, not the cluster, set it.
   */
  sendLagMs: LatencySummary;
  /**
   * Why the run's latencies may be the driver's rather than the cluster's
   * (send lag p99 over DRIVER_LAG_SHARE of e2e p99, or the driver's CPU or
   * event loop saturated), with the cause; null when the driver kept up.
   */
  driverLimited: string | null;
  /** Intended send → the sender sees the receipt, per receipt kind. */
  receiptMs: { delivered: LatencySummary; read: LatencySummary };
  /** How latency was measured, in words, for the reader. */
  method: string;
  lateMs: number;
  graceMs: number;
}

export interface ErrorCount {
  count: number;
  retried: number;
  /** Retried errors whose message was eventually acked (retrySucceeded). */
  retriedOk: number;
}

export interface ErrorsReport {
  total: number;
  byCode: Record<string, ErrorCount>;
}

export interface TimelineBucket {
  /** Bucket start, seconds since startMs. */
  t: number;
  sent: number;
  acked: number;
  delivered: number;
  errors: number;
  /**
   * The fewest devices connected at any moment of the bucket, summed over
   * workers (every sign-in and session end is sampled, so a drop and
   * reconnect inside one bucket shows); null before any sample.
   */
  connected: number | null;
  /** e2e latency percentiles of deliveries completed in the bucket (null if none); ~1% precision. */
  p50: number | null;
  p99: number | null;
}

export interface Timeline {
  bucketMs: number;
  buckets: TimelineBucket[];
  /** Other sampled gauges (sample() fields besides `connected`), aligned with buckets. */
  gauges: Record<string, (number | null)[]>;
}

export interface HistogramBin {
  /** Lower and upper edge, ms (log-spaced, 10 bins per decade). */
  lo: number;
  hi: number;
  count: number;
}

/** e2e latency of owed pairs delivered in time, for messages whose intended send fell in one window; ms. */
export interface WindowLatency {
  count: number;
  /** null when count is 0. */
  p50: number | null;
  p99: number | null;
}

/** Devices whose authenticated session ended during a fault, and how long they took to sign in again. */
export interface ReconnectImpact {
  /** Distinct devices whose session ended, not by their own close, in the fault's effect window. */
  devices: number;
  /** Disconnect → next welcome, over the devices that came back; ms, null when none did. */
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  /** Devices with no later welcome by the end of the run. */
  notBack: number;
}

export interface FaultImpact {
  /** Messages whose intended send fell inside the fault window. */
  sent: number;
  /** Owed pairs of those messages that were lost. */
  lost: number;
  /** Owed pairs of those messages shown to the user twice (DUP_VISIBLE). */
  duplicated: number;
  /** e2e p99 of those messages, ms (null if none delivered): latency.during.p99. */
  p99Ms: number | null;
  /** Windows as long as the fault, just before it and just after it, clipped to the run. */
  latency: { before: WindowLatency; during: WindowLatency; after: WindowLatency };
  reconnects: ReconnectImpact;
  /** Error rows in the fault's effect window, tallied like `errors`. */
  rejected: ErrorsReport;
}

export interface FaultReport {
  kind: string;
  target: string;
  /** Relative to startMs. */
  startMs: number;
  endMs: number;
  /** Present (true) for a fault nobody scheduled that the world saw happen; absent for the chaos schedule's. */
  observed?: true;
  /** How an observed fault showed, e.g. "killed by SIGKILL", "no answer within 2000 ms". */
  detail?: string;
  impact?: FaultImpact;
}

export interface ThresholdResult {
  metric: string;
  expression: string;
  /** The measured value the expression was tested against; null when there was no data. */
  actual: number | null;
  passed: boolean;
  /** A failed threshold only, when any: the faults (scheduled or observed) overlapping the run it judged, e.g. "node-kill node-2 9.0s-18.0s". */
  faults?: string[];
  /** Present (true) on a threshold the checker set itself, not the scenario: `call_late_rings` and `call_phantom_rings` `count==0` when the run had calls. */
  implicit?: true;
}

/** `driver.witness`: its rate, messages arrived and missing, and latencies (ms; null when none of its messages arrived). */
export interface WitnessStats {
  rate: number; messages: number; missing: number; p50Ms: number | null; p99Ms: number | null; sentP99Ms: number | null; lagP99Ms: number | null;
  /** The witness's own collector pauses over its run (perf_hooks `gc` entries): each held the driver's CPU at the witness's priority. */
  gcPauses?: { count: number; totalMs: number; maxMs: number };
}

/** Filled by the engine: how loaded the load generator itself was. Wall-clock by nature. */
export interface DriverStats {
  cpuPercent: number;
  eventLoopP99Ms: number;
  /** True when the driver, not the system, may have limited the results. */
  bound: boolean;
  /** Live runs: frames the driver's devices read and wrote over the load, and the driver's CPU time for each (ms). */
  frames?: number;
  cpuMsPerFrame?: number;
  /** Live runs: the driver workers' garbage-collection pauses over the load (each stops one worker's event loop). `everyCpuMs`, `everyFrames`: the workers' CPU time and their devices' frames between two pauses. */
  gcPauses?: { count: number; totalMs: number; meanMs: number; maxMs: number; everyCpuMs: number | null; everyFrames: number | null };
  /**
   * Live runs with `--witness <rate>`: a few devices of its own, in a nearly
   * idle process on the driver's CPUs, sending `rate` msgs/s through the
   * same nodes over the measured part of the load. Its latencies (ms) are
   * what the cluster and the machine gave a message then without a busy
   * driver in the way; the run's e2e p99 beyond its p99 is the driver's
   * own share (a lower bound: the witness shares the driver's CPU).
   * `missing`: its messages that had not arrived when the run ended.
   */
  witness?: WitnessStats;
  [extra: string]: unknown;
}

/**
 * What end-to-end encryption cost the devices in a run (Signal-style: X3DH,
 * the Double Ratchet per device pair, sender keys per group). Device-side
 * figures: the server never sees plaintext, so none of this is the cluster's.
 */
export interface E2eeReport {
  /** 'real': every device ran the crypto; 'modeled': the sim charged its calibrated cost instead (no real keys); 'off': `--no-e2ee` (only frames and bytes are counted, to compare). */
  mode: 'real' | 'modeled' | 'off';
  /** Where a modeled cost came from (the calibration's name), when modeled. */
  costSource?: string;
  devicesPerUser: number;
  /** Messages encrypted (each once, whatever its recipient devices). */
  messages: number;
  /** Device CPU to encrypt one message for all its recipient devices (or once under a sender key), µs. */
  encryptUs: LatencySummary;
  /** Device CPU to decrypt one delivery, µs. */
  decryptUs: LatencySummary;
  /** Sessions started from a fetched bundle (X3DH initiator) and from a received pre-key message (responder). */
  sessionsStarted: number;
  sessionsAccepted: number;
  /** Of those accepted, the ones accepted during the load: pre-key messages whose recipient ran X3DH while the run measured. Absent in older reports. */
  sessionsAcceptedInLoad?: number;
  /** Introductions sent before the load (one per device introduced to; docs/e2ee.md): sessions both sides hold before the first message. Absent in older reports. */
  introductions?: number;
  /** Sessions started from the signed pre-key alone: the recipient's one-time pre-keys had run out. */
  signedPreKeyOnly: number;
  /** Bundles received in `keys` answers (one per device). */
  bundlesFetched: number;
  /** Bundles published (the first, and each replenishment below the threshold). */
  bundlesPublished: number;
  /** A contact's device came back with another identity key (reinstalled): its old session was dropped. */
  identityChanges: number;
  /** Signed pre-keys rotated (the `rotate-keys` timeline action), each published with fresh one-time pre-keys. Absent in older reports. */
  signedPreKeyRotations?: number;
  /** Sender-key distribution messages sent (one per member device) and sender-key rotations (a member left). */
  senderKeysDistributed: number;
  senderKeyRotations: number;
  /** Sends the server refused because the sender's view of the recipient devices or group members was stale (then fixed and resent). */
  devicesChanged: number;
  membersChanged: number;
  /** Messages to fan-out-on-read groups (channels), which are not end-to-end encrypted: sent as plaintext. */
  channelMessages: number;
  /** Media attachments sealed by senders (AES-256-CBC + HMAC-SHA256 under a fresh key) and opened by recipients. */
  attachmentsSealed: number;
  attachmentsOpened: number;
  /** Deliveries the device could not decrypt, by reason (every one, owed or not). */
  undecryptable: Record<string, number>;
  /** Mean ciphertext bytes a message's send frame carried beyond its plaintext (all recipient devices together). */
  overheadBytesPerMessage: number;
  /** Frames and bytes the devices wrote per message sent: the sends, key fetches, distributions, acks and read markers, together. */
  framesPerMessage: number;
  bytesPerMessage: number;
}

/** Uploads or downloads of one media kind. */
export interface MediaKindCounts {
  count: number;
  bytes: number;
}

/** One CDN edge's figures over the run. */
export interface EdgeReport {
  id: string;
  requests: number;
  hits: number;
  misses: number;
  /** hits / requests (0 without requests). */
  hitRatio: number;
  /** Bytes the edge sent to devices, and fetched from the origin. */
  edgeBytes: number;
  originBytes: number;
}

/**
 * Media in a run: what devices uploaded and downloaded (through the media
 * service and their CDN edge), what content addressing saved, and how long
 * transfers took. Device-side figures plus the edges' and the service's own.
 */
export interface MediaReport {
  /** 'http': real uploads and downloads; 'modeled': the sim's links and caches. */
  mode: 'http' | 'modeled';
  uploads: {
    /** Uploads asked for (each media message sent, forwards excluded). */
    count: number;
    /** Bytes devices sent (chunks sent again after a drop included). */
    bytes: number;
    /** Answered "already stored": nothing moved. */
    deduplicated: number;
    dedupBytes: number;
    failed: number;
    byKind: Record<string, MediaKindCounts>;
  };
  /** Messages forwarded with the media of a message received (the object reused, no upload). */
  forwards: number;
  downloads: {
    count: number;
    bytes: number;
    /** Answered expired (older than the retention): shown as expired, not a loss. */
    expired: number;
    /** No object, or bytes failing their SHA-256 (or, end-to-end encrypted, their MAC): lost on the `media` path. */
    lost: number;
    byKind: Record<string, MediaKindCounts>;
  };
  /** Share of the bytes devices offered that were not stored again thanks to SHA-256 keys: dedupBytes / (uploaded + dedupBytes). */
  dedupRatio: number;
  uploadMs: LatencySummary;
  downloadMs: LatencySummary;
  /** Download time to first byte. */
  ttfbMs: LatencySummary;
  /** Hits / requests over every edge. */
  edgeHitRatio: number;
  edges: EdgeReport[];
  /** The media service's own counters at the end of the run (absent when it could not be asked). */
  service?: Record<string, number>;
}

/**
 * Stories in a run: posts (one write each), lists of contacts' stories
 * (fan-out on read), views, and the view receipts posters got. Device-side.
 */
export interface StoriesReport {
  /** Posts the load asked for, and those answered `story.posted` (with the answer time). */
  posts: number;
  posted: number;
  postMs: LatencySummary;
  /** Lists the load asked for, the answers (pages) that came, and the stories they held. */
  lists: number;
  listAnswers: number;
  storiesListed: number;
  listMs: LatencySummary;
  /** `story.view`s written (each story once per device). */
  views: number;
  /** `story.viewed` frames posters' devices got, and the time from the server's record of the view to that moment. */
  viewReceipts: number;
  viewReceiptMs: LatencySummary;
  /** Story frames refused (by error code) or not written (`offline`), or never answered (`post_unanswered`, `list_unanswered`). */
  failed: Record<string, number>;
}

/**
 * Calls in a run, as devices saw them: outcomes (the caller's view), setup
 * times, the relay's load, what media packets measured, and the rings the
 * checker judged. Device-side.
 */
export interface CallsReport {
  /** Calls the load asked devices to place; of them: placed (`call.placed` came back) and how each ended. */
  attempted: number;
  placed: number;
  /** Taken by at least one callee (and then hung up, or ended early by a callee). */
  answered: number;
  rejected: number;
  busy: number;
  timedOut: number;
  failed: number;
  /** Not placed because the caller's user was already in a call on another of its devices (`in_call`): a void iteration, not a failure. */
  skipped: number;
  /** Calls whose caller never saw them end by the end of the run (each should have an outcome: a run with any is judged by `calls_unresolved`). */
  unresolved: number;
  /** Failed calls by reason: `offline`, `disconnected` (signalling lost while ringing), `media_lost` (nothing heard from the peer: the relay or path died), `refused:<code>`, `unplaced`, `turn_refused`, … */
  failedBy: Record<string, number>;
  /** Call frames refused and legs that could not open, by code. */
  errors: Record<string, number>;
  setup: {
    /** Offer written → `call.placed` at the caller. */
    placeMs: LatencySummary;
    /** Offer written → the offer on a callee's device (ringing there). */
    ringMs: LatencySummary;
    /** Offer written → the answer at the caller (includes the user's time to pick up). */
    answerMs: LatencySummary;
    /** Answer at the caller → media flowing (legs open, candidates exchanged). */
    connectMs: LatencySummary;
  };
  /** Answered calls whose media started, and how: through a relay or device to device. */
  connected: number;
  relayed: number;
  direct: number;
  /** relayed / connected. */
  relayedShare: number;
  relay: {
    /** Relay allocations open at once, at most. */
    allocationsPeak: number;
    /** Relayed bandwidth in the busiest second, Mbit/s (both directions, as the legs counted it). */
    peakMbps: number;
    /** Payload bytes relayed in the run. */
    bytes: number;
  };
  media: {
    legs: number;
    packetsSent: number;
    packetsReceived: number;
    /** Packets lost of those the peers sent, %. */
    lossPct: number;
    /** Packets sent that never arrived, of all sent, %: with the tails of calls whose path died (a receiver cannot number what never came) and a packet or two in flight at each hangup. */
    undeliveredPct: number;
    relayedLegs: number;
    relayedLossPct: number;
    /** RFC 3550 interarrival jitter of relayed legs at their end. */
    relayedJitterMs: LatencySummary;
  };
  /** Rings on callees' devices. */
  rings: number;
  /** What the checker counts against the run: offers that rang after their ring timeout, and rings that went on after the call was answered elsewhere or over. */
  violations: { lateRings: number; phantomRings: number; unjudged: number };
}

export interface Report {
  schemaVersion: number;
  scenario: string;
  world: string;
  seed: number | string;
  /** ISO time the run started. Wall-clock. */
  startedAt: string;
  /** Wall time the whole run took, including setup. Wall-clock. */
  wallMs: number | null;
  /** endMs - startMs on the run's clock (virtual in sim), warm-up included. */
  durationMs: number;
  /**
   * Load run before the measured window, from startMs (0: none). Latencies,
   * late counts and send lag cover [warmupMs, durationMs] only; delivery
   * counts (lost, shown twice) and message counts include the warm-up.
   */
  warmupMs: number;
  nodes: number;
  devices: { planned: number; connectedPeak: number };
  messages: { sent: number; acked: number; failed: number; retriedOk: number };
  delivery: DeliveryReport;
  latency: LatencyReport;
  paths: Record<Path, PathReport>;
  errors: ErrorsReport;
  timeline: Timeline;
  histogram: { unit: 'ms'; bins: HistogramBin[] };
  faults: FaultReport[];
  thresholds: ThresholdResult[];
  driver: DriverStats | null;
  /** End-to-end encryption's cost (mode 'off' with `--no-e2ee`: frames and bytes only). Absent in reports from before it existed. */
  e2ee?: E2eeReport | null;
  /** Media uploads, downloads, dedup and edges; absent (or null) when the run sent no uploaded media. */
  media?: MediaReport | null;
  /** Stories posted, listed and viewed; absent (or null) when the run had none. */
  stories?: StoriesReport | null;
  /** Calls placed, rung, answered and carried; absent (or null) when the run had none. */
  calls?: CallsReport | null;
  meta: Record<string, unknown>;
  /** Every threshold passed (true when there are none). */
  passed: boolean;
}
