/**
 * The checker: judges a recorded Ledger after the run and produces the
 * Report. It never looks at the system, only at what devices recorded, so a
 * history can be re-checked with other options or thresholds.
 *
 * Rules (the "truth" the report tells):
 *  - Only acked messages are owed. An owed pair (msg, dev) comes from expect().
 *  - Delivered = delivered at least once by endMs + graceMs. Otherwise, when
 *    the stores were asked (CheckOptions.stores), pending if the recipient's
 *    inbox still held it or it arrived after the grace (late), else lost (in
 *    no store); when they were not, lost.
 *  - Deliveries of never-acked messages count as deliveredUnacked, never lost.
 *  - A delivered pair is counted under the path of its first actual delivery;
 *    a pending or lost one under its predicted path.
 *  - e2e latency runs from the intended send time (open-model schedule) to the
 *    first delivery, so a stalled sender's wait counts (coordinated omission);
 *    closed-model sends (intendedMs NaN) measure from the actual send.
 *  - A fault's impact is judged over its windows (see fault-impact.ts).
 *  - Warm-up: messages whose intended (else actual) send falls before
 *    startMs + warmupMs are owed like any other (lost, shown twice and
 *    delivery counts include them) but leave no latency, late count or send
 *    lag: the statistics and thresholds cover the measured window only.
 *  - Calls are judged by the devices' own figures (extra.calls): a run with
 *    calls fails on any late or phantom ring even when its scenario names
 *    no threshold for them (CALL_RING_RULES).
 */
import { Paths, type Ledger, type Path } from './ledger.ts';
import { Messages, Pairs, tallyErrors } from './join.ts';
import { FaultWindow, Sessions } from './fault-impact.ts';
import { DecadeBins, Trend } from './latency.ts';
import { TimelineBuilder } from './timeline.ts';
import { evaluateThreshold, parseThreshold, parseThresholds, summaryTrend, type MetricSource, type Tag, type Threshold } from './thresholds.ts';
import { DUP_TRANSPORT, DUP_VISIBLE, MEDIA_LOST, OUT_OF_ORDER, UNDECRYPTABLE, pathIndex } from './ledger.ts';
import type { StoreAnswer, UndeliveredPair } from './pending.ts';
import {
  REPORT_SCHEMA_VERSION,
  type CallsReport,
  type DeliveryCounts,
  type DriverStats,
  type E2eeReport,
  type ErrorsReport,
  type FaultReport,
  type LatencySummary,
  type LostKey,
  type MediaReport,
  type StoriesReport,
  type PathReport,
  type Report,
  type WitnessStats,
} from './report.ts';

const MEDIA_PATH = pathIndex('media');

export interface CheckOptions {
  /** Run clock time of the run's start: timeline origin. */
  startMs: number;
  /** Run clock time the load stopped. */
  endMs: number;
  /** How long after endMs deliveries still count. */
  graceMs: number;
  /** Load before the measured window, from startMs (default 0): see the rules above. */
  warmupMs?: number;
  /** A delivery slower than this (e2e) is counted late. */
  lateMs: number;
  /** k6-style thresholds; parsed (and validated) before anything is computed. */
  thresholds?: Record<string, string[]>;
  scenario?: string;
  world?: string;
  seed?: number | string;
  nodes?: number;
  devicesPlanned?: number;
  /** Wall-clock start of the run (ISO string, Date or epoch ms). */
  startedAt?: string | Date | number;
  wallMs?: number | null;
  /** Upper bound on timeline buckets (default 600). */
  maxBuckets?: number;
  /** Disconnects and errors this soon after a fault starts count towards it, even past a shorter fault's end (default 1000). */
  faultMarginMs?: number;
  /** What the stores said about undelivered pairs (see Checking); null or absent: not asked, all count lost. */
  stores?: StoreAnswer | null;
  /** Passed through untouched: engine-measured driver load and free-form notes. */
  extra?: {
    driver?: DriverStats | null;
    e2ee?: E2eeReport | null;
    media?: MediaReport | null;
    stories?: StoriesReport | null;
    calls?: CallsReport | null;
    meta?: Record<string, unknown>;
  };
}

