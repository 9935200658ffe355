import { decodeFromCompressedBase64, encodeIntoCompressedBase64 } from 'hdr-histogram-js';
import { recordMs, summaryMs, usHistogram } from './us-histogram.ts';
import type { StoriesReport } from '../../reports/report.ts';
import type { DeviceStories } from '../device/stories.ts';

/** Structured-clone-friendly snapshot of one worker's StoriesStats. */
export interface StoriesStatsTransfer {
  counts: Record<CountName, number>;
  failed: Record<string, number>;
  postUs: string;
  listUs: string;
  viewReceiptUs: string;
}

const COUNTS = ['posts', 'posted', 'lists', 'listed', 'storiesListed', 'views', 'viewReceipts'] as const;
type CountName = (typeof COUNTS)[number];


/**
 * What the devices of one worker (or one sim) did with stories: posts and
 * their answer time, lists (fan-out on read) and theirs, views, and the
 * view receipts posters got, timed from the server's record of the view.
 * It is the devices' DeviceStories: they report into it directly.
 */
export class StoriesStats implements DeviceStories {
  readonly counts = Object.fromEntries(COUNTS.map((c) => [c, 0])) as Record<CountName, number>;
  /** Story frames refused or not written, by code. */
  readonly failures: Record<string, number> = {};
  private readonly postUs = usHistogram();
  private readonly listUs = usHistogram();
  private readonly viewReceiptUs = usHistogram();

  /** The load asked a device to post (counted whether or not it could). */
  asked(kind: 'post' | 'list'): void {
    if (kind === 'post') this.counts.posts++;
    else this.counts.lists++;
  }

  posted(_device: string, ms: number): void {
    this.counts.posted++;
    recordMs(this.postUs, ms);
  }

  listed(_device: string, ms: number, stories: number): void {
    this.counts.listed++;
    this.counts.storiesListed += stories;
    recordMs(this.listUs, ms);
  }

  viewed(): void {
    this.counts.views++;
  }

  viewReceipt(_device: string, atMs: number, nowMs: number): void {
    this.counts.viewReceipts++;
    recordMs(this.viewReceiptUs, Math.max(0, nowMs - atMs));
  }

  failed(_device: string, code: string): void {
    this.failures[code] = (this.failures[code] ?? 0) + 1;
  }

  get active(): boolean {
    return this.counts.posts + this.counts.lists > 0;
  }

  toTransfer(): StoriesStatsTransfer {
    return {
      counts: { ...this.counts }, failed: { ...this.failures },
      postUs: encodeIntoCompressedBase64(this.postUs), listUs: encodeIntoCompressedBase64(this.listUs), viewReceiptUs: encodeIntoCompressedBase64(this.viewReceiptUs),
    };
  }

  static merge(parts: readonly StoriesStatsTransfer[]): StoriesStats {
    const s = new StoriesStats();
    for (const p of parts) {
      for (const c of COUNTS) s.counts[c] += p.counts[c] ?? 0;
      for (const [code, n] of Object.entries(p.failed)) s.failures[code] = (s.failures[code] ?? 0) + n;
      s.postUs.add(decodeFromCompressedBase64(p.postUs));
      s.listUs.add(decodeFromCompressedBase64(p.listUs));
      s.viewReceiptUs.add(decodeFromCompressedBase64(p.viewReceiptUs));
    }
    return s;
  }

  report(): StoriesReport {
    const c = this.counts;
    return {
      posts: c.posts, posted: c.posted, postMs: summaryMs(this.postUs),
      lists: c.lists, listAnswers: c.listed, storiesListed: c.storiesListed, listMs: summaryMs(this.listUs),
      views: c.views, viewReceipts: c.viewReceipts, viewReceiptMs: summaryMs(this.viewReceiptUs),
      failed: { ...this.failures },
    };
  }
}
