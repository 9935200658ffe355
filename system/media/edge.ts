import type { IncomingMessage, ServerResponse } from 'node:http';
import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock/clock.ts';
import { HttpListener, sendJson as json } from './http-listener.ts';

export interface EdgeOptions {
  /** The edge's name in reports, e.g. `edge-1`. */
  id: string;
  /** Base URL of the media service (the origin). */
  origin: string;
  /** Bytes the cache holds at most (least recently used go first). Default 256 MiB. */
  capacityBytes?: number;
  clock: Clock;
}

interface Cached {
  bytes: Uint8Array;
  mime: string;
  /** When the origin deletes the object: the edge stops serving it then too. */
  expiresAt: number;
}

export interface EdgeStats {
  requests: number;
  hits: number;
  misses: number;
  /** Bytes sent to devices. */
  edgeBytes: number;
  /** Bytes fetched from the origin. */
  originBytes: number;
  expired: number;
  /** Downloads answered with an error (unknown key, origin unavailable). */
  failed: number;
}

export type EdgeAnswer =
  | { ok: true; bytes: Uint8Array; mime: string; hit: boolean; expiresAt: number }
  | { ok: false; status: number; code: string; message: string };

/**
 * A CDN edge in front of the media service: a byte-bounded LRU cache
 * (lru-cache's size accounting) that fetches a missing object from the origin
 * once, however many devices ask for it at the same moment. Objects are
 * immutable (content-addressed), so a cached copy is never stale; it is
 * served only until the origin's expiry time, then answered `expired`.
 */
export class EdgeCache {
  private readonly cache: LRUCache<string, Cached>;
  private readonly inflight = new Map<string, Promise<EdgeAnswer>>();
  readonly stats: EdgeStats = { requests: 0, hits: 0, misses: 0, edgeBytes: 0, originBytes: 0, expired: 0, failed: 0 };

  constructor(readonly o: EdgeOptions) {
    const max = o.capacityBytes ?? 256 * 1024 * 1024;
    this.cache = new LRUCache<string, Cached>({ maxSize: max, maxEntrySize: max, sizeCalculation: (v) => Math.max(1, v.bytes.length) });
  }

  get id(): string {
    return this.o.id;
  }

  async get(key: string): Promise<EdgeAnswer> {
    this.stats.requests++;
    const now = this.o.clock.now();
    const c = this.cache.get(key);
    if (c && c.expiresAt <= now) {
      this.cache.delete(key);
      this.stats.expired++;
      return { ok: false, status: 410, code: 'expired', message: 'the media has expired (kept for the retention period after upload)' };
    }
    if (c) {
      this.stats.hits++;
      this.stats.edgeBytes += c.bytes.length;
      return { ok: true, bytes: c.bytes, mime: c.mime, hit: true, expiresAt: c.expiresAt };
    }
    this.stats.misses++;
    let fetching = this.inflight.get(key);
    if (!fetching) {
      fetching = this.fromOrigin(key).finally(() => this.inflight.delete(key));
      this.inflight.set(key, fetching);
    }
    const a = await fetching;
    if (a.ok) this.stats.edgeBytes += a.bytes.length;
    else if (a.code === 'expired') this.stats.expired++;
    else this.stats.failed++;
    return a.ok ? { ...a, hit: false } : a;
  }

  /** Bytes held now. */
  get heldBytes(): number {
    return this.cache.calculatedSize;
  }

  private async fromOrigin(key: string): Promise<EdgeAnswer> {
    let res: Response;
    try {
      res = await fetch(`${this.o.origin}/v1/media/${encodeURIComponent(key)}`, { signal: AbortSignal.timeout(30_000) });
    } catch (e) {
      return { ok: false, status: 502, code: 'unavailable', message: `the origin did not answer: ${(e as Error).message}` };
    }
    if (!res.ok) {
      const body = (await res.json().catch(() => ({}))) as { code?: string; message?: string };
      return { ok: false, status: res.status, code: body.code ?? 'unavailable', message: body.message ?? `origin answered ${res.status}` };
    }
    const bytes = new Uint8Array(await res.arrayBuffer());
    this.stats.originBytes += bytes.length;
    const v: Cached = { bytes, mime: res.headers.get('content-type') ?? 'application/octet-stream', expiresAt: Number(res.headers.get('x-chatlab-expires-at') ?? Infinity) };
    this.cache.set(key, v);
    return { ok: true, ...v, hit: false };
  }
}

/** An edge over HTTP: `GET /v1/media/:key` (header `x-chatlab-cache: hit|miss`), `GET /stats`, `GET /health`. */
export class EdgeServer extends HttpListener {
  constructor(readonly cache: EdgeCache) {
    super((req, res) => this.route(req, res));
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    if (req.method === 'GET' && path === '/health') return json(res, 200, { ok: true });
    if (req.method === 'GET' && path === '/stats') return json(res, 200, { id: this.cache.id, ...this.cache.stats, heldBytes: this.cache.heldBytes });
    const m = /^\/v1\/media\/([^/]+)$/.exec(path);
    if (!m || req.method !== 'GET') return json(res, 404, { code: 'bad_request', message: `no route ${req.method} ${path}` });
    // A key is 64 hex digits: anything else is refused here, without asking the origin.
    if (!/^[0-9a-f]{64}$/.test(m[1]!)) return json(res, 400, { code: 'bad_request', message: 'a media key is 64 lower-case hex digits' });
    try {
      const a = await this.cache.get(m[1]!);
      if (!a.ok) return json(res, a.status, { code: a.code, message: a.message });
      res.writeHead(200, { 'content-type': a.mime, 'content-length': a.bytes.length, 'x-chatlab-cache': a.hit ? 'hit' : 'miss', 'x-chatlab-edge': this.cache.id });
      res.end(a.bytes);
    } catch (e) {
      json(res, 500, { code: 'unavailable', message: (e as Error).message });
    }
  }
}
