import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { TokenIssuer } from '../auth/tokens.ts';
import { VirtualClock } from '../clock/clock-virtual.ts';
import { MIN_PART_BYTES } from './blob-store.ts';
import { MemoryBlobStore } from './blob-store-memory.ts';
import { EdgeCache, EdgeServer } from './edge.ts';
import { MediaClient, MediaRequestError } from './media-client.ts';
import { MediaHttpServer } from './media-http.ts';
import { DEFAULT_MEDIA_RETENTION_MS, MediaService } from './media-service.ts';
import { mediaOptionsFromEnv } from './media-world.ts';

const SECRET = 'media-test-secret-0123456789';
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('media service', function () {
  this.timeout(30_000);
  let clock: VirtualClock;
  let store: MemoryBlobStore;
  let service: MediaService;
  let http: MediaHttpServer;
  let edge: EdgeServer;
  let client: MediaClient;
  let tokens: TokenIssuer;

  beforeEach(async () => {
    clock = new VirtualClock(Date.UTC(2026, 0, 1));
    store = new MemoryBlobStore(clock);
    tokens = new TokenIssuer(SECRET, clock);
    service = new MediaService({ store, clock, tokens, secret: SECRET, maxBytes: 20 * 1024 * 1024 });
    http = new MediaHttpServer(service);
    await http.listen();
    edge = new EdgeServer(new EdgeCache({ id: 'edge-1', origin: http.url, clock, capacityBytes: 64 * 1024 * 1024 }));
    await edge.listen();
    client = new MediaClient({ service: http.url, token: tokens.issue('alice.1', 3600_000) });
  });
  afterEach(async () => {
    await edge.close();
    await http.close();
  });

  it('stores uploaded bytes under their SHA-256 and serves them intact from an edge', async () => {
    const bytes = randomBytes(150_000);
    const up = await client.upload(bytes, 'image/jpeg');
    assert.equal(up.deduplicated, false);
    assert.deepEqual(up.media, { key: sha(bytes), sha256: sha(bytes), size: bytes.length, mime: 'image/jpeg' });
    const down = await client.download(edge.url, up.media.key);
    assert.ok(down.ok);
    assert.deepEqual(Buffer.from(down.bytes), bytes);
    assert.equal(down.hit, false);
    const again = await client.download(edge.url, up.media.key);
    assert.ok(again.ok && again.hit);
  });

  it('stores the same bytes once: a second upload moves nothing', async () => {
    const bytes = randomBytes(200_000);
    await client.upload(bytes, 'image/jpeg');
    const bob = new MediaClient({ service: http.url, token: tokens.issue('bob.1', 3600_000) });
    const second = await bob.upload(bytes, 'image/jpeg');
    assert.equal(second.deduplicated, true);
    assert.equal(second.bytesSent, 0);
    assert.equal(store.size, 1);
    assert.equal(service.stats.dedupHits, 1);
    assert.equal(service.stats.dedupBytes, bytes.length);
    assert.equal(store.stats.bytesIn, bytes.length);
  });

  it('answers a forward (reuse) from what is stored, without opening an upload', async () => {
    const bytes = randomBytes(30_000);
    const up = await client.upload(bytes, 'video/mp4');
    const bob = new MediaClient({ service: http.url, token: tokens.issue('bob.1', 3600_000) });
    assert.equal((await bob.reuse(up.media)).deduplicated, true);
    assert.equal((await bob.reuse({ ...up.media, key: 'd'.repeat(64), sha256: 'd'.repeat(64) })).deduplicated, false);
    assert.equal(service.pendingUploads, 0);
    assert.equal(store.stats.bytesIn, bytes.length, 'the bytes moved once');
  });

  it('uploads a large file in chunks, and resumes after a dropped connection', async () => {
    const bytes = randomBytes(2 * MIN_PART_BYTES + 12_345);
    const up = await client.upload(bytes, 'video/mp4', { dropAfterBytes: 1_000_000 });
    assert.equal(up.resumed, 1);
    assert.equal(up.deduplicated, false);
    const down = await client.download(edge.url, up.media.key);
    assert.ok(down.ok);
    assert.equal(sha(down.bytes), sha(bytes));
    assert.equal(service.stats.chunks, 3, 'the dropped chunk did not count');
    assert.deepEqual(await store.listUploads(''), []);
  });

  it('refuses bytes whose SHA-256 is not the declared one, and stores nothing', async () => {
    const bytes = randomBytes(10_000);
    await assert.rejects(client.upload(bytes, 'image/jpeg', { sha256: sha(randomBytes(8)) }), (e: MediaRequestError) => e.status === 422 && e.code === 'hash_mismatch');
    assert.equal(store.size, 0);
    assert.equal(service.pendingUploads, 0);
  });

  it('refuses a multi-chunk upload whose hash does not match, dropping its parts', async () => {
    const bytes = randomBytes(MIN_PART_BYTES + 10);
    await assert.rejects(client.upload(bytes, 'video/mp4', { sha256: sha(randomBytes(8)) }), { code: 'hash_mismatch' });
    assert.equal(store.size, 0);
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(await store.listUploads(''), []);
  });

  it('refuses size lies: a chunk past the declared size, or short of it', async () => {
    const grant = await ask(200);
    const long = await fetch(`${http.url}${grant.uploadPath}`, { method: 'PUT', headers: { 'upload-offset': '0' }, body: randomBytes(300) });
    assert.equal(long.status, 413);
    assert.equal(((await long.json()) as { code: string }).code, 'too_large');
    const short = await fetch(`${http.url}${grant.uploadPath}`, { method: 'PUT', headers: { 'upload-offset': '0' }, body: randomBytes(100) });
    assert.equal(short.status, 400);
    assert.equal(((await short.json()) as { code: string }).code, 'bad_request');
    assert.equal(store.size, 0);
  });

  it('refuses a wrong offset and says where the upload is', async () => {
    const grant = await ask(200);
    const res = await fetch(`${http.url}${grant.uploadPath}`, { method: 'PUT', headers: { 'upload-offset': '100' }, body: randomBytes(100) });
    assert.equal(res.status, 409);
    assert.deepEqual(await res.json(), { code: 'offset_mismatch', message: 'the upload is at offset 0', offset: 0 });
  });

  it('refuses a forged or expired upload URL', async () => {
    const grant = await ask(100);
    const forged = grant.uploadPath.replace(/sig=[^&]+/, 'sig=AAAA');
    const f = await fetch(`${http.url}${forged}`, { method: 'PUT', headers: { 'upload-offset': '0' }, body: randomBytes(100) });
    assert.equal(f.status, 403);
    assert.equal(((await f.json()) as { code: string }).code, 'bad_signature');
    const stretched = grant.uploadPath.replace(/exp=\d+/, `exp=${grant.expiresAt + 3600_000}`);
    assert.equal((await fetch(`${http.url}${stretched}`, { method: 'HEAD' })).status, 403);
    clock.advance(service.uploadTtlMs + 1);
    const late = await fetch(`${http.url}${grant.uploadPath}`, { method: 'PUT', headers: { 'upload-offset': '0' }, body: randomBytes(100) });
    assert.equal(late.status, 410);
    assert.equal(((await late.json()) as { code: string }).code, 'upload_url_expired');
  });

  it('refuses an upload request that is too large, malformed or without a valid token', async () => {
    await assert.rejects(client.upload(randomBytes(16), 'image/jpeg', { sha256: 'nothex' }), { status: 400, code: 'bad_request' });
    const big = await fetch(`${http.url}/v1/uploads`, { method: 'POST', headers: { authorization: `Bearer ${tokens.issue('alice.1', 60_000)}` }, body: JSON.stringify({ sha256: 'a'.repeat(64), size: 21 * 1024 * 1024, mime: 'video/mp4' }) });
    assert.equal(big.status, 413);
    const noJson = await fetch(`${http.url}/v1/uploads`, { method: 'POST', headers: { authorization: `Bearer ${tokens.issue('alice.1', 60_000)}` }, body: '{nope' });
    assert.equal(noJson.status, 400);
    const anon = await fetch(`${http.url}/v1/uploads`, { method: 'POST', body: JSON.stringify({ sha256: 'a'.repeat(64), size: 1, mime: 'image/jpeg' }) });
    assert.equal(anon.status, 401);
    assert.equal(((await anon.json()) as { code: string }).code, 'unauthorized');
  });

  it('answers an unknown key and a malformed key clearly', async () => {
    const unknown = await client.download(edge.url, 'b'.repeat(64));
    assert.deepEqual([unknown.ok, !unknown.ok && unknown.code, !unknown.ok && unknown.status], [false, 'unknown_key', 404]);
    const bad = await fetch(`${http.url}/v1/media/..%2Fetc`);
    assert.equal(bad.status, 400);
    for (const key of ['%zz', 'A'.repeat(64), 'a'.repeat(63)]) {
      const res = await fetch(`${edge.url}/v1/media/${key}`);
      assert.deepEqual([res.status, ((await res.json()) as { code: string }).code], [400, 'bad_request'], key);
    }
  });

  it('deletes media after the retention, and a later download is `expired`, from the origin and from an edge that cached it', async () => {
    const bytes = randomBytes(5000);
    const up = await client.upload(bytes, 'audio/ogg');
    assert.ok((await client.download(edge.url, up.media.key)).ok);
    clock.advance(DEFAULT_MEDIA_RETENTION_MS - 1000);
    assert.deepEqual(await service.sweep(), { expired: 0, abandoned: 0 });
    clock.advance(1000);
    const fromEdge = await client.download(edge.url, up.media.key);
    assert.deepEqual([fromEdge.ok, !fromEdge.ok && fromEdge.code], [false, 'expired']);
    assert.deepEqual(await service.sweep(), { expired: 1, abandoned: 0 });
    assert.equal(await store.head(`media/${up.media.key}`), undefined);
    const fromOrigin = await client.download(http.url, up.media.key);
    assert.deepEqual([fromOrigin.ok, !fromOrigin.ok && fromOrigin.code, !fromOrigin.ok && fromOrigin.status], [false, 'expired', 410]);
    const later = new MediaClient({ service: http.url, token: tokens.issue('alice.1', 3600_000) });
    const again = await later.upload(bytes, 'audio/ogg');
    assert.equal(again.deduplicated, false, 'expired bytes are stored again, not answered "exists"');
  });

  it('drops an upload never finished, with its parts', async () => {
    const bytes = randomBytes(MIN_PART_BYTES + 100);
    const grant = await ask(bytes.length, sha(bytes));
    const first = await fetch(`${http.url}${grant.uploadPath}`, { method: 'PUT', headers: { 'upload-offset': '0' }, body: bytes.subarray(0, MIN_PART_BYTES) });
    assert.equal(first.status, 200);
    assert.equal((await store.listUploads('')).length, 1);
    assert.equal((await client.download(http.url, sha(bytes))).ok, false, 'nothing half-written is served');
    clock.advance(service.uploadTtlMs);
    assert.deepEqual(await service.sweep(), { expired: 0, abandoned: 1 });
    assert.deepEqual(await store.listUploads(''), []);
    assert.equal(service.pendingUploads, 0);
  });

  it('limits the unfinished uploads of one device', async () => {
    const small = new MediaService({ store, clock, tokens, secret: SECRET, uploadsPerDevice: 2 });
    await small.requestUpload('alice.1', { sha256: 'a'.repeat(64), size: 10, mime: 'image/jpeg' });
    await small.requestUpload('alice.1', { sha256: 'b'.repeat(64), size: 10, mime: 'image/jpeg' });
    await assert.rejects(small.requestUpload('alice.1', { sha256: 'c'.repeat(64), size: 10, mime: 'image/jpeg' }), { status: 429, code: 'too_many_uploads' });
    await small.requestUpload('bob.1', { sha256: 'c'.repeat(64), size: 10, mime: 'image/jpeg' });
  });

  async function ask(size: number, sha256 = 'c'.repeat(64)) {
    const res = await fetch(`${http.url}/v1/uploads`, { method: 'POST', headers: { authorization: `Bearer ${tokens.issue('alice.1', 3600_000)}` }, body: JSON.stringify({ sha256, size, mime: 'image/jpeg' }) });
    assert.equal(res.status, 201);
    return (await res.json()) as { uploadPath: string; expiresAt: number };
  }
});

