import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import type { TokenIssuer } from '../../../system/auth/tokens.ts';
import { MediaClient } from '../../../system/media/media-client.ts';
import { openAttachmentAsync, sealAttachmentAsync } from '../../device/e2ee/index.ts';
import { edgeIndex, type DeviceMedia, type MediaOutcome, type UploadedMedia } from '../../device/media.ts';
import type { MediaStats } from '../media-stats.ts';

/** Where a world's media service and CDN edges answer. */
export interface MediaEndpoints {
  service: string;
  edges: string[];
}

/** Transfers one worker runs at once; more wait their turn (the driver's sockets are bounded, see README "Limits of one machine"). */
const IN_FLIGHT = 32;
/** Transfers waiting at most; beyond it an upload fails at once (counted), a download waits in a second line that is not bounded by count but by the run's own messages. */
const QUEUE_MAX = 10_000;
/** A download that found the edge or the origin unavailable is tried again this many times, 200 ms apart. */
const DOWNLOAD_RETRIES = 3;

/**
 * Media for a live driver worker: senders upload through the media service
 * (sealed under a fresh attachment key when end-to-end encryption is on)
 * and recipients download from their CDN edge over HTTP, checking SHA-256
 * (and, sealed, the attachment's MAC). A device's edge is its region's
 * (`edgeIndex`).
 */
export class LiveMedia implements DeviceMedia {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  /** Told of each media download that ended well: the load may forward it. */
  onFetched?: (device: string, media: UploadedMedia) => void;

  constructor(
    private readonly endpoints: MediaEndpoints,
    private readonly tokens: TokenIssuer,
    private readonly stats: MediaStats,
    /** End-to-end encryption's counters when media is sealed (attachments sealed and opened are counted there); absent: plain bytes. */
    private readonly sealed: { counts: { attachmentsSealed: number; attachmentsOpened: number } } | undefined,
  ) {
    if (endpoints.edges.length === 0) throw new RangeError('a media world needs at least one edge');
  }

  /** The edge a device downloads from. */
  edgeOf(device: string): string {
    return this.endpoints.edges[edgeIndex(device, this.endpoints.edges.length)]!;
  }

  /** Uploads `bytes` random bytes of `kind` for `device`; `done` gets the reference, or undefined when the upload failed. */
  upload(device: string, kind: string, mime: string, bytes: number, done: (media: UploadedMedia | undefined) => void): void {
    if (this.running >= IN_FLIGHT && this.waiting.length >= QUEUE_MAX) {
      this.stats.uploadFailed();
      return void queueMicrotask(() => done(undefined));
    }
    this.schedule(async () => {
      // Random bytes, sealing and hashing run in the thread pool: the worker's event loop stays free for the deliveries it times.
      const data = await randomBytesAsync(bytes);
      const seal = this.sealed ? await sealAttachmentAsync(data) : undefined;
      if (this.sealed) this.sealed.counts.attachmentsSealed++;
      const blob = seal ? seal.blob : data;
      const client = new MediaClient({ service: this.endpoints.service, token: this.tokens.issue(device, 3600_000) });
      try {
        const up = await client.upload(blob, mime, seal ? { sha256: seal.digestHex } : {});
        this.stats.uploaded(kind, up.bytesSent, up.deduplicated, blob.length, up.ms);
        done({ ...up.media, kind, ...(seal ? { k: seal.key, digest: seal.digest } : {}) });
      } catch {
        this.stats.uploadFailed();
        done(undefined);
      }
    });
  }

  /** A forward: the upload request by SHA-256 alone; the service has the object (nothing moves), or it is gone and the forward fails. */
  forward(device: string, media: UploadedMedia, done: (media: UploadedMedia | undefined) => void): void {
    this.schedule(async () => {
      const client = new MediaClient({ service: this.endpoints.service, token: this.tokens.issue(device, 3600_000) });
      try {
        const r = await client.reuse(media);
        this.stats.forwarded(media.kind, r.deduplicated, media.size, r.ms);
        done(r.deduplicated ? media : undefined);
      } catch {
        this.stats.uploadFailed();
        done(undefined);
      }
    });
  }

  fetch(device: string, media: UploadedMedia, done: (outcome: MediaOutcome) => void): void {
    this.schedule(async () => {
      const client = new MediaClient({ service: this.endpoints.service, token: '' });
      const edge = this.edgeOf(device);
      for (let attempt = 0; ; attempt++) {
        const r = await client.download(edge, media.key);
        if (r.ok) {
          if (media.k && media.digest) {
            if (!(await opens(r.bytes, media.k, media.digest))) break;
            if (this.sealed) this.sealed.counts.attachmentsOpened++;
          }
          this.stats.downloaded(media.kind, r.bytes.length, r.ms, r.ttfbMs, r.hit);
          done('ok');
          this.onFetched?.(device, media);
          return;
        }
        if (r.code === 'expired') {
          this.stats.expired();
          return done('expired');
        }
        if (r.code !== 'unavailable' || attempt >= DOWNLOAD_RETRIES) break;
        await new Promise((res) => setTimeout(res, 200));
      }
      this.stats.lost();
      done('lost');
    });
  }

  private schedule(task: () => Promise<void>): void {
    const run = () => {
      this.running++;
      void task().finally(() => {
        this.running--;
        this.waiting.shift()?.();
      });
    };
    if (this.running < IN_FLIGHT) run();
    else this.waiting.push(run);
  }
}

const randomBytesAsync = promisify(randomBytes);

async function opens(blob: Uint8Array, key: string, digest: string): Promise<boolean> {
  try {
    await openAttachmentAsync(blob, key, digest);
    return true;
  } catch {
    return false;
  }
}
