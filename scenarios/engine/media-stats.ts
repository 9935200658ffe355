import { decodeFromCompressedBase64, encodeIntoCompressedBase64 } from 'hdr-histogram-js';
import { recordMs, summaryMs, usHistogram } from './us-histogram.ts';
import type { EdgeReport, MediaKindCounts, MediaReport } from '../../reports/report.ts';

/** Structured-clone-friendly snapshot of one worker's MediaStats (histograms compressed). */
export interface MediaStatsTransfer {
  counts: Record<CountName, number>;
  uploadsByKind: Record<string, MediaKindCounts>;
  downloadsByKind: Record<string, MediaKindCounts>;
  uploadUs: string;
  downloadUs: string;
  ttfbUs: string;
}

const COUNTS = ['uploads', 'uploadBytes', 'deduplicated', 'dedupBytes', 'uploadsFailed', 'forwards', 'downloads', 'downloadBytes', 'expired', 'lost', 'hits'] as const;
type CountName = (typeof COUNTS)[number];


/**
 * What the devices of one worker (or one sim) did with media: uploads and
 * downloads by kind, what dedup saved, and transfer times. Merged across
 * workers into the report's `media` section, with the edges' own figures.
 */
export class MediaStats {
  readonly counts = Object.fromEntries(COUNTS.map((c) => [c, 0])) as Record<CountName, number>;
  readonly uploadsByKind: Record<string, MediaKindCounts> = {};
  readonly downloadsByKind: Record<string, MediaKindCounts> = {};
  private readonly uploadUs = usHistogram();
  private readonly downloadUs = usHistogram();
  private readonly ttfbUs = usHistogram();

  uploaded(kind: string, bytesSent: number, deduplicated: boolean, size: number, ms: number): void {
    this.counts.uploads++;
    this.counts.uploadBytes += bytesSent;
    if (deduplicated) {
      this.counts.deduplicated++;
      this.counts.dedupBytes += size;
    }
    add(this.uploadsByKind, kind, bytesSent);
    recordMs(this.uploadUs, ms);
  }

  uploadFailed(): void {
    this.counts.uploadsFailed++;
  }

  /** A forward's upload request: answered "already stored" (deduplicated: nothing moved), or not (the object is gone). */
  forwarded(kind: string, deduplicated: boolean, size: number, ms: number): void {
    this.counts.forwards++;
    if (!deduplicated) return void this.counts.uploadsFailed++;
    this.counts.deduplicated++;
    this.counts.dedupBytes += size;
    recordMs(this.uploadUs, ms);
  }

  downloaded(kind: string, bytes: number, ms: number, ttfbMs: number, hit: boolean): void {
    this.counts.downloads++;
    this.counts.downloadBytes += bytes;
    if (hit) this.counts.hits++;
    add(this.downloadsByKind, kind, bytes);
    recordMs(this.downloadUs, ms);
    recordMs(this.ttfbUs, ttfbMs);
  }

  expired(): void {
    this.counts.expired++;
  }

  lost(): void {
    this.counts.lost++;
  }

  /** Whether any media moved (a run without uploaded media has no media section). */
  get active(): boolean {
    return this.counts.uploads + this.counts.uploadsFailed + this.counts.downloads + this.counts.forwards > 0;
  }

  toTransfer(): MediaStatsTransfer {
    return {
      counts: { ...this.counts },
      uploadsByKind: structuredClone(this.uploadsByKind),
      downloadsByKind: structuredClone(this.downloadsByKind),
      uploadUs: encodeIntoCompressedBase64(this.uploadUs),
      downloadUs: encodeIntoCompressedBase64(this.downloadUs),
      ttfbUs: encodeIntoCompressedBase64(this.ttfbUs),
    };
  }

  static merge(parts: readonly MediaStatsTransfer[]): MediaStats {
    const s = new MediaStats();
    for (const p of parts) {
      for (const c of COUNTS) s.counts[c] += p.counts[c] ?? 0;
      for (const [k, v] of Object.entries(p.uploadsByKind)) addCounts(s.uploadsByKind, k, v);
      for (const [k, v] of Object.entries(p.downloadsByKind)) addCounts(s.downloadsByKind, k, v);
      s.uploadUs.add(decodeFromCompressedBase64(p.uploadUs));
      s.downloadUs.add(decodeFromCompressedBase64(p.downloadUs));
      s.ttfbUs.add(decodeFromCompressedBase64(p.ttfbUs));
    }
    return s;
  }

  /** The report's media section; `edges` as the edges counted them, `service` as the media service did. */
  report(mode: MediaReport['mode'], edges: EdgeReport[], service?: Record<string, number>): MediaReport {
    const c = this.counts;
    const requests = edges.reduce((n, e) => n + e.requests, 0);
    const hits = edges.reduce((n, e) => n + e.hits, 0);
    const offered = c.uploadBytes + c.dedupBytes;
    return {
      mode,
      uploads: { count: c.uploads, bytes: c.uploadBytes, deduplicated: c.deduplicated, dedupBytes: c.dedupBytes, failed: c.uploadsFailed, byKind: this.uploadsByKind },
      forwards: c.forwards,
      downloads: { count: c.downloads, bytes: c.downloadBytes, expired: c.expired, lost: c.lost, byKind: this.downloadsByKind },
      dedupRatio: offered > 0 ? c.dedupBytes / offered : 0,
      uploadMs: summaryMs(this.uploadUs),
      downloadMs: summaryMs(this.downloadUs),
      ttfbMs: summaryMs(this.ttfbUs),
      edgeHitRatio: requests > 0 ? hits / requests : 0,
      edges,
      ...(service ? { service } : {}),
    };
  }
}

/** An edge's figures as the report shows them. */
export function edgeReport(s: { id: string; requests: number; hits: number; misses: number; edgeBytes: number; originBytes: number }): EdgeReport {
  return { id: s.id, requests: s.requests, hits: s.hits, misses: s.misses, hitRatio: s.requests > 0 ? s.hits / s.requests : 0, edgeBytes: s.edgeBytes, originBytes: s.originBytes };
}


function add(m: Record<string, MediaKindCounts>, kind: string, bytes: number): void {
  const k = (m[kind] ??= { count: 0, bytes: 0 });
  k.count++;
  k.bytes += bytes;
}

function addCounts(m: Record<string, MediaKindCounts>, kind: string, v: MediaKindCounts): void {
  const k = (m[kind] ??= { count: 0, bytes: 0 });
  k.count += v.count;
  k.bytes += v.bytes;
}
