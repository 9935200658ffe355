import { createHash, createHmac, randomUUID, timingSafeEqual, type Hash } from 'node:crypto';
import type { Clock } from '../clock/clock.ts';
import type { TokenIssuer } from '../auth/tokens.ts';
import { BlobStoreError, MIN_PART_BYTES, type BlobStore } from './blob-store.ts';

/** What a message carries for its media: the object's key (its SHA-256), and what a recipient checks it against. */
export interface MediaRef {
  /** The object's key: the lower-case hex SHA-256 of the uploaded (encrypted) bytes. */
  key: string;
  sha256: string;
  size: number;
  mime: string;
}

/** A refusal with a stable code, the HTTP status it travels as, and a message a person can act on. */
export class MediaError extends Error {
  constructor(readonly status: number, readonly code: MediaErrorCode, message: string, readonly detail: Record<string, unknown> = {}) {
    super(message);
    this.name = 'MediaError';
  }
}

export type MediaErrorCode =
  | 'bad_request' | 'unauthorized' | 'too_large' | 'bad_signature' | 'upload_url_expired' | 'unknown_upload'
  | 'offset_mismatch' | 'upload_busy' | 'too_many_uploads' | 'hash_mismatch' | 'unknown_key' | 'expired' | 'unavailable';

export interface MediaServiceOptions {
  store: BlobStore;
  clock: Clock;
  /** Verifies the devices' session tokens (the cluster's token key). */
  tokens: TokenIssuer;
  /** Signs upload URLs; at least 16 bytes. */
  secret: string;
  /** How long an object (and its references) is kept after upload. Default 30 days. */
  retentionMs?: number;
  /** Largest object accepted. Default 100 MiB. */
  maxBytes?: number;
  /** Bytes per chunk of an upload (every chunk but the last). At least 5 MiB, S3's smallest part. Default 5 MiB. */
  chunkBytes?: number;
  /** How long an upload URL is good for; an upload not finished by then is dropped by `sweep`. Default 1 hour. */
  uploadTtlMs?: number;
  /** Unfinished uploads one device may hold; more are refused `too_many_uploads`. Default 32. */
  uploadsPerDevice?: number;
}

/** Where objects live in the store. */
const OBJECTS = 'media/';
/** A marker left for an object deleted at its expiry, so a late download is told `expired` rather than `unknown_key`. */
const TOMBSTONES = 'expired/';
const SHA256_HEX = /^[0-9a-f]{64}$/;
const MIME = /^[a-z0-9][a-z0-9.+-]*\/[a-z0-9][a-z0-9.+-]*$/;

export const DEFAULT_MEDIA_RETENTION_MS = 30 * 24 * 3600_000;
export const DEFAULT_MAX_MEDIA_BYTES = 100 * 1024 * 1024;

export interface Upload {
  id: string;
  device: string;
  ref: MediaRef;
  expiresAt: number;
  /** Bytes received and accepted so far (whole chunks). */
  offset: number;
  hash: Hash;
  /** The store's multipart upload, for objects of more than one chunk. */
  storeUpload?: string;
  parts: number;
  /** A chunk is being received: a second writer is refused rather than interleaved. */
  busy: boolean;
}

export type UploadGrant =
  | { status: 'exists'; media: MediaRef }
  | { status: 'upload'; uploadId: string; uploadPath: string; expiresAt: number; chunkBytes: number };

export type ChunkResult = { status: 'partial'; offset: number } | { status: 'stored'; media: MediaRef };

/**
 * The media service: devices ask for an upload URL, upload (in chunks,
 * resumable), and download by key. Objects are content-addressed by the
 * SHA-256 of their bytes, so the same bytes are stored once: a second request
 * for bytes already stored is answered `exists` and moves nothing, and a
 * forward reuses the object.
 *
 * Guarantees: nothing is readable until all its bytes arrived and their
 * SHA-256 and size match what was declared (a mismatch is refused and the
 * upload dropped); an object is kept `retentionMs` after it was stored, then
 * deleted by `sweep`, and a download after that is `expired`. Upload state
 * (offset, running hash) lives in this process: after a restart an
 * unfinished upload starts again (the store's parts are dropped by `sweep`).
 */
export class MediaService {
  private readonly uploads = new Map<string, Upload>();
  /** Unfinished uploads per device. */
  private readonly perDevice = new Map<string, number>();
  private readonly key: Buffer;
  readonly retentionMs: number;
  readonly maxBytes: number;
  readonly chunkBytes: number;
  readonly uploadTtlMs: number;
  readonly stats = {
    uploadRequests: 0, dedupHits: 0, dedupBytes: 0, uploadsStored: 0, bytesStored: 0, chunks: 0,
    downloads: 0, bytesServed: 0, expiredDownloads: 0, unknownDownloads: 0,
    refused: 0, expiredObjects: 0, abandonedUploads: 0,
  };

