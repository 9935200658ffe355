import { webcrypto } from 'node:crypto';

/** SHA-256 as lower-case hex, in the thread pool (WebCrypto): megabytes of media do not hold up the caller's event loop. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  return Buffer.from(await webcrypto.subtle.digest('SHA-256', bytes)).toString('hex');
}
import type { MediaRef } from './media-service.ts';

export interface MediaClientOptions {
  /** Base URL of the media service. */
  service: string;
  /** A device's session token (the chat cluster's). */
  token: string;
  /** How often a dropped chunk is tried again (after asking where to resume). Default 3. */
  retries?: number;
  /** Per request. Default 30 s. */
  timeoutMs?: number;
}

/** How an upload went: `deduplicated` when the service already had the bytes (nothing moved). */
export interface UploadResult {
  media: MediaRef;
  deduplicated: boolean;
  /** Body bytes sent (chunks sent again after a drop included). */
  bytesSent: number;
  /** Chunks sent again after a dropped connection. */
  resumed: number;
  ms: number;
}

export type DownloadResult =
  | { ok: true; bytes: Uint8Array; ttfbMs: number; ms: number; hit: boolean }
  | { ok: false; code: string; status: number; message: string; ms: number };

/** A refusal from the media service, with its code (see docs/media.md). */
export class MediaRequestError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
    this.name = 'MediaRequestError';
  }
}

/**
 * A device's side of the media service: upload (ask, then PUT chunks; after
 * a dropped connection, ask where to resume and go on from there) and
 * download from an edge, checking the bytes against their SHA-256.
 */
export class MediaClient {
  constructor(private readonly o: MediaClientOptions) {}

  async upload(bytes: Uint8Array, mime: string, opts: { sha256?: string; dropAfterBytes?: number } = {}): Promise<UploadResult> {
    const t0 = performance.now();
    const sha256 = opts.sha256 ?? (await sha256Hex(bytes));
    const ask = await this.request(`${this.o.service}/v1/uploads`, {
      method: 'POST', headers: { authorization: `Bearer ${this.o.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ sha256, size: bytes.length, mime }),
    });
    const grant = (await ask.json()) as { status: 'exists'; media: MediaRef } | { status: 'upload'; uploadPath: string; chunkBytes: number };
    if (grant.status === 'exists') return { media: grant.media, deduplicated: true, bytesSent: 0, resumed: 0, ms: performance.now() - t0 };
    const url = `${this.o.service}${grant.uploadPath}`;
    let offset = 0;
    let bytesSent = 0;
    let resumed = 0;
    let failures = 0;
    let dropAfter = opts.dropAfterBytes;
    for (;;) {
      const chunk = bytes.subarray(offset, Math.min(bytes.length, offset + grant.chunkBytes));
      try {
        if (dropAfter !== undefined && dropAfter < chunk.length) {
          const n = dropAfter;
          dropAfter = undefined;
          bytesSent += n;
          await dropMidChunk(url, offset, chunk.length, chunk.subarray(0, n));
          throw new Error('connection dropped');
        }
        const res = await this.request(url, { method: 'PUT', headers: { 'upload-offset': String(offset), 'content-type': 'application/octet-stream' }, body: chunk as Uint8Array<ArrayBuffer> });
        bytesSent += chunk.length;
        const r = (await res.json()) as { status: 'partial'; offset: number } | { status: 'stored'; media: MediaRef };
        if (r.status === 'stored') return { media: r.media, deduplicated: false, bytesSent, resumed, ms: performance.now() - t0 };
        offset = r.offset;
      } catch (e) {
        if (e instanceof MediaRequestError && e.code !== 'unavailable' && e.code !== 'offset_mismatch' && e.code !== 'upload_busy') throw e;
        if (++failures > (this.o.retries ?? 3)) throw e;
        resumed++;
        offset = await this.resumeOffset(url);
      }
    }
  }

  /**
   * Asks the service for an object it should already hold (a forward): only
   * the upload request with `reuse`, never the bytes. `deduplicated` false:
   * the object is gone (expired or lost).
   */
  async reuse(media: MediaRef): Promise<{ deduplicated: boolean; ms: number }> {
    const t0 = performance.now();
    try {
      await this.request(`${this.o.service}/v1/uploads`, {
        method: 'POST', headers: { authorization: `Bearer ${this.o.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ sha256: media.sha256, size: media.size, mime: media.mime, reuse: true }),
      });
      return { deduplicated: true, ms: performance.now() - t0 };
    } catch (e) {
      if (e instanceof MediaRequestError && (e.code === 'unknown_key' || e.code === 'expired')) return { deduplicated: false, ms: performance.now() - t0 };
      throw e;
    }
  }

  /** Where the service stands on an upload (HEAD). */
  async resumeOffset(uploadUrl: string): Promise<number> {
    const res = await fetch(uploadUrl, { method: 'HEAD', signal: AbortSignal.timeout(this.o.timeoutMs ?? 30_000) });
    if (!res.ok) throw new MediaRequestError(res.status, res.headers.get('x-chatlab-error') ?? 'unavailable', `HEAD ${res.status}`);
    return Number(res.headers.get('upload-offset'));
  }

  /** Downloads from `edge` (or the service itself) and checks the bytes' SHA-256 against the key. */
  async download(edge: string, key: string): Promise<DownloadResult> {
    const t0 = performance.now();
    let res: Response;
    try {
      res = await fetch(`${edge}/v1/media/${key}`, { signal: AbortSignal.timeout(this.o.timeoutMs ?? 30_000) });
    } catch (e) {
      return { ok: false, code: 'unavailable', status: 0, message: (e as Error).message, ms: performance.now() - t0 };
    }
    const ttfbMs = performance.now() - t0;
    if (!res.ok) {
      const body = (await res.json().catch(() => ({}))) as { code?: string; message?: string };
      return { ok: false, code: body.code ?? 'unavailable', status: res.status, message: body.message ?? `status ${res.status}`, ms: performance.now() - t0 };
    }
    const bytes = new Uint8Array(await res.arrayBuffer());
    const ms = performance.now() - t0;
    if ((await sha256Hex(bytes)) !== key) return { ok: false, code: 'corrupt', status: 200, message: 'the downloaded bytes do not match their SHA-256', ms };
    return { ok: true, bytes, ttfbMs, ms, hit: res.headers.get('x-chatlab-cache') === 'hit' };
  }

  private async request(url: string, init: RequestInit): Promise<Response> {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(this.o.timeoutMs ?? 30_000) });
    if (res.ok) return res;
    const body = (await res.json().catch(() => ({}))) as { code?: string; message?: string };
    throw new MediaRequestError(res.status, body.code ?? 'unavailable', body.message ?? `status ${res.status}`);
  }
}

/** Sends the first bytes of a chunk and cuts the connection (a dropped upload, for tests and drills). */
async function dropMidChunk(url: string, offset: number, length: number, head: Uint8Array): Promise<void> {
  const { request } = await import('node:http');
  await new Promise<void>((resolve) => {
    const req = request(url, { method: 'PUT', headers: { 'upload-offset': String(offset), 'content-length': String(length) } });
    req.on('error', () => resolve());
    req.write(head, () => setTimeout(() => {
      req.destroy();
      resolve();
    }, 20));
  });
}