export const LATENCY_METHOD =
  'e2e and ack latencies are measured from the intended send time of the open-model schedule ' +
  '(corrected for coordinated omission: time a stalled sender spent waiting counts); ' +
  'closed-model sends measure from the actual send. e2eSendMs is the uncorrected figure from the socket write.';

function zeroCounts(): DeliveryCounts {
  return { expected: 0, delivered: 0, lost: 0, pending: 0, duplicated: 0, duplicatedTransport: 0, reordered: 0, undecryptable: 0, late: 0 };
}

class Tally {
  readonly counts = zeroCounts();
  readonly e2e = new Trend();
  readonly e2eSend = new Trend();
  readonly pendingAge = new Trend();
}

type Validated = Required<Pick<CheckOptions, 'maxBuckets' | 'faultMarginMs' | 'warmupMs'>> & CheckOptions;

function validate(opts: CheckOptions): Validated {
  for (const key of ['startMs', 'endMs', 'graceMs', 'lateMs'] as const) {
    if (!Number.isFinite(opts[key])) throw new TypeError(`check: ${key} must be a finite number`);
  }
  if (opts.endMs < opts.startMs) throw new RangeError('check: endMs is before startMs');
  const warmupMs = opts.warmupMs ?? 0;
  if (!(Number.isFinite(warmupMs) && warmupMs >= 0 && warmupMs <= opts.endMs - opts.startMs)) throw new RangeError('check: warmupMs must be within the run');
  const maxBuckets = opts.maxBuckets ?? 600;
  if (!(Number.isInteger(maxBuckets) && maxBuckets >= 1)) throw new RangeError('check: maxBuckets must be a positive integer');
  const faultMarginMs = opts.faultMarginMs ?? 1000;
  if (!(Number.isFinite(faultMarginMs) && faultMarginMs >= 0)) throw new RangeError('check: faultMarginMs must be a finite number >= 0');
  return { ...opts, maxBuckets, faultMarginMs, warmupMs };
}

export function check(ledger: Ledger, options: CheckOptions): Report {
  return new Checking(ledger, options).finish();
}

/**
 * A check in two steps, for an engine that asks the stores in between:
 * join the ledger once, list the owed pairs never delivered
 * (`undelivered()`), then judge with the stores' answer (`finish`).
 */
export class Checking {
  private readonly run: Run;
  private readonly thresholds: ReturnType<typeof parseThresholds>;

  constructor(ledger: Ledger, options: CheckOptions) {
    const opts = validate(options);
    this.thresholds = parseThresholds(opts.thresholds);
    this.run = new Run(ledger, opts);
  }

  /** Owed pairs of acked messages with no delivery at all, with the mid the stores know them by. */
  undelivered(): UndeliveredPair[] {
    const { pairs, msgs, ledger } = this.run;
    const found: { msg: number; dev: number; path: number }[] = [];
    for (let p = 0; p < pairs.keys.length; p++) {
      const slot = pairs.slotOf(p);
      if (msgs.acked(slot) && pairs.firstAt[p] === Infinity) found.push({ msg: msgs.msgOf(slot), dev: pairs.devOf(p), path: pairs.predicted[p] });
    }
    const mids = ledger.midsOf(new Set(found.map((f) => f.msg)));
    return found.map((f) => ({ msg: f.msg, dev: f.dev, mid: mids.get(f.msg) ?? null, path: Paths[f.path] }));
  }

