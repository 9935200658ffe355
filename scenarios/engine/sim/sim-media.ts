import { LRUCache } from 'lru-cache';
import type { Clock } from '../../../system/clock/clock.ts';
import type { EdgeReport } from '../../../reports/report.ts';
import { edgeIndex, type DeviceMedia, type MediaOutcome, type UploadedMedia } from '../../device/media.ts';
import type { MediaSender } from '../load.ts';
import { edgeReport, type MediaStats } from '../media-stats.ts';

/**
 * The links and caches media crosses in the sim. Bandwidths are bits per
 * second; a link carries one transfer at a time (a device's second upload
 * waits for its first), so a burst queues as it would on a real link.
 */
export interface SimMediaModel {
  edges: number;
  /** Bytes each edge caches (least recently used go first). */
  edgeCapacityBytes: number;
  retentionMs: number;
  /** One request's round trip, device ↔ service or edge. */
  rttMs: number;
  /** Edge ↔ origin round trip, paid on a miss. */
  originRttMs: number;
  deviceUplinkBps: number;
  deviceDownlinkBps: number;
  /** An edge's link to the origin (misses), and to all its devices together. */
  edgeOriginBps: number;
  edgeEgressBps: number;
}

/**
 * Defaults: the live worlds' shape (2 edges of 256 MiB, 30-day retention)
 * on a mobile network's figures — a few tens of ms round trip, ~20 Mbit/s up
 * and ~50 Mbit/s down per device (typical 4G/5G medians), 10 Gbit/s between
 * an edge and its devices and 1 Gbit/s to the origin.
 */
export const DEFAULT_SIM_MEDIA: SimMediaModel = {
  edges: 2,
  edgeCapacityBytes: 256 * 1024 * 1024,
  retentionMs: 30 * 24 * 3600_000,
  rttMs: 40,
  originRttMs: 20,
  deviceUplinkBps: 20e6,
  deviceDownlinkBps: 50e6,
  edgeOriginBps: 1e9,
  edgeEgressBps: 10e9,
};

/** The default model with a world's media options (edges, their capacity, retention) over it. */
export function simMediaModel(o: { edges?: number; edgeCapacityBytes?: number; retentionMs?: number }): SimMediaModel {
  return { ...DEFAULT_SIM_MEDIA, ...(o.edges ? { edges: o.edges } : {}), ...(o.edgeCapacityBytes ? { edgeCapacityBytes: o.edgeCapacityBytes } : {}), ...(o.retentionMs ? { retentionMs: o.retentionMs } : {}) };
}

interface SimEdge {
  id: string;
  cache: LRUCache<string, number>;
  stats: { requests: number; hits: number; misses: number; edgeBytes: number; originBytes: number };
  /** When its links are free again (virtual ms). */
  egressFreeAt: number;
  originFreeAt: number;
}

/**
 * Media in the sim: the media service, its object store and its edges as a
 * model in virtual time. Objects are sizes under a key (no bytes exist);
 * uploads and downloads take the time their links need (round trips plus
 * size over bandwidth, queued per link); edges keep the most recently used
 * bytes like the live ones; objects expire after the retention. Dedup,
 * forwards and expiry answer as the live service does.
 */
export class SimMedia implements DeviceMedia, MediaSender {
  private readonly objects = new Map<string, { size: number; createdAt: number }>();
  private readonly edges: SimEdge[];
  private readonly uplinkFreeAt = new Map<string, number>();
  private readonly downlinkFreeAt = new Map<string, number>();
  private nextKey = 0;
  onFetched?: (device: string, media: UploadedMedia) => void;

  constructor(private readonly clock: Clock, private readonly stats: MediaStats, private readonly m: SimMediaModel = DEFAULT_SIM_MEDIA) {
    this.edges = Array.from({ length: m.edges }, (_, i) => ({
      id: `edge-${i + 1}`,
      cache: new LRUCache<string, number>({ maxSize: m.edgeCapacityBytes, maxEntrySize: m.edgeCapacityBytes, sizeCalculation: (size) => Math.max(1, size) }),
      stats: { requests: 0, hits: 0, misses: 0, edgeBytes: 0, originBytes: 0 },
      egressFreeAt: 0,
      originFreeAt: 0,
    }));
  }