describe('media service over a failing store', () => {
  /** A memory store whose next put and next completion fail (the object store answered 503). */
  class Flaky extends MemoryBlobStore {
    failPut = 1;
    failComplete = 1;
    override async put(key: string, bytes: Uint8Array, meta?: Record<string, string>): Promise<void> {
      if (this.failPut-- > 0) throw new Error('store down');
      return super.put(key, bytes, meta);
    }
    override async completeUpload(key: string, uploadId: string, parts: number): Promise<void> {
      if (this.failComplete-- > 0) throw new Error('store down');
      return super.completeUpload(key, uploadId, parts);
    }
  }

  it('answers unavailable, and the client finishes the upload when the store is back (a chunk sent again, a completion asked again)', async () => {
    const clock = new VirtualClock(0);
    const store = new Flaky(clock);
    const tokens = new TokenIssuer(SECRET, clock);
    const http = new MediaHttpServer(new MediaService({ store, clock, tokens, secret: SECRET }));
    await http.listen();
    try {
      const client = new MediaClient({ service: http.url, token: tokens.issue('alice.1', 60_000) });
      const small = randomBytes(1000);
      const a = await client.upload(small, 'image/jpeg');
      assert.equal(a.resumed, 1);
      const big = randomBytes(MIN_PART_BYTES + 1000);
      const b = await client.upload(big, 'video/mp4');
      assert.equal(b.resumed, 1);
      for (const bytes of [small, big]) assert.equal(sha((await store.get(`media/${sha(bytes)}`))!), sha(bytes));
    } finally {
      await http.close();
    }
  });
});