  /** Judges the history; `stores` (default: the options') says which undelivered pairs are still pending. */
  finish(stores: StoreAnswer | null = this.run.opts.stores ?? null): Report {
    const run = this.run;
    run.judgePairs(stores);
    run.judgeMessages();
    const report = run.assemble(stores);
    const src = metricSource(report, run);
    const own = implicitThresholds(report, this.thresholds);
    report.thresholds = [
      ...this.thresholds.map((t) => evaluateThreshold(t, src)),
      ...own.map((t) => ({ ...evaluateThreshold(t, src), implicit: true as const })),
    ];
    report.passed = report.thresholds.every((t) => t.passed);
    nameFaults(report, run.opts);
    return report;
  }
}

/**
 * Rules every run with calls keeps whether or not its scenario names them:
 * no offer may reach a callee's device after its ring timeout, and no ring
 * may go on once the call was taken elsewhere, declined or over. A scenario that sets
 * its own threshold for one of these metrics replaces the checker's.
 */
export const CALL_RING_RULES: readonly [metric: string, expression: string][] = [
  ['call_late_rings', 'count==0'],
  ['call_phantom_rings', 'count==0'],
];

function implicitThresholds(report: Report, scenario: readonly Threshold[]): Threshold[] {
  if (!report.calls) return [];
  const named = new Set(scenario.map((t) => t.name));
  return CALL_RING_RULES.filter(([metric]) => !named.has(metric)).map(([metric, expression]) => parseThreshold(metric, expression));
}

/**
 * A failed threshold names the faults in its window, scheduled or observed,
 * so a reader sees a cause beside the verdict. Thresholds judge the whole
 * run (load and grace), so its window is the run's and every fault that
 * overlaps it is named, in start order.
 */
function nameFaults(report: Report, opts: Validated): void {
  const runEnd = opts.endMs + opts.graceMs - opts.startMs;
  const names = report.faults
    .filter((f) => f.startMs <= runEnd && f.endMs >= 0)
    .sort((a, b) => a.startMs - b.startMs)
    .map(faultLabel);
  if (names.length === 0) return;
  for (const t of report.thresholds) if (!t.passed) t.faults = names;
}

/** `node-kill node-2 9.0s-18.0s`, `process-exit node-2 (observed: killed by SIGKILL) 6.1s-30.0s`. */
export function faultLabel(f: FaultReport): string {
  const how = f.observed ? ` (observed${f.detail ? `: ${f.detail}` : ''})` : '';
  return `${f.kind} ${f.target}${how} ${(f.startMs / 1000).toFixed(1)}s-${(f.endMs / 1000).toFixed(1)}s`;
}

class Run {
  readonly msgs: Messages;
  readonly pairs: Pairs;
  readonly deadline: number;
  readonly timeline: TimelineBuilder;
  readonly total = new Tally();
  readonly byPath = new Map<Path, Tally>(Paths.map((p) => [p, new Tally()]));
  readonly ack = new Trend();
  readonly sendLag = new Trend();
  readonly receipts = [new Trend(), new Trend()];
  readonly bins = new DecadeBins();
  readonly faults: FaultWindow[];
  /** Run clock time the measured window starts (after the warm-up). */
  readonly measuredFrom: number;
  deliveredUnacked = 0;
  firstLost: LostKey | null = null;

  constructor(
    readonly ledger: Ledger,
    readonly opts: Validated,
  ) {
    this.msgs = new Messages(ledger);
    this.pairs = new Pairs(ledger, this.msgs);
    this.deadline = opts.endMs + opts.graceMs;
    this.measuredFrom = opts.startMs + opts.warmupMs;
    this.timeline = new TimelineBuilder(opts.startMs, this.timelineEnd(), opts.maxBuckets);
    this.timeline.countEvents(ledger);
    const windows = { startMs: opts.startMs, endMs: opts.endMs, marginMs: opts.faultMarginMs };
    this.faults = ledger.faults.map((f) => new FaultWindow(f, windows));
  }

  /** The grace period is drawn only as far as events actually happened. */
  private timelineEnd(): number {
    let last = this.opts.endMs;
    const at = this.ledger.deliveries.cols.at;
    for (let i = 0; i < this.ledger.deliveries.length; i++) {
      if (at[i] > last && at[i] <= this.deadline) last = at[i];
    }
    return last;
  }