  constructor(private readonly o: MediaServiceOptions) {
    if (Buffer.byteLength(o.secret) < 16) throw new RangeError('media secret must be at least 16 bytes');
    this.key = Buffer.from(o.secret);
    this.retentionMs = o.retentionMs ?? DEFAULT_MEDIA_RETENTION_MS;
    this.maxBytes = o.maxBytes ?? DEFAULT_MAX_MEDIA_BYTES;
    this.chunkBytes = o.chunkBytes ?? MIN_PART_BYTES;
    if (this.chunkBytes < MIN_PART_BYTES) throw new RangeError(`chunkBytes must be at least ${MIN_PART_BYTES} (S3's smallest part)`);
    this.uploadTtlMs = o.uploadTtlMs ?? 3600_000;
  }

  /** The device a bearer token proves, or `unauthorized`. */
  authenticate(authorization: string | undefined): string {
    const token = authorization?.startsWith('Bearer ') ? authorization.slice(7) : undefined;
    const check = this.o.tokens.verify(token);
    if (!check.ok) throw this.refuse(401, 'unauthorized', check.reason);
    return check.claims.device;
  }

  /**
   * An upload request: `{sha256, size, mime}`. Bytes already stored under
   * that SHA-256 are answered `exists` (nothing to upload); otherwise an
   * upload path, signed and expiring, to PUT the bytes to. With `reuse: true`
   * (a forward: the device has no bytes to send) it is `exists` or a
   * refusal, `expired` or `unknown_key`, and no upload is opened.
   */
  async requestUpload(device: string, body: unknown): Promise<UploadGrant> {
    this.stats.uploadRequests++;
    const ref = this.parseRef(body);
    const stored = await this.storeCall(() => this.o.store.head(OBJECTS + ref.key));
    if (stored && stored.size === ref.size && !this.isExpired(stored.createdAt)) {
      this.stats.dedupHits++;
      this.stats.dedupBytes += ref.size;
      return { status: 'exists', media: { ...ref, mime: stored.meta.mime ?? ref.mime } };
    }
    if ((body as { reuse?: unknown }).reuse === true) {
      const gone = stored ? true : await this.storeCall(() => this.o.store.head(TOMBSTONES + ref.key));
      if (gone) throw this.refuse(410, 'expired', 'the media has expired: nothing to forward');
      throw this.refuse(404, 'unknown_key', 'no media under this SHA-256: nothing to forward');
    }
    const mine = this.perDevice.get(device) ?? 0;
    if (mine >= (this.o.uploadsPerDevice ?? 32)) throw this.refuse(429, 'too_many_uploads', `this device has ${mine} unfinished uploads: finish or wait for them to expire`);
    const id = randomUUID();
    const expiresAt = this.o.clock.now() + this.uploadTtlMs;
    this.uploads.set(id, { id, device, ref, expiresAt, offset: 0, hash: createHash('sha256'), parts: 0, busy: false });
    this.perDevice.set(device, mine + 1);
    return { status: 'upload', uploadId: id, uploadPath: `/v1/uploads/${id}?exp=${expiresAt}&sig=${this.sign(id, expiresAt)}`, expiresAt, chunkBytes: this.chunkBytes };
  }

  /** Checks an upload URL's signature and expiry; returns its upload. */
  upload(id: string, exp: string | null, sig: string | null): Upload {
    const expiresAt = Number(exp);
    if (!exp || !sig || !Number.isInteger(expiresAt) || !this.signatureOk(id, expiresAt, sig)) {
      throw this.refuse(403, 'bad_signature', 'the upload URL is not one this service signed');
    }
    if (expiresAt <= this.o.clock.now()) throw this.refuse(410, 'upload_url_expired', 'the upload URL has expired: request a new one');
    const u = this.uploads.get(id);
    if (!u) throw this.refuse(404, 'unknown_upload', 'no such upload (finished, dropped, or the service restarted): request a new one');
    return u;
  }

  /** Where an upload stands: the bytes accepted so far, to resume from. */
  offsetOf(u: Upload): number {
    return u.offset;
  }