describe('media options from the environment', () => {
  it('takes CHATLAB_MEDIA_* numbers and refuses anything else by name', () => {
    assert.deepEqual(mediaOptionsFromEnv({ CHATLAB_MEDIA_EDGES: '4', CHATLAB_MEDIA_RETENTION_MS: '60000' }), { edges: 4, retentionMs: 60_000 });
    assert.deepEqual(mediaOptionsFromEnv({}), {});
    assert.throws(() => mediaOptionsFromEnv({ CHATLAB_MEDIA_EDGE_BYTES: 'lots' }), /CHATLAB_MEDIA_EDGE_BYTES must be a positive number/);
  });
});

describe('edge cache', () => {
  it('keeps the most recently used bytes: a known access pattern gives a known hit ratio', async () => {
    const { clock, store, service, http } = await origin();
    try {
      const size = 10_000;
      const keys: string[] = [];
      for (let i = 0; i < 4; i++) {
        const b = randomBytes(size);
        keys.push(sha(b));
        await store.put(`media/${sha(b)}`, b, { mime: 'image/jpeg' });
      }
      const edge = new EdgeCache({ id: 'edge-1', origin: http.url, clock, capacityBytes: 3 * size });
      const [a, b, c, d] = keys as [string, string, string, string];
      // a b c fill it; a b c hit; d evicts a (least recently used); a misses and evicts b; c hits.
      for (const k of [a, b, c, a, b, c, d, a, c]) assert.ok((await edge.get(k)).ok);
      assert.deepEqual([edge.stats.hits, edge.stats.misses], [4, 5]);
      assert.equal(edge.stats.originBytes, 5 * size);
      assert.equal(edge.stats.edgeBytes, 9 * size);
      assert.equal(edge.heldBytes, 3 * size);
    } finally {
      await http.close();
    }
  });

  it('fetches an object once from the origin however many devices miss it at once', async () => {
    const { clock, store, service, http } = await origin();
    try {
      const b = randomBytes(50_000);
      await store.put(`media/${sha(b)}`, b, { mime: 'video/mp4' });
      const edge = new EdgeCache({ id: 'edge-1', origin: http.url, clock });
      const all = await Promise.all(Array.from({ length: 8 }, () => edge.get(sha(b))));
      assert.ok(all.every((x) => x.ok));
      assert.equal(edge.stats.originBytes, b.length);
      assert.equal(service.stats.downloads, 1);
    } finally {
      await http.close();
    }
  });
});

/** A media service on a virtual clock and a memory store, listening. */
async function origin() {
  const clock = new VirtualClock(0);
  const store = new MemoryBlobStore(clock);
  const service = new MediaService({ store, clock, tokens: new TokenIssuer(SECRET, clock), secret: SECRET });
  const http = new MediaHttpServer(service);
  await http.listen();
  return { clock, store, service, http };
}
