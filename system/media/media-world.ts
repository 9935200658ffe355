import type { TokenIssuer } from '../auth/tokens.ts';
import type { Clock } from '../clock/clock.ts';
import type { BlobStore } from './blob-store.ts';
import { EdgeCache, EdgeServer } from './edge.ts';
import { MediaHttpServer } from './media-http.ts';
import { MediaService } from './media-service.ts';

export interface MediaWorldOptions {
  /** CDN edges in front of the service. Default 2. */
  edges?: number;
  /** Bytes each edge caches. Default 256 MiB. */
  edgeCapacityBytes?: number;
  /** How long media is kept. Default 30 days. */
  retentionMs?: number;
  /** How often expired media and abandoned uploads are swept. Default 60 s. */
  sweepEveryMs?: number;
  /** Largest object accepted. Default 100 MiB. */
  maxBytes?: number;
}

/**
 * The media options every world takes from the environment (unset: the
 * defaults): CHATLAB_MEDIA_EDGES, CHATLAB_MEDIA_EDGE_BYTES,
 * CHATLAB_MEDIA_RETENTION_MS, CHATLAB_MEDIA_SWEEP_MS, CHATLAB_MEDIA_MAX_BYTES.
 * A value that is not a positive number is refused with its name.
 */
export function mediaOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): MediaWorldOptions {
  const num = (name: string): number | undefined => {
    const v = env[name];
    if (v === undefined || v === '') return undefined;
    const n = Number(v);
    if (!(n > 0) || !Number.isFinite(n)) throw new RangeError(`${name} must be a positive number, got ${JSON.stringify(v)}`);
    return n;
  };
  const o: MediaWorldOptions = {
    edges: num('CHATLAB_MEDIA_EDGES'), edgeCapacityBytes: num('CHATLAB_MEDIA_EDGE_BYTES'), retentionMs: num('CHATLAB_MEDIA_RETENTION_MS'),
    sweepEveryMs: num('CHATLAB_MEDIA_SWEEP_MS'), maxBytes: num('CHATLAB_MEDIA_MAX_BYTES'),
  };
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as MediaWorldOptions;
}

/**
 * The media service and its CDN edges, listening on loopback: in-process in
 * the embedded world, and the body of the media process (media-process.ts)
 * in the local and containers worlds.
 */
export class MediaWorld {
  private sweeper?: NodeJS.Timeout;

  private constructor(readonly service: MediaService, readonly http: MediaHttpServer, readonly edges: EdgeServer[]) {}

  static async start(store: BlobStore, o: MediaWorldOptions & { clock: Clock; tokens: TokenIssuer; secret: string; host?: string; port?: number; edgePorts?: number[] }): Promise<MediaWorld> {
    const service = new MediaService({ store, clock: o.clock, tokens: o.tokens, secret: o.secret, retentionMs: o.retentionMs, maxBytes: o.maxBytes });
    const http = new MediaHttpServer(service);
    await http.listen(o.port ?? 0, o.host);
    const count = o.edges ?? 2;
    if (!Number.isInteger(count) || count < 1 || count > 64) throw new RangeError(`media edges must be 1..64, got ${count}`);
    const edges = Array.from({ length: count }, (_, i) => new EdgeServer(new EdgeCache({ id: `edge-${i + 1}`, origin: http.url, clock: o.clock, capacityBytes: o.edgeCapacityBytes })));
    await Promise.all(edges.map((e, i) => e.listen(o.edgePorts?.[i] ?? 0, o.host)));
    const w = new MediaWorld(service, http, edges);
    const every = o.sweepEveryMs ?? 60_000;
    // A sweep that fails (the store unavailable) is tried again next time.
    w.sweeper = setInterval(() => void service.sweep().catch(() => undefined), every);
    w.sweeper.unref();
    return w;
  }

  /** Where devices reach the service and the edges. */
  get endpoints(): { service: string; edges: string[] } {
    return { service: this.http.url, edges: this.edges.map((e) => e.url) };
  }

  async stop(): Promise<void> {
    clearInterval(this.sweeper);
    await Promise.allSettled([this.http.close(), ...this.edges.map((e) => e.close())]);
  }
}
