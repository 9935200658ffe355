import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { BlobStoreError, type BlobInfo, type BlobMeta, type BlobStore, type ByteRange, type PendingUpload } from './blob-store.ts';

export interface S3BlobStoreOptions {
  /** The S3 endpoint, e.g. `http://127.0.0.1:8333` (path-style addressing is used). */
  endpoint: string;
  bucket: string;
  /** Default: a fixed dummy key (servers run for tests accept any). */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Create the bucket in `open` when it is missing. Default true; false makes a missing bucket an error. */
  createBucket?: boolean;
  /**
   * Longest one HTTP request may take, connecting included. Default 30 s. A
   * server that stops answering fails a call ('unavailable') after about
   * `maxAttempts` times this.
   */
  requestTimeoutMs?: number;
  /** Tries per call, the first included (the SDK's retries). Default 3. */
  maxAttempts?: number;
  /** Keys asked for per ListObjectsV2 page (at most 1000, S3's page size and the default). */
  listPageSize?: number;
}

/** Error names of S3 (and of the SDK for bodiless 404s) that mean "no such object". */
const ABSENT = new Set(['NoSuchKey', 'NotFound']);
/** Error names that mean the parts given cannot be joined. */
const BAD_PART = new Set(['InvalidPart', 'InvalidPartOrder', 'EntityTooSmall']);

/** The ETags of one upload's parts sent from this process, which CompleteMultipartUpload needs. */
interface SentParts {
  key: string;
  etags: Map<number, string>;
}

/**
 * The BlobStore on an S3 server (SeaweedFS in the local world), one bucket.
 *
 * Absence is an answer (`undefined`), never an error; every other failure of
 * the server or the network is a BlobStoreError: 'unknown_upload' (NoSuchUpload),
 * 'bad_part' (a part missing or refused at completion), else 'unavailable'
 * with the cause's message. `createdAt` is the server's LastModified, which
 * S3 gives in whole seconds.
 *
 * Parts' ETags are kept in memory from `putPart` to `completeUpload` (or
 * `abortUpload`: an upload left pending keeps its few bytes of ETags); an
 * upload whose parts another process sent (or this one before a restart) is
 * completed by asking the server for them (ListParts).
 */
export class S3BlobStore implements BlobStore {
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly listPageSize: number;
  private readonly sent = new Map<string, SentParts>();

  private constructor(options: S3BlobStoreOptions) {
    // The SDK warns on Node 20 about its releases after January 2027; the version in package-lock.json is the one that runs.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    this.bucket = options.bucket;
    this.listPageSize = options.listPageSize ?? 1000;
    const timeout = options.requestTimeoutMs ?? 30_000;
    this.client = new S3Client({
      endpoint: options.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      // Static, so the SDK never looks for credentials in the environment or ~/.aws.
      credentials: { accessKeyId: options.accessKeyId ?? 'chatlab', secretAccessKey: options.secretAccessKey ?? 'chatlab-secret' },
      maxAttempts: options.maxAttempts ?? 3,
      requestHandler: { connectionTimeout: timeout, requestTimeout: timeout, throwOnRequestTimeout: true },
      // Checksums only where S3 requires them: no CRC trailer per request, which not every S3-compatible server takes.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  /** Connects, and checks the bucket is there (creating it unless `createBucket` is false). */
  static async open(options: S3BlobStoreOptions): Promise<S3BlobStore> {
    const store = new S3BlobStore(options);
    try {
      await store.ensureBucket(options.createBucket ?? true);
    } catch (error) {
      store.client.destroy();
      throw error;
    }
    return store;
  }

  async put(key: string, bytes: Uint8Array, meta: BlobMeta = {}): Promise<void> {
    await this.call('put', key, () => this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: bytes, Metadata: meta })));
  }