  upload(device: string, kind: string, mime: string, bytes: number, done: (media: UploadedMedia | undefined) => void): void {
    const now = this.clock.now();
    // The request's round trip, then the bytes over the device's uplink (after any upload already on it).
    const start = Math.max(now + this.m.rttMs, this.uplinkFreeAt.get(device) ?? 0);
    const end = start + transferMs(bytes, this.m.deviceUplinkBps) + this.m.rttMs / 2;
    this.uplinkFreeAt.set(device, end);
    const key = (++this.nextKey).toString(16).padStart(64, '0');
    this.clock.setTimeout(() => {
      this.objects.set(key, { size: bytes, createdAt: this.clock.now() });
      this.stats.uploaded(kind, bytes, false, bytes, end - now);
      done({ key, sha256: key, size: bytes, mime, kind, hop: 0 });
    }, end - now);
  }

  forward(_device: string, media: UploadedMedia, done: (media: UploadedMedia | undefined) => void): void {
    this.clock.setTimeout(() => {
      const stored = this.live(media.key);
      this.stats.forwarded(media.kind, stored, media.size, this.m.rttMs);
      done(stored ? media : undefined);
    }, this.m.rttMs);
  }

  fetch(device: string, media: UploadedMedia, done: (outcome: MediaOutcome) => void): void {
    const now = this.clock.now();
    const edge = this.edgeOf(device);
    edge.stats.requests++;
    const o = this.objects.get(media.key);
    let outcome: MediaOutcome = 'ok';
    let ready = now + this.m.rttMs / 2;
    let hit = false;
    if (!o) outcome = 'lost';
    else if (!this.live(media.key)) outcome = 'expired';
    else if (edge.cache.get(media.key) !== undefined) {
      edge.stats.hits++;
      hit = true;
    } else {
      // A miss: the edge fetches the whole object over its origin link first.
      edge.stats.misses++;
      const start = Math.max(ready + this.m.originRttMs, edge.originFreeAt);
      edge.originFreeAt = start + transferMs(o.size, this.m.edgeOriginBps);
      ready = edge.originFreeAt;
      edge.stats.originBytes += o.size;
      edge.cache.set(media.key, o.size);
    }
    if (outcome !== 'ok') {
      this.clock.setTimeout(() => this.end(outcome, done), this.m.rttMs);
      return;
    }
    const size = o!.size;
    const ttfb = ready + this.m.rttMs / 2 - now;
    // Its bytes leave the edge and reach the device: the slower of the two links sets the pace, each queued.
    const start = Math.max(ready, edge.egressFreeAt, this.downlinkFreeAt.get(device) ?? 0);
    const end = start + Math.max(transferMs(size, this.m.edgeEgressBps), transferMs(size, this.m.deviceDownlinkBps)) + this.m.rttMs / 2;
    edge.egressFreeAt = start + transferMs(size, this.m.edgeEgressBps);
    this.downlinkFreeAt.set(device, end);
    edge.stats.edgeBytes += size;
    this.clock.setTimeout(() => {
      this.stats.downloaded(media.kind, size, end - now, ttfb, hit);
      done('ok');
      this.onFetched?.(device, media);
    }, end - now);
  }

  /** The edges' figures for the report. */
  edgeReports(): EdgeReport[] {
    return this.edges.map((e) => edgeReport({ id: e.id, ...e.stats }));
  }

  private end(outcome: MediaOutcome, done: (o: MediaOutcome) => void): void {
    if (outcome === 'expired') this.stats.expired();
    else this.stats.lost();
    done(outcome);
  }

  private live(key: string): boolean {
    const o = this.objects.get(key);
    return o !== undefined && o.createdAt + this.m.retentionMs > this.clock.now();
  }

  private edgeOf(device: string): SimEdge {
    return this.edges[edgeIndex(device, this.edges.length)]!;
  }
}

function transferMs(bytes: number, bps: number): number {
  return (bytes * 8 * 1000) / bps;
}
