/**
 * The object store behind the media service: whole objects by key, and
 * multipart uploads that become an object only when completed.
 *
 * Guarantees every adapter keeps (the conformance suite checks them):
 * - An object is visible only whole: `put` and `completeUpload` are atomic;
 *   a multipart upload that is never completed (or is aborted) is never
 *   readable, and `abortUpload` frees its parts.
 * - `put` of an existing key replaces it whole.
 * - `get` of a missing key resolves `undefined` (never throws for "absent").
 * - `createdAt` is when the object became visible, on the adapter's clock
 *   (the memory adapter's Clock; the S3 server's LastModified).
 * - Parts are numbered from 1; `completeUpload` joins the parts given, in
 *   that order. S3 wants every part but the last to be at least 5 MiB
 *   (`MIN_PART_BYTES`): callers keep to that so every adapter behaves alike.
 */
export interface BlobStore {
  put(key: string, bytes: Uint8Array, meta?: BlobMeta): Promise<void>;
  /** The object's bytes (or `range`, inclusive start, exclusive end), or undefined when absent. */
  get(key: string, range?: ByteRange): Promise<Uint8Array | undefined>;
  head(key: string): Promise<BlobInfo | undefined>;
  /** Deleting an absent key is not an error. */
  delete(key: string): Promise<void>;
  /** Every object whose key starts with `prefix`, in key order. */
  list(prefix: string): AsyncIterable<BlobInfo>;

  /** Starts a multipart upload to `key`; returns its upload id. */
  startUpload(key: string, meta?: BlobMeta): Promise<string>;
  /** Stores part `part` (1-based) of an upload; a part sent again replaces the earlier one. */
  putPart(key: string, uploadId: string, part: number, bytes: Uint8Array): Promise<void>;
  /** Joins parts 1..`parts` into the object, atomically. Fails (`unknown_upload`) for an aborted or unknown upload. */
  completeUpload(key: string, uploadId: string, parts: number): Promise<void>;
  /** Drops an upload and its parts; an unknown upload is not an error. */
  abortUpload(key: string, uploadId: string): Promise<void>;
  /** Uploads started and not yet completed or aborted. */
  listUploads(prefix: string): Promise<PendingUpload[]>;

  close(): Promise<void>;
}

/** Small string metadata stored with an object (S3 user metadata: lower-case keys, ASCII values). */
export type BlobMeta = Record<string, string>;

export interface BlobInfo {
  key: string;
  size: number;
  /** ms since the Unix epoch. */
  createdAt: number;
  /** Only from `head` (S3 listings carry no user metadata); `{}` from `list`. */
  meta: BlobMeta;
}

export interface PendingUpload {
  key: string;
  uploadId: string;
  startedAt: number;
}

/** Byte range: `start` inclusive, `end` exclusive. */
export interface ByteRange {
  start: number;
  end: number;
}

/** S3's smallest part but the last (5 MiB). */
export const MIN_PART_BYTES = 5 * 1024 * 1024;

/** A failure an adapter names with a stable code. */
export class BlobStoreError extends Error {
  constructor(readonly code: 'unknown_upload' | 'bad_part' | 'unavailable', message: string) {
    super(message);
    this.name = 'BlobStoreError';
  }
}
