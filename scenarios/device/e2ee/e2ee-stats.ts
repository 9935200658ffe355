import { build, decodeFromCompressedBase64, encodeIntoCompressedBase64, type Histogram } from 'hdr-histogram-js';
import type { E2eeReport, LatencySummary } from '../../../reports/report.ts';

/** Structured-clone-friendly snapshot of one worker's E2eeStats (histograms compressed). */
export interface E2eeStatsTransfer {
  counts: Record<CountName, number>;
  undecryptable: Record<string, number>;
  encryptUs: string;
  decryptUs: string;
}

const COUNTS = [
  'sends', 'messages', 'decrypts', 'sessionsStarted', 'sessionsAccepted', 'signedPreKeyOnly', 'bundlesFetched', 'bundlesPublished',
  'identityChanges', 'signedPreKeyRotations', 'senderKeysDistributed', 'senderKeyRotations', 'devicesChanged', 'membersChanged', 'channelMessages', 'attachmentsSealed', 'attachmentsOpened',
  'plaintextBytes', 'ciphertextBytes', 'framesOut', 'bytesOut', 'introductions', 'sessionsAcceptedBeforeLoad',
] as const;
type CountName = (typeof COUNTS)[number];

function histogram(): Histogram {
  // Integer µs, 3 significant digits: crypto steps run from ~10 µs to a few ms.
  return build({ lowestDiscernibleValue: 1, highestTrackableValue: 10_000_000, numberOfSignificantValueDigits: 3 });
}

/**
 * What end-to-end encryption did and cost on the devices of one worker (or
 * one sim), shared by all of them like DeviceStats: counters plus two HDR
 * histograms of device CPU per message. Merged across workers into the
 * report's `e2ee` section.
 */
export class E2eeStats {
  readonly counts: Record<CountName, number> = Object.fromEntries(COUNTS.map((c) => [c, 0])) as Record<CountName, number>;
  readonly undecryptable: Record<string, number> = {};
  private readonly encrypt = histogram();
  private readonly decrypt = histogram();

  /** One message encrypted for all its recipient devices (or once under a sender key) in `us` of CPU. */
  encrypted(us: number, plaintextBytes: number, ciphertextBytes: number): void {
    this.counts.messages++;
    this.counts.plaintextBytes += plaintextBytes;
    this.counts.ciphertextBytes += ciphertextBytes;
    this.encrypt.recordValue(Math.max(1, Math.round(us)));
  }

  decrypted(us: number): void {
    this.counts.decrypts++;
    this.decrypt.recordValue(Math.max(1, Math.round(us)));
  }

  failed(reason: string): void {
    this.undecryptable[reason] = (this.undecryptable[reason] ?? 0) + 1;
  }

  /**
   * The load begins: frames and bytes written count from here, so the
   * per-message figures are the steady cost, not the setup before the load
   * (publishing keys, the prewarm's handshakes and distributions).
   */
  loadStarted(): void {
    this.counts.framesOut = 0;
    this.counts.bytesOut = 0;
    this.counts.sessionsAcceptedBeforeLoad = this.counts.sessionsAccepted;
  }

  /** A frame the device wrote (every frame while end-to-end encryption is on: sends, key fetches, distributions). */
  wrote(bytes: number): void {
    this.counts.framesOut++;
    this.counts.bytesOut += bytes;
  }

  toTransfer(): E2eeStatsTransfer {
    return {
      counts: { ...this.counts },
      undecryptable: { ...this.undecryptable },
      encryptUs: encodeIntoCompressedBase64(this.encrypt),
      decryptUs: encodeIntoCompressedBase64(this.decrypt),
    };
  }

  static merge(parts: readonly E2eeStatsTransfer[]): E2eeStats {
    const s = new E2eeStats();
    for (const p of parts) {
      for (const c of COUNTS) s.counts[c] += p.counts[c] ?? 0;
      for (const [reason, n] of Object.entries(p.undecryptable)) s.undecryptable[reason] = (s.undecryptable[reason] ?? 0) + n;
      s.encrypt.add(decodeFromCompressedBase64(p.encryptUs));
      s.decrypt.add(decodeFromCompressedBase64(p.decryptUs));
    }
    return s;
  }

  report(mode: E2eeReport['mode'], devicesPerUser: number, costSource?: string): E2eeReport {
    const c = this.counts;
    const per = (n: number) => (c.messages > 0 ? round1(n / c.messages) : 0);
    const perSend = (n: number) => (c.sends > 0 ? round1(n / c.sends) : 0);
    return {
      mode,
      ...(costSource ? { costSource } : {}),
      devicesPerUser,
      messages: c.messages,
      encryptUs: summaryUs(this.encrypt),
      decryptUs: summaryUs(this.decrypt),
      sessionsStarted: c.sessionsStarted,
      sessionsAccepted: c.sessionsAccepted,
      sessionsAcceptedInLoad: c.sessionsAccepted - c.sessionsAcceptedBeforeLoad,
      introductions: c.introductions,
      signedPreKeyOnly: c.signedPreKeyOnly,
      bundlesFetched: c.bundlesFetched,
      bundlesPublished: c.bundlesPublished,
      identityChanges: c.identityChanges,
      signedPreKeyRotations: c.signedPreKeyRotations,
      senderKeysDistributed: c.senderKeysDistributed,
      senderKeyRotations: c.senderKeyRotations,
      devicesChanged: c.devicesChanged,
      membersChanged: c.membersChanged,
      channelMessages: c.channelMessages,
      attachmentsSealed: c.attachmentsSealed,
      attachmentsOpened: c.attachmentsOpened,
      undecryptable: { ...this.undecryptable },
      overheadBytesPerMessage: per(c.ciphertextBytes - c.plaintextBytes),
      framesPerMessage: perSend(c.framesOut),
      bytesPerMessage: perSend(c.bytesOut),
    };
  }
}

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}

/** A LatencySummary whose values are µs (the report's e2ee section says so in its field names). */
function summaryUs(h: Histogram): LatencySummary {
  if (h.totalCount === 0) return { count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 };
  return {
    count: h.totalCount,
    min: h.minNonZeroValue,
    mean: round1(h.mean),
    p50: h.getValueAtPercentile(50),
    p90: h.getValueAtPercentile(90),
    p99: h.getValueAtPercentile(99),
    p999: h.getValueAtPercentile(99.9),
    max: h.maxValue,
  };
}