  async get(key: string, range?: ByteRange): Promise<Uint8Array | undefined> {
    // An empty range has no HTTP Range header: only whether the object exists is asked.
    if (range && range.end <= range.start) return (await this.head(key)) ? new Uint8Array(0) : undefined;
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: range && `bytes=${range.start}-${range.end - 1}` }),
      );
      return out.Body ? await out.Body.transformToByteArray() : new Uint8Array(0);
    } catch (error) {
      if (isAbsent(error)) return undefined;
      // 416: the range starts at or past the end of an object that exists.
      if (range && statusOf(error) === 416) return new Uint8Array(0);
      throw failure('get', key, error);
    }
  }

  async head(key: string): Promise<BlobInfo | undefined> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { key, size: out.ContentLength ?? 0, createdAt: out.LastModified?.getTime() ?? 0, meta: out.Metadata ?? {} };
    } catch (error) {
      if (isAbsent(error)) return undefined;
      throw failure('head', key, error);
    }
  }

  async delete(key: string): Promise<void> {
    await this.call('delete', key, () => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })));
  }

  async *list(prefix: string): AsyncGenerator<BlobInfo> {
    let token: string | undefined;
    do {
      const page = await this.call('list', prefix, () =>
        this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token, MaxKeys: this.listPageSize })),
      );
      for (const o of page.Contents ?? []) {
        if (o.Key !== undefined) yield { key: o.Key, size: o.Size ?? 0, createdAt: o.LastModified?.getTime() ?? 0, meta: {} };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async startUpload(key: string, meta: BlobMeta = {}): Promise<string> {
    const out = await this.call('startUpload', key, () =>
      this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key, Metadata: meta })),
    );
    if (!out.UploadId) throw new BlobStoreError('unavailable', `S3 startUpload ${key}: the server gave no upload id`);
    this.sent.set(out.UploadId, { key, etags: new Map() });
    return out.UploadId;
  }

  async putPart(key: string, uploadId: string, part: number, bytes: Uint8Array): Promise<void> {
    if (!Number.isInteger(part) || part < 1 || part > 10_000) throw new BlobStoreError('bad_part', `part number ${part} is not 1..10000`);
    const out = await this.call('putPart', key, () =>
      this.client.send(new UploadPartCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumber: part, Body: bytes })),
    );
    if (!out.ETag) throw new BlobStoreError('unavailable', `S3 putPart ${key}: the server gave no ETag for part ${part}`);
    this.sentParts(key, uploadId).etags.set(part, out.ETag);
  }

  async completeUpload(key: string, uploadId: string, parts: number): Promise<void> {
    const mine = this.sent.get(uploadId);
    const etags = mine?.key === key ? mine.etags : new Map<number, string>();
    const wanted = Array.from({ length: parts }, (_, i) => i + 1);
    if (wanted.some((p) => !etags.has(p))) await this.askParts(key, uploadId, etags);
    const missing = wanted.find((p) => !etags.has(p));
    if (missing !== undefined) throw new BlobStoreError('bad_part', `upload ${uploadId} of ${key} has no part ${missing}`);
    await this.call('completeUpload', key, () =>
      this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: wanted.map((p) => ({ PartNumber: p, ETag: etags.get(p)! })) },
        }),
      ),
    );
    this.sent.delete(uploadId);
  }

  async abortUpload(key: string, uploadId: string): Promise<void> {
    try {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }));
    } catch (error) {
      if (nameOf(error) !== 'NoSuchUpload') throw failure('abortUpload', key, error);
    }
    if (this.sent.get(uploadId)?.key === key) this.sent.delete(uploadId);
  }

  async listUploads(prefix: string): Promise<PendingUpload[]> {
    const out: PendingUpload[] = [];
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      const page = await this.call('listUploads', prefix, () =>
        this.client.send(new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: prefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker })),
      );
      for (const u of page.Uploads ?? []) {
        if (u.Key !== undefined && u.UploadId !== undefined) out.push({ key: u.Key, uploadId: u.UploadId, startedAt: u.Initiated?.getTime() ?? 0 });
      }
      if (!page.IsTruncated) return out;
      keyMarker = page.NextKeyMarker;
      uploadIdMarker = page.NextUploadIdMarker;
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  private async ensureBucket(create: boolean): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      return;
    } catch (error) {
      if (statusOf(error) !== 404) throw failure('open', this.bucket, error);
      if (!create) throw new BlobStoreError('unavailable', `S3 bucket ${this.bucket} does not exist`);
    }
    try {
      await this.client.send(new CreateBucketCommand({ Bucket: this.bucket }));
    } catch (error) {
      // Another process made it meanwhile.
      if (nameOf(error) !== 'BucketAlreadyOwnedByYou' && nameOf(error) !== 'BucketAlreadyExists') throw failure('createBucket', this.bucket, error);
    }
  }

  private sentParts(key: string, uploadId: string): SentParts {
    let s = this.sent.get(uploadId);
    if (!s || s.key !== key) this.sent.set(uploadId, (s = { key, etags: new Map() }));
    return s;
  }

  /** Fills `etags` with the parts the server holds for the upload (ListParts, every page). */
  private async askParts(key: string, uploadId: string, etags: Map<number, string>): Promise<void> {
    let marker: string | undefined;
    for (;;) {
      const page = await this.call('completeUpload', key, () =>
        this.client.send(new ListPartsCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumberMarker: marker })),
      );
      for (const p of page.Parts ?? []) {
        if (p.PartNumber !== undefined && p.ETag) etags.set(p.PartNumber, p.ETag);
      }
      if (!page.IsTruncated) return;
      marker = page.NextPartNumberMarker;
    }
  }

  /** Runs one S3 call, turning its failure into a BlobStoreError. */
  private async call<T>(op: string, key: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw failure(op, key, error);
    }
  }
}

function nameOf(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

function isAbsent(error: unknown): boolean {
  return ABSENT.has(nameOf(error) ?? '');
}

/** The BlobStoreError for a failed call: its code from the S3 error name, the cause kept. */
function failure(op: string, key: string, error: unknown): BlobStoreError {
  if (error instanceof BlobStoreError) return error;
  const name = nameOf(error) ?? 'Error';
  const code = name === 'NoSuchUpload' ? 'unknown_upload' : BAD_PART.has(name) ? 'bad_part' : 'unavailable';
  const out = new BlobStoreError(code, `S3 ${op} ${key}: ${name}: ${error instanceof Error ? error.message : String(error)}`);
  out.cause = error;
  return out;
}
