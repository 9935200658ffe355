import { decodeFromCompressedBase64, encodeIntoCompressedBase64 } from 'hdr-histogram-js';
import { recordMs, summaryMs, usHistogram } from './us-histogram.ts';
import type { CallsReport } from '../../reports/report.ts';
import type { CallOutcome, DeviceCalls, RingEnd } from '../device/calls.ts';
import type { LegFigures } from '../device/call-media.ts';
import type { CallMedia } from '../../system/protocol/frames.ts';

/** A ring still going this long after its user's ring was settled (or the call ended) is a phantom ring. */
export const PHANTOM_GRACE_MS = 5000;
/** Ring records and truths one worker keeps for the checker; beyond them rings are counted unjudged. */
const MAX_RECORDS = 200_000;

/** One ring of one device: call, user, device, start, stop, how it ended, how late the offer came (ms, 0 when in time). */
type RingRecord = [string, string, string, number, number, RingEnd, number];

/** Structured-clone-friendly snapshot of one worker's CallStats. */
export interface CallStatsTransfer {
  counts: Record<CountName, number>;
  failed: Record<string, number>;
  errors: Record<string, number>;
  ringUs: string;
  answerUs: string;
  connectUs: string;
  placeUs: string;
  jitterUs: string;
  rings: RingRecord[];
  /** `call|user` → when the caller learnt the user's ring was settled. */
  settled: [string, number][];
  /** call → when it ended at its caller. */
  ended: [string, number][];
  /** Relay allocations opened (+1) and closed (−1), with their time (ms). */
  allocations: [number, number][];
  /** Relayed bytes per wall second (both directions as legs counted them; a relayed call's two legs both count). */
  relayBytes: [number, number][];
}

const COUNTS = [
  'asked', 'placed', 'answered', 'rejected', 'busy', 'timeout', 'failed', 'skipped', 'rang', 'lateRings', 'ringsUnjudged',
  'connected', 'relayedCalls', 'directCalls',
  'legs', 'relayedLegs', 'packetsSent', 'packetsReceived', 'packetsLost', 'relayedPacketsSent', 'relayedPacketsReceived', 'relayedPacketsLost', 'relayedBytes',
] as const;
type CountName = (typeof COUNTS)[number];

/**
 * What the devices of one worker (or one sim) did with calls: outcomes as
 * callers saw them, setup times (offer → ringing on a callee's device,
 * offer → answered, answer → media), what each leg's packets measured,
 * relay allocations and bandwidth over time, and every ring with how it
 * ended, so the merge can judge late and phantom rings against what the
 * callers learnt. It is the devices' DeviceCalls: they report into it.
 */
export class CallStats implements DeviceCalls {
  readonly counts = Object.fromEntries(COUNTS.map((c) => [c, 0])) as Record<CountName, number>;
  /** Calls that failed, by reason. */
  readonly failures: Record<string, number> = {};
  /** Call frames refused and legs that could not open, by code. */
  readonly errors: Record<string, number> = {};
  private readonly ringUs = usHistogram();
  private readonly answerUs = usHistogram();
  private readonly connectUs = usHistogram();
  private readonly placeUs = usHistogram();
  private readonly jitterUs = usHistogram();
  private rings: RingRecord[] = [];
  private readonly settledAt = new Map<string, number>();
  private readonly endedAt = new Map<string, number>();
  private allocations: [number, number][] = [];
  private readonly relayPerSecond = new Map<number, number>();

  asked(): void {
    this.counts.asked++;
  }

  placed(_device: string, _call: string, _media: CallMedia, ms: number): void {
    this.counts.placed++;
    recordMs(this.placeUs, ms);
  }

  rang(_device: string, _call: string, ms: number): void {
    this.counts.rang++;
    recordMs(this.ringUs, ms);
  }

  answered(_device: string, _call: string, _user: string, ms: number): void {
    recordMs(this.answerUs, ms);
  }