  judgePairs(stores: StoreAnswer | null): void {
    this.judgeEachPair(stores === null ? null : this.heldKeys(stores), stores?.atMs ?? NaN);
    for (const tally of this.byPath.values()) {
      this.total.e2e.add(tally.e2e);
      this.total.e2eSend.add(tally.e2eSend);
      this.total.pendingAge.add(tally.pendingAge);
    }
  }

  private heldKeys(stores: StoreAnswer): Set<number> {
    const keys = new Set<number>();
    for (const { msg, dev } of stores.held) {
      const slot = this.msgs.slot(msg);
      if (slot >= 0 && dev < this.pairs.devSpace) keys.add(slot * this.pairs.devSpace + dev);
    }
    return keys;
  }

  /** held: pair keys still in an inbox (null: the stores were not asked); askedAtMs: when they were. */
  private judgeEachPair(held: Set<number> | null, askedAtMs: number): void {
    const { pairs, msgs } = this;
    for (let p = 0; p < pairs.keys.length; p++) {
      const slot = pairs.slotOf(p);
      this.recordReceipts(p);
      if (!msgs.acked(slot)) {
        if (pairs.firstAt[p] !== Infinity) this.deliveredUnacked++;
        continue;
      }
      const at = pairs.firstAt[p];
      if (at <= this.deadline) this.delivered(p, slot, at);
      // Arrived after the grace, or still in the recipient's inbox: late, not lost.
      else if (held !== null && at !== Infinity) this.pending(p, slot, at);
      else if (held?.has(pairs.keys[p])) this.pending(p, slot, askedAtMs);
      else this.lost(p, slot);
      this.flags(p, at <= this.deadline ? pairs.actual[p] : this.lostPath(p));
    }
  }

  private delivered(p: number, slot: number, at: number): void {
    const path = Paths[this.pairs.actual[p]];
    const ms = at - this.msgs.ref[slot];
    const sendMs = at - this.msgs.sent[slot];
    const measured = this.msgs.ref[slot] >= this.measuredFrom;
    for (const tally of [this.total, this.byPath.get(path)!]) {
      tally.counts.expected++;
      tally.counts.delivered++;
      if (measured && ms > this.opts.lateMs) tally.counts.late++;
    }
    // A warm-up delivery is drawn on the timeline (shaded there) and counted, never measured.
    if (!measured) return void this.timeline.delivery(at, ms);
    // Only per-path trends record; the total is their sum (HDR add), half the cost.
    const byPath = this.byPath.get(path)!;
    byPath.e2e.record(ms);
    byPath.e2eSend.record(sendMs);
    this.bins.record(ms);
    this.timeline.delivery(at, ms);
    for (const f of this.faults) f.delivered(this.msgs.ref[slot], ms);
  }

  /** Still owed at the end; its age runs from the intended send to `untilMs`. */
  private pending(p: number, slot: number, untilMs: number): void {
    const path = Paths[this.pairs.predicted[p]];
    for (const tally of [this.total, this.byPath.get(path)!]) {
      tally.counts.expected++;
      tally.counts.pending++;
    }
    this.byPath.get(path)!.pendingAge.record(untilMs - this.msgs.ref[slot]);
  }

  /** Where an undelivered pair counts: `media` when its text came and its media did not, else its predicted path. */
  private lostPath(p: number): number {
    return this.pairs.flags[p] & MEDIA_LOST ? MEDIA_PATH : this.pairs.predicted[p];
  }

  private lost(p: number, slot: number): void {
    const path = Paths[this.lostPath(p)];
    for (const tally of [this.total, this.byPath.get(path)!]) {
      tally.counts.expected++;
      tally.counts.lost++;
    }
    for (const f of this.faults) if (f.covers(this.msgs.ref[slot])) f.lost++;
    const sentAtMs = this.msgs.ref[slot] - this.opts.startMs;
    if (this.firstLost === null || sentAtMs < this.firstLost.sentAtMs) {
      this.firstLost = { msg: this.msgs.msgOf(slot), dev: this.pairs.devOf(p), path, sentAtMs };
    }
  }

