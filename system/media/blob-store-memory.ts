import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock/clock.ts';
import { BlobStoreError, type BlobInfo, type BlobMeta, type BlobStore, type ByteRange, type PendingUpload } from './blob-store.ts';

interface Stored {
  bytes: Uint8Array;
  createdAt: number;
  meta: BlobMeta;
}

interface Upload {
  key: string;
  startedAt: number;
  meta: BlobMeta;
  parts: Map<number, Uint8Array>;
}

/** The BlobStore in memory, on a Clock (so expiry runs in virtual time). Bytes are copied in and out. */
export class MemoryBlobStore implements BlobStore {
  private readonly objects = new Map<string, Stored>();
  private readonly uploads = new Map<string, Upload>();
  readonly stats = { puts: 0, gets: 0, deletes: 0, bytesIn: 0, bytesOut: 0 };
  /** Test hook: objects written while set are answered as stored and kept nowhere (lost behind the service's back). */
  loseWrites = false;

  constructor(private readonly clock: Clock) {}

  async put(key: string, bytes: Uint8Array, meta: BlobMeta = {}): Promise<void> {
    this.stats.puts++;
    this.stats.bytesIn += bytes.length;
    if (this.loseWrites) return;
    this.objects.set(key, { bytes: Uint8Array.from(bytes), createdAt: this.clock.now(), meta: { ...meta } });
  }

  async get(key: string, range?: ByteRange): Promise<Uint8Array | undefined> {
    const o = this.objects.get(key);
    if (!o) return undefined;
    this.stats.gets++;
    const out = range ? o.bytes.slice(range.start, Math.min(range.end, o.bytes.length)) : o.bytes.slice();
    this.stats.bytesOut += out.length;
    return out;
  }

  async head(key: string): Promise<BlobInfo | undefined> {
    const o = this.objects.get(key);
    return o && { key, size: o.bytes.length, createdAt: o.createdAt, meta: { ...o.meta } };
  }

  async delete(key: string): Promise<void> {
    if (this.objects.delete(key)) this.stats.deletes++;
  }

  async *list(prefix: string): AsyncIterable<BlobInfo> {
    const keys = [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
    for (const key of keys) {
      const o = this.objects.get(key);
      if (o) yield { key, size: o.bytes.length, createdAt: o.createdAt, meta: {} };
    }
  }

  async startUpload(key: string, meta: BlobMeta = {}): Promise<string> {
    const id = randomUUID();
    this.uploads.set(id, { key, startedAt: this.clock.now(), meta: { ...meta }, parts: new Map() });
    return id;
  }

  async putPart(key: string, uploadId: string, part: number, bytes: Uint8Array): Promise<void> {
    const u = this.upload(key, uploadId);
    if (!Number.isInteger(part) || part < 1 || part > 10_000) throw new BlobStoreError('bad_part', `part number ${part} is not 1..10000`);
    this.stats.bytesIn += bytes.length;
    u.parts.set(part, Uint8Array.from(bytes));
  }

  async completeUpload(key: string, uploadId: string, parts: number): Promise<void> {
    const u = this.upload(key, uploadId);
    const chunks: Uint8Array[] = [];
    for (let p = 1; p <= parts; p++) {
      const c = u.parts.get(p);
      if (!c) throw new BlobStoreError('bad_part', `upload ${uploadId} has no part ${p}`);
      chunks.push(c);
    }
    this.uploads.delete(uploadId);
    this.stats.puts++;
    if (this.loseWrites) return;
    this.objects.set(key, { bytes: Buffer.concat(chunks), createdAt: this.clock.now(), meta: u.meta });
  }

  async abortUpload(_key: string, uploadId: string): Promise<void> {
    this.uploads.delete(uploadId);
  }

  async listUploads(prefix: string): Promise<PendingUpload[]> {
    return [...this.uploads].filter(([, u]) => u.key.startsWith(prefix)).map(([uploadId, u]) => ({ key: u.key, uploadId, startedAt: u.startedAt }));
  }

  /** Objects held now (tests, and the embedded world's figures). */
  get size(): number {
    return this.objects.size;
  }

  /** Drops an object without the service knowing (a test of a lost object). */
  loseBehindTheServicesBack(key: string): boolean {
    return this.objects.delete(key);
  }

  async close(): Promise<void> {}

  private upload(key: string, uploadId: string): Upload {
    const u = this.uploads.get(uploadId);
    if (!u || u.key !== key) throw new BlobStoreError('unknown_upload', `no upload ${uploadId} for ${key}`);
    return u;
  }
}