  /**
   * Marks a chunk at `offset` as being received (one writer at a time).
   * Checked before the body is read, so a wrong offset or a chunk too large
   * costs no bytes.
   */
  beginChunk(u: Upload, offset: number, length: number): void {
    if (u.busy) throw this.refuse(409, 'upload_busy', 'another chunk of this upload is being received');
    if (!Number.isInteger(offset) || offset !== u.offset) throw this.refuse(409, 'offset_mismatch', `the upload is at offset ${u.offset}`, { offset: u.offset });
    const remaining = u.ref.size - u.offset;
    if (length === 0 && remaining === 0) {
      // Every byte arrived and the store failed the completion: an empty chunk asks for it again.
      u.busy = true;
      return;
    }
    if (!Number.isInteger(length) || length < 1) throw this.refuse(400, 'bad_request', 'a chunk needs a content-length of at least 1');
    if (length > remaining) throw this.refuse(413, 'too_large', `the chunk runs past the declared size (${remaining} bytes remain)`, { offset: u.offset });
    if (length !== Math.min(this.chunkBytes, remaining)) {
      throw this.refuse(400, 'bad_request', `each chunk is ${this.chunkBytes} bytes, the last one what remains (${Math.min(this.chunkBytes, remaining)} here)`, { offset: u.offset });
    }
    u.busy = true;
  }

  /** A chunk whose body did not arrive whole (dropped connection): nothing of it counts. */
  abandonChunk(u: Upload): void {
    u.busy = false;
  }

  /**
   * A whole chunk received: it joins the running hash and the store. The
   * last chunk completes the object once its SHA-256 matches the declared one.
   */
  async putChunk(u: Upload, bytes: Uint8Array): Promise<ChunkResult> {
    try {
      const total = u.ref.size;
      const last = u.offset + bytes.length === total;
      this.stats.chunks++;
      if (last && u.parts === 0) {
        // One chunk: checked whole before one atomic put. The running hash is left alone, so a put the store
        // failed can be sent again as it was.
        this.verify(u, createHash('sha256').update(bytes).digest('hex'));
        await this.storeCall(() => this.o.store.put(OBJECTS + u.ref.key, bytes, { mime: u.ref.mime, device: u.device }));
        return this.stored(u);
      }
      if (bytes.length > 0) {
        u.storeUpload ??= await this.storeCall(() => this.o.store.startUpload(OBJECTS + u.ref.key, { mime: u.ref.mime, device: u.device }));
        await this.storeCall(() => this.o.store.putPart(OBJECTS + u.ref.key, u.storeUpload!, u.parts + 1, bytes));
        u.parts++;
        u.hash.update(bytes);
        u.offset += bytes.length;
      }
      if (u.offset < total) return { status: 'partial', offset: u.offset };
      // Every byte is in (an empty chunk at the end asks again for a completion the store failed).
      this.verify(u, u.hash.copy().digest('hex'));
      await this.storeCall(() => this.o.store.completeUpload(OBJECTS + u.ref.key, u.storeUpload!, u.parts));
      return this.stored(u);
    } finally {
      u.busy = false;
    }
  }

  /** The object's bytes and what it is; `expired` after its retention, `unknown_key` when never stored (or lost). */
  async download(key: string): Promise<{ media: MediaRef; bytes: Uint8Array; expiresAt: number }> {
    if (!SHA256_HEX.test(key)) throw this.refuse(400, 'bad_request', 'a media key is 64 lower-case hex digits');
    const info = await this.storeCall(() => this.o.store.head(OBJECTS + key));
    if (!info || this.isExpired(info.createdAt)) {
      const tomb = info ? true : await this.storeCall(() => this.o.store.head(TOMBSTONES + key));
      if (tomb) {
        this.stats.expiredDownloads++;
        throw this.refuse(410, 'expired', 'the media has expired (kept for the retention period after upload)');
      }
      this.stats.unknownDownloads++;
      throw this.refuse(404, 'unknown_key', 'no media under this key');
    }
    const bytes = await this.storeCall(() => this.o.store.get(OBJECTS + key));
    if (!bytes) {
      this.stats.unknownDownloads++;
      throw this.refuse(404, 'unknown_key', 'no media under this key');
    }
    this.stats.downloads++;
    this.stats.bytesServed += bytes.length;
    return { media: { key, sha256: key, size: bytes.length, mime: info.meta.mime ?? 'application/octet-stream' }, bytes, expiresAt: info.createdAt + this.retentionMs };
  }