  private flags(p: number, pathIndex: number): void {
    const f = this.pairs.flags[p];
    if (f === 0) return;
    if (f & DUP_VISIBLE) {
      const ref = this.msgs.ref[this.pairs.slotOf(p)];
      for (const w of this.faults) if (w.covers(ref)) w.duplicated++;
    }
    for (const tally of [this.total, this.byPath.get(Paths[pathIndex])!]) {
      if (f & DUP_TRANSPORT) tally.counts.duplicatedTransport++;
      if (f & DUP_VISIBLE) tally.counts.duplicated++;
      if (f & OUT_OF_ORDER) tally.counts.reordered++;
      if (f & UNDECRYPTABLE) tally.counts.undecryptable++;
    }
  }

  private recordReceipts(p: number): void {
    if (!(this.msgs.ref[this.pairs.slotOf(p)] >= this.measuredFrom)) return;
    const r = this.pairs.receiptMs;
    if (r[p * 2] !== Infinity) this.receipts[0].record(r[p * 2]);
    if (r[p * 2 + 1] !== Infinity) this.receipts[1].record(r[p * 2 + 1]);
  }

  /** Ack latency per message, and stray receipts that matched no owed pair. */
  judgeMessages(): void {
    const { msgs } = this;
    for (let s = 0; s < msgs.size; s++) {
      if (msgs.acked(s) && msgs.ref[s] >= this.measuredFrom) this.ack.record(msgs.ackAt[s] - msgs.ref[s]);
    }
    // The scheduler's lateness per message (its first send row): a write held back by a stalled
    // cluster (device offline, in-flight window full) is the cluster's, charged to e2e, not here.
    const c = this.ledger.sends.cols;
    for (let i = 0; i < this.ledger.sends.length; i++) {
      if (c.intended[i] >= this.measuredFrom && c.sent[i] === msgs.sent[msgs.slot(c.msg[i])]) this.sendLag.record(c.lag[i]);
    }
    for (const r of this.pairs.strayReceipts) this.receipts[r.kind].record(r.ms);
  }

  messageCounts(): Report['messages'] {
    const { msgs } = this;
    let sent = 0;
    let acked = 0;
    let retriedOk = 0;
    for (let s = 0; s < msgs.size; s++) {
      const wasSent = !Number.isNaN(msgs.sent[s]);
      if (wasSent) sent++;
      if (wasSent && msgs.acked(s)) acked++;
      if (msgs.retryOk[s]) retriedOk++;
    }
    return { sent, acked, failed: sent - acked, retriedOk };
  }

  errors(): ErrorsReport {
    return tallyErrors(this.ledger, this.msgs);
  }

  faultReports(): FaultReport[] {
    if (this.faults.length === 0) return [];
    const sessions = new Sessions(this.ledger);
    return this.faults.map((f) => f.report(this.msgs, this.ledger, sessions));
  }