  connected(_device: string, _call: string, ms: number, relayed: boolean): void {
    this.counts.connected++;
    if (relayed) this.counts.relayedCalls++;
    else this.counts.directCalls++;
    recordMs(this.connectUs, ms);
  }

  outcome(_device: string, call: string | undefined, outcome: CallOutcome, reason: string, atMs: number): void {
    this.counts[outcome === 'timeout' ? 'timeout' : outcome]++;
    if (outcome === 'failed') this.failures[reason] = (this.failures[reason] ?? 0) + 1;
    if (call !== undefined && this.endedAt.size < MAX_RECORDS) this.endedAt.set(call, atMs);
  }

  settled(call: string, user: string, atMs: number): void {
    const k = `${call}|${user}`;
    if (!this.settledAt.has(k) && this.settledAt.size < MAX_RECORDS) this.settledAt.set(k, atMs);
  }

  ring(call: string, user: string, device: string, startMs: number, stopMs: number, end: RingEnd, lateMs: number): void {
    if (lateMs > 0) this.counts.lateRings++;
    if (this.rings.length >= MAX_RECORDS) return void this.counts.ringsUnjudged++;
    this.rings.push([call, user, device, startMs, stopMs, end, lateMs]);
  }

  leg(_device: string, _call: string, _media: CallMedia, relayed: boolean, f: LegFigures): void {
    const c = this.counts;
    c.legs++;
    c.packetsSent += f.sent;
    c.packetsReceived += f.received;
    c.packetsLost += f.lost;
    if (relayed) {
      c.relayedLegs++;
      c.relayedPacketsSent += f.sent;
      c.relayedPacketsReceived += f.received;
      c.relayedPacketsLost += f.lost;
      c.relayedBytes += f.relayedBytes;
      if (f.received > 1) recordMs(this.jitterUs, f.jitterMs);
    }
  }

  failed(_device: string, code: string): void {
    this.errors[code] = (this.errors[code] ?? 0) + 1;
  }

  /** The plane opened (true) or freed (false) a relay allocation at `atMs`. */
  allocation(atMs: number, open: boolean): void {
    if (this.allocations.length < MAX_RECORDS) this.allocations.push([atMs, open ? 1 : -1]);
  }

  /** The plane moved `bytes` through a relay at `atMs`. */
  relayed(atMs: number, bytes: number): void {
    const s = Math.floor(atMs / 1000);
    this.relayPerSecond.set(s, (this.relayPerSecond.get(s) ?? 0) + bytes);
  }

  /** Calls asked for whose caller has not seen them end yet (a run is not over while any is). */
  get open(): number {
    const c = this.counts;
    return c.asked - c.answered - c.rejected - c.busy - c.timeout - c.failed - c.skipped;
  }

  get active(): boolean {
    return this.counts.asked > 0 || this.counts.rang > 0;
  }

  toTransfer(): CallStatsTransfer {
    return {
      counts: { ...this.counts }, failed: { ...this.failures }, errors: { ...this.errors },
      ringUs: encodeIntoCompressedBase64(this.ringUs), answerUs: encodeIntoCompressedBase64(this.answerUs),
      connectUs: encodeIntoCompressedBase64(this.connectUs), placeUs: encodeIntoCompressedBase64(this.placeUs),
      jitterUs: encodeIntoCompressedBase64(this.jitterUs),
      rings: this.rings, settled: [...this.settledAt], ended: [...this.endedAt], allocations: this.allocations, relayBytes: [...this.relayPerSecond],
    };
  }