  /**
   * Deletes objects past their retention (leaving a tombstone, itself kept
   * one more retention period), and drops uploads whose URL expired with
   * their parts in the store. Returns what it removed.
   */
  async sweep(): Promise<{ expired: number; abandoned: number }> {
    const now = this.o.clock.now();
    let expired = 0;
    for await (const o of this.o.store.list(OBJECTS)) {
      if (!this.isExpired(o.createdAt, now)) continue;
      const key = o.key.slice(OBJECTS.length);
      await this.o.store.put(TOMBSTONES + key, new Uint8Array(0));
      await this.o.store.delete(o.key);
      expired++;
    }
    for await (const t of this.o.store.list(TOMBSTONES)) if (t.createdAt + this.retentionMs <= now) await this.o.store.delete(t.key);
    let abandoned = 0;
    for (const u of [...this.uploads.values()]) {
      if (u.expiresAt > now || u.busy) continue;
      this.forget(u);
      if (u.storeUpload) await this.o.store.abortUpload(OBJECTS + u.ref.key, u.storeUpload);
      abandoned++;
    }
    // Parts a restarted service no longer knows of.
    const known = new Set([...this.uploads.values()].map((u) => u.storeUpload));
    for (const p of await this.o.store.listUploads(OBJECTS)) {
      if (!known.has(p.uploadId) && p.startedAt + this.uploadTtlMs <= now) {
        await this.o.store.abortUpload(p.key, p.uploadId);
        abandoned++;
      }
    }
    this.stats.expiredObjects += expired;
    this.stats.abandonedUploads += abandoned;
    return { expired, abandoned };
  }

  /** Uploads in progress (tests, `/stats`). */
  get pendingUploads(): number {
    return this.uploads.size;
  }

  private forget(u: Upload): void {
    if (!this.uploads.delete(u.id)) return;
    const n = (this.perDevice.get(u.device) ?? 1) - 1;
    if (n > 0) this.perDevice.set(u.device, n);
    else this.perDevice.delete(u.device);
  }

  private stored(u: Upload): ChunkResult {
    this.forget(u);
    this.stats.uploadsStored++;
    this.stats.bytesStored += u.ref.size;
    return { status: 'stored', media: u.ref };
  }

  /** After the last byte: the bytes must be what was declared, or the upload is dropped and nothing is stored. */
  private verify(u: Upload, got: string): void {
    if (got !== u.ref.sha256) {
      this.dropUpload(u);
      throw this.refuse(422, 'hash_mismatch', `the bytes' SHA-256 is ${got}, not the declared ${u.ref.sha256}: nothing was stored`);
    }
  }

  private dropUpload(u: Upload): void {
    this.forget(u);
    if (u.storeUpload) void this.o.store.abortUpload(OBJECTS + u.ref.key, u.storeUpload).catch(() => undefined);
  }

  private parseRef(body: unknown): MediaRef {
    const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    if (typeof b.sha256 !== 'string' || !SHA256_HEX.test(b.sha256)) throw this.refuse(400, 'bad_request', 'sha256: expected 64 lower-case hex digits');
    if (typeof b.size !== 'number' || !Number.isInteger(b.size) || b.size < 1) throw this.refuse(400, 'bad_request', 'size: expected a whole number of bytes, at least 1');
    if (b.size > this.maxBytes) throw this.refuse(413, 'too_large', `size ${b.size} is over the limit of ${this.maxBytes} bytes`, { maxBytes: this.maxBytes });
    if (typeof b.mime !== 'string' || b.mime.length > 100 || !MIME.test(b.mime)) throw this.refuse(400, 'bad_request', 'mime: expected a media type such as image/jpeg');
    return { key: b.sha256, sha256: b.sha256, size: b.size, mime: b.mime };
  }

  private isExpired(createdAt: number, now = this.o.clock.now()): boolean {
    return createdAt + this.retentionMs <= now;
  }

  private sign(id: string, expiresAt: number): string {
    return createHmac('sha256', this.key).update(`${id}.${expiresAt}`).digest('base64url');
  }

  private signatureOk(id: string, expiresAt: number, sig: string): boolean {
    const want = Buffer.from(this.sign(id, expiresAt));
    const got = Buffer.from(sig);
    return got.length === want.length && timingSafeEqual(got, want);
  }

  private refuse(status: number, code: MediaErrorCode, message: string, detail?: Record<string, unknown>): MediaError {
    this.stats.refused++;
    return new MediaError(status, code, message, detail);
  }

  /** A store failure is the service's `unavailable` (503), never a crash. */
  private async storeCall<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (e) {
      if (e instanceof MediaError) throw e;
      const msg = e instanceof BlobStoreError || e instanceof Error ? e.message : String(e);
      throw this.refuse(503, 'unavailable', `the object store failed: ${msg}`);
    }
  }
}