  assemble(stores: StoreAnswer | null): Report {
    const o = this.opts;
    const { timeline, connectedPeak } = this.timeline.build(this.ledger);
    const counts = this.total.counts;
    const paths = {} as Record<Path, PathReport>;
    for (const [path, t] of this.byPath) paths[path] = { ...t.counts, e2eMs: t.e2e.summary(), pendingAgeMs: t.pendingAge.summary() };
    return {
      schemaVersion: REPORT_SCHEMA_VERSION,
      scenario: o.scenario ?? 'unnamed',
      world: o.world ?? 'unknown',
      seed: o.seed ?? 0,
      startedAt: new Date(o.startedAt ?? Date.now()).toISOString(),
      wallMs: o.wallMs ?? null,
      durationMs: o.endMs - o.startMs,
      warmupMs: o.warmupMs,
      nodes: o.nodes ?? 0,
      devices: { planned: o.devicesPlanned ?? 0, connectedPeak },
      messages: this.messageCounts(),
      delivery: {
        ...counts,
        ratio: counts.expected === 0 ? 1 : counts.delivered / counts.expected,
        deliveredUnacked: this.deliveredUnacked + this.pairs.unexpectedUnacked,
        unexpected: this.pairs.unexpectedAcked,
        firstLost: this.firstLost,
        classified: stores === null ? 'none' : 'stores',
        pendingAgeMs: this.total.pendingAge.summary(),
        unclassified: stores === null ? 0 : Math.min(stores.unasked, counts.lost),
      },
      latency: {
        e2eMs: this.total.e2e.summary(),
        e2eSendMs: this.total.e2eSend.summary(),
        ackMs: this.ack.summary(),
        sendLagMs: this.sendLag.summary(),
        driverLimited: driverLimited(this.sendLag.summary(), this.total.e2e.summary(), o.extra?.driver ?? null),
        receiptMs: { delivered: this.receipts[0].summary(), read: this.receipts[1].summary() },
        method: LATENCY_METHOD,
        lateMs: o.lateMs,
        graceMs: o.graceMs,
      },
      paths,
      errors: this.errors(),
      timeline,
      histogram: { unit: 'ms', bins: this.bins.toBins() },
      faults: this.faultReports(),
      thresholds: [],
      driver: o.extra?.driver ?? null,
      e2ee: o.extra?.e2ee ?? null,
      media: o.extra?.media ?? null,
      stories: o.extra?.stories ?? null,
      calls: o.extra?.calls ?? null,
      meta: { ...(o.extra?.meta ?? {}), negativeLatencies: this.total.e2e.negatives + this.ack.negatives },
      passed: true,
    };
  }
}

/** Send lag p99 above this share of e2e p99 (and above 1 ms) marks a run driver-limited. */
export const DRIVER_LAG_SHARE = 0.2;

/** The cause, in words, when the driver's own delay is a material part of the measured latency; else null. */
export function driverLimited(lag: LatencySummary, e2e: LatencySummary, driver: Report['driver']): string | null {
  const causes: string[] = [];
  if (driver && driver.cpuPercent > 90) causes.push(`driver CPU ${driver.cpuPercent.toFixed(0)}%`);
  // A delivery is stamped when the worker's loop gets to it: a loop delay that is a material share of e2e p99 is in it.
  const loopShare = driver && e2e.count > 0 && e2e.p99 > 0 ? driver.eventLoopP99Ms / e2e.p99 : 0;
  if (driver && (driver.eventLoopP99Ms > 50 || (driver.eventLoopP99Ms > 1 && loopShare > DRIVER_LAG_SHARE))) {
    causes.push(`driver event-loop p99 ${driver.eventLoopP99Ms.toFixed(1)} ms${loopShare > DRIVER_LAG_SHARE ? ` is ${(loopShare * 100).toFixed(0)}% of e2e p99` : ''}`);
  }
  // A witness (`--witness`) saw the same cluster over the same seconds without the driver's loops in the way.
  const w: WitnessStats | undefined = driver?.witness;
  if (w && w.messages > 0 && w.p99Ms !== null && e2e.count > 0 && e2e.p99 > 0) {
    const share = e2e.p99 - w.p99Ms;
    if (share > 1 && share / e2e.p99 > DRIVER_LAG_SHARE) causes.push(`e2e p99 ${e2e.p99.toFixed(1)} ms is ${share.toFixed(1)} ms beyond a witness's ${w.p99Ms.toFixed(1)} ms`);
  }
  const lagShare = e2e.count > 0 && e2e.p99 > 0 ? lag.p99 / e2e.p99 : 0;
  if (lag.count > 0 && lag.p99 > 1 && lagShare > DRIVER_LAG_SHARE) {
    causes.push(`send lag p99 ${lag.p99.toFixed(1)} ms is ${(lagShare * 100).toFixed(0)}% of e2e p99 ${e2e.p99.toFixed(1)} ms`);
  }
  return causes.length > 0 ? causes.join('; ') : null;
}