  static merge(parts: readonly CallStatsTransfer[]): CallStats {
    const s = new CallStats();
    for (const p of parts) {
      for (const c of COUNTS) s.counts[c] += p.counts[c] ?? 0;
      for (const [code, n] of Object.entries(p.failed)) s.failures[code] = (s.failures[code] ?? 0) + n;
      for (const [code, n] of Object.entries(p.errors)) s.errors[code] = (s.errors[code] ?? 0) + n;
      s.ringUs.add(decodeFromCompressedBase64(p.ringUs));
      s.answerUs.add(decodeFromCompressedBase64(p.answerUs));
      s.connectUs.add(decodeFromCompressedBase64(p.connectUs));
      s.placeUs.add(decodeFromCompressedBase64(p.placeUs));
      s.jitterUs.add(decodeFromCompressedBase64(p.jitterUs));
      s.rings.push(...p.rings);
      for (const [k, at] of p.settled) if (!s.settledAt.has(k) || s.settledAt.get(k)! > at) s.settledAt.set(k, at);
      for (const [k, at] of p.ended) s.endedAt.set(k, at);
      s.allocations.push(...p.allocations);
      for (const [sec, b] of p.relayBytes) s.relayPerSecond.set(sec, (s.relayPerSecond.get(sec) ?? 0) + b);
    }
    return s;
  }

  /**
   * Rings still going `PHANTOM_GRACE_MS` after the caller learnt that
   * their user's ring was settled (answered on another device, declined,
   * timed out) or that the call was over. A device's own answer or
   * refusal is not judged (it stopped ringing by itself).
   */
  phantomRings(): number {
    let n = 0;
    for (const [call, user, , , stop, end, late] of this.rings) {
      // A late offer never rang (it is counted late, not phantom); a device's own answer or refusal stopped it by itself.
      if (late > 0 || end === 'answered' || end === 'rejected' || end === 'busy') continue;
      const settled = this.settledAt.get(`${call}|${user}`);
      const ended = this.endedAt.get(call);
      const truth = settled === undefined ? ended : ended === undefined ? settled : Math.min(settled, ended);
      if (truth !== undefined && stop > truth + PHANTOM_GRACE_MS) n++;
    }
    return n;
  }

  /** Relay allocations open at once, at most (from every open and close, in time order). */
  allocationsPeak(): number {
    const events = [...this.allocations].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let open = 0;
    let peak = 0;
    for (const [, d] of events) peak = Math.max(peak, (open += d));
    return peak;
  }

  report(): CallsReport {
    const c = this.counts;
    const pct = (part: number, whole: number) => (whole > 0 ? Math.round((10_000 * part) / whole) / 100 : 0);
    let peakBytes = 0;
    for (const b of this.relayPerSecond.values()) peakBytes = Math.max(peakBytes, b);
    return {
      attempted: c.asked, placed: c.placed, answered: c.answered, rejected: c.rejected, busy: c.busy, timedOut: c.timeout, failed: c.failed,
      skipped: c.skipped, unresolved: Math.max(0, this.open),
      failedBy: { ...this.failures }, errors: { ...this.errors },
      setup: { placeMs: summaryMs(this.placeUs), ringMs: summaryMs(this.ringUs), answerMs: summaryMs(this.answerUs), connectMs: summaryMs(this.connectUs) },
      connected: c.connected, relayed: c.relayedCalls, direct: c.directCalls, relayedShare: pct(c.relayedCalls, c.connected) / 100,
      relay: {
        allocationsPeak: this.allocationsPeak(), peakMbps: Math.round((peakBytes * 8) / 1e4) / 100, bytes: c.relayedBytes,
      },
      media: {
        legs: c.legs, packetsSent: c.packetsSent, packetsReceived: c.packetsReceived, lossPct: pct(c.packetsLost, c.packetsLost + c.packetsReceived),
        undeliveredPct: pct(Math.max(0, c.packetsSent - c.packetsReceived), c.packetsSent),
        relayedLegs: c.relayedLegs, relayedLossPct: pct(c.relayedPacketsLost, c.relayedPacketsLost + c.relayedPacketsReceived), relayedJitterMs: summaryMs(this.jitterUs),
      },
      rings: c.rang,
      violations: { lateRings: c.lateRings, phantomRings: this.phantomRings(), unjudged: c.ringsUnjudged },
    };
  }
}