const COUNTER_FIELDS: Record<string, keyof DeliveryCounts> = {
  expected: 'expected',
  delivered: 'delivered',
  lost: 'lost',
  pending: 'pending',
  duplicated_visible: 'duplicated',
  duplicated_transport: 'duplicatedTransport',
  reordered: 'reordered',
  undecryptable: 'undecryptable',
  late: 'late',
};

/** Call counters by metric; no data (null) when the run has no calls section. */
const CALL_COUNTERS: Record<string, (c: CallsReport) => number> = {
  calls_attempted: (c) => c.attempted,
  calls_answered: (c) => c.answered,
  calls_failed: (c) => c.failed,
  calls_timed_out: (c) => c.timedOut,
  calls_unresolved: (c) => c.unresolved,
  call_late_rings: (c) => c.violations.lateRings,
  call_phantom_rings: (c) => c.violations.phantomRings,
};

/** Call trends: the report keeps them as summaries, so they are read back from those. */
const CALL_TRENDS: Record<string, (c: CallsReport) => LatencySummary> = {
  call_ring_setup: (c) => c.setup.ringMs,
  call_answer_setup: (c) => c.setup.answerMs,
  call_connect: (c) => c.setup.connectMs,
  call_jitter: (c) => c.media.relayedJitterMs,
};

/** Call loss rates, 0..1 from the report's percentages; null with no leg to count them on. */
function callRate(name: string, c: CallsReport): number | null {
  if (name === 'call_relay_loss') return c.media.relayedLegs === 0 ? null : c.media.relayedLossPct / 100;
  return c.media.legs === 0 ? null : c.media.lossPct / 100;
}

function metricSource(report: Report, run: Run): MetricSource {
  const pathOf = (tag: Tag | null) => (tag ? run.byPath.get(tag.value as Path)! : run.total);
  const calls = report.calls ?? null;
  const counters: Record<string, (tag: Tag | null) => number> = {
    delivered_unacked: () => report.delivery.deliveredUnacked,
    unexpected: () => report.delivery.unexpected,
    errors: (tag) => (tag ? (report.errors.byCode[tag.value]?.count ?? 0) : report.errors.total),
    messages_sent: () => report.messages.sent,
    messages_acked: () => report.messages.acked,
    messages_failed: () => report.messages.failed,
    failed: () => report.messages.failed,
  };
  return {
    durationMs: report.durationMs,
    trend(name, tag) {
      const call = CALL_TRENDS[name];
      if (call) return calls ? summaryTrend(call(calls)) : null;
      if (name === 'e2e_latency') return pathOf(tag).e2e;
      if (name === 'e2e_latency_uncorrected') return pathOf(tag).e2eSend;
      if (name === 'ack_latency') return run.ack;
      if (name === 'send_lag') return run.sendLag;
      if (name === 'pending_age') return pathOf(tag).pendingAge;
      return name === 'receipt_latency_read' ? run.receipts[1] : run.receipts[0];
    },
    counter(name, tag) {
      const call = CALL_COUNTERS[name];
      if (call) return calls ? call(calls) : null;
      const field = COUNTER_FIELDS[name];
      return field ? pathOf(tag).counts[field] : (counters[name]?.(tag) ?? null);
    },
    rate(name, tag) {
      if (name.startsWith('call_')) return calls ? callRate(name, calls) : null;
      if (name === 'ack_ratio') return report.messages.sent === 0 ? null : report.messages.acked / report.messages.sent;
      const c = pathOf(tag).counts;
      return c.expected === 0 ? null : c.delivered / c.expected;
    },
    gauge(name) {
      if (name === 'connected_peak') return report.devices.connectedPeak;
      const d = report.driver;
      if (!d) return null;
      return name === 'driver_cpu_percent' ? d.cpuPercent : d.eventLoopP99Ms;
    },
  };
}
