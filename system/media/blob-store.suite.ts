import assert from 'node:assert/strict';
import { type Harness, unique } from '../testing/harness.ts';
import { type BlobInfo, type BlobStore, MIN_PART_BYTES } from './blob-store.ts';

/** `close` releases the store too (unless the factory shares one store between tests). */
export interface BlobStoreHarness extends Harness {
  store: BlobStore;
}

/**
 * How far a store's `createdAt` may sit from the harness clock: S3 servers
 * give LastModified in whole seconds (truncated), so a real store is up to
 * 1 s early; 0 for a memory store on the same VirtualClock.
 */
const CLOCK_SLACK_MS = 1500;

/**
 * Conformance suite: every BlobStore adapter must pass it, in virtual or real
 * time. Keys are unique per test, so a shared real store needs no cleanup.
 * Multipart tests send one MIN_PART_BYTES part each, to stay fast.
 */
export function runBlobStoreSuite(name: string, make: () => Promise<BlobStoreHarness>): void {
  describe(`BlobStore (${name})`, () => {
    let h: BlobStoreHarness;
    let store: BlobStore;
    const key = (prefix = 'blob') => `${unique(h, prefix)}/object`;
    const text = (s: string) => new TextEncoder().encode(s);
    /** `n` bytes of a pattern that depends on `seed`, so parts swapped or replaced show. */
    const pattern = (n: number, seed: number) => {
      const bytes = new Uint8Array(n);
      for (let i = 0; i < n; i++) bytes[i] = (i * 31 + seed) & 0xff;
      return bytes;
    };
    const concat = (...chunks: Uint8Array[]) => new Uint8Array(Buffer.concat(chunks));
    /** Asserts `bytes` equal `want` without printing megabytes on failure. */
    const sameBytes = (bytes: Uint8Array | undefined, want: Uint8Array, what: string) => {
      assert.ok(bytes, `${what}: absent`);
      assert.equal(bytes.length, want.length, `${what}: length`);
      assert.ok(Buffer.from(bytes).equals(Buffer.from(want)), `${what}: content differs`);
    };
    /** Asserts a timestamp was taken between `before` and now, within the clock slack. */
    const closeToNow = (at: number, before: number, what: string) => {
      const after = h.clock.now();
      assert.ok(at >= before - CLOCK_SLACK_MS && at <= after + CLOCK_SLACK_MS, `${what} ${at} not within [${before}, ${after}]`);
    };
    const listed = async (prefix: string) => {
      const out: BlobInfo[] = [];
      for await (const info of store.list(prefix)) out.push(info);
      return out;
    };
    const pendingIds = async (prefix: string) => (await store.listUploads(prefix)).map((u) => u.uploadId);

    beforeEach(async () => {
      h = await make();
      store = h.store;
    });
    afterEach(async () => {
      await h.close();
    });

    it('returns what was put, with its size, metadata and creation time', async () => {
      const k = key();
      const bytes = pattern(1000, 7);
      const meta = { kind: 'photo', owner: 'alice.1', 'mime-type': 'image/jpeg' };
      const before = h.clock.now();
      await store.put(k, bytes, meta);
      sameBytes(await store.get(k), bytes, 'get');
      const info = await store.head(k);
      assert.ok(info);
      assert.deepEqual({ ...info, createdAt: 0 }, { key: k, size: 1000, createdAt: 0, meta });
      closeToNow(info.createdAt, before, 'createdAt');
    });

    it('keeps every byte value and the empty object', async () => {
      const [all, empty] = [key(), key()];
      const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
      await store.put(all, bytes);
      await store.put(empty, new Uint8Array(0));
      sameBytes(await store.get(all), bytes, 'all byte values');
      sameBytes(await store.get(empty), new Uint8Array(0), 'empty object');
      assert.equal((await store.head(empty))?.size, 0);
      assert.deepEqual((await store.head(all))?.meta, {});
    });

    it('returns a byte range: start inclusive, end exclusive', async () => {
      const k = key();
      const bytes = pattern(4096, 3);
      await store.put(k, bytes);
      sameBytes(await store.get(k, { start: 0, end: 1 }), bytes.slice(0, 1), 'first byte');
      sameBytes(await store.get(k, { start: 100, end: 1100 }), bytes.slice(100, 1100), 'middle');
      sameBytes(await store.get(k, { start: 4000, end: 4096 }), bytes.slice(4000), 'tail');
      sameBytes(await store.get(k, { start: 0, end: 4096 }), bytes, 'whole');
    });

    it('resolves undefined for a missing key, with or without a range', async () => {
      const k = key('missing');
      assert.equal(await store.get(k), undefined);
      assert.equal(await store.get(k, { start: 0, end: 10 }), undefined);
      assert.equal(await store.head(k), undefined);
    });

    it('replaces an object put again, bytes and metadata whole', async () => {
      const k = key();
      await store.put(k, pattern(2000, 1), { version: 'one', extra: 'x' });
      await store.put(k, text('second'), { version: 'two' });
      sameBytes(await store.get(k), text('second'), 'get');
      const info = await store.head(k);
      assert.equal(info?.size, 6);
      assert.deepEqual(info?.meta, { version: 'two' });
    });

    it('deletes an object, and resolves deleting an absent key', async () => {
      const k = key();
      await store.put(k, text('gone soon'));
      await store.delete(k);
      assert.equal(await store.get(k), undefined);
      assert.equal(await store.head(k), undefined);
      await store.delete(k);
      await store.delete(key('never'));
    });

    it('lists the objects under a prefix in key order, with sizes and creation times', async () => {
      const prefix = `${unique(h, 'list')}/`;
      const before = h.clock.now();
      // Put out of order; '-' (0x2d) sorts before '/' (0x2f), so a nested key is not listed first.
      const sizes: Record<string, number> = { 'b': 2, 'a/x': 3, 'a-b': 4, 'c/d/e': 5, 'a': 1 };
      for (const [k, n] of Object.entries(sizes)) await store.put(prefix + k, pattern(n, n));
      await store.put(`${prefix.slice(0, -1)}-other`, text('not under the prefix'));
      const got = await listed(prefix);
      assert.deepEqual(
        got.map((i) => [i.key, i.size]),
        ['a', 'a-b', 'a/x', 'b', 'c/d/e'].map((k) => [prefix + k, sizes[k]]),
      );
      for (const i of got) {
        assert.deepEqual(i.meta, {});
        closeToNow(i.createdAt, before, `createdAt of ${i.key}`);
      }
      assert.deepEqual((await listed(`${prefix}a/`)).map((i) => i.key), [`${prefix}a/x`]);
      assert.deepEqual(await listed(`${prefix}zzz`), []);
      await store.delete(`${prefix}b`);
      assert.deepEqual((await listed(prefix)).map((i) => i.key.slice(prefix.length)), ['a', 'a-b', 'a/x', 'c/d/e']);
    });

    it('joins the parts of an upload in part order, whatever order they came in', async () => {
      const k = key('upload');
      const [first, last] = [pattern(MIN_PART_BYTES, 11), pattern(1234, 12)];
      const before = h.clock.now();
      const id = await store.startUpload(k, { kind: 'video' });
      await store.putPart(k, id, 2, last);
      await store.putPart(k, id, 1, first);
      await store.completeUpload(k, id, 2);
      sameBytes(await store.get(k), concat(first, last), 'completed object');
      sameBytes(await store.get(k, { start: MIN_PART_BYTES - 2, end: MIN_PART_BYTES + 2 }), concat(first.slice(-2), last.slice(0, 2)), 'range across parts');
      const info = await store.head(k);
      assert.equal(info?.size, MIN_PART_BYTES + 1234);
      assert.deepEqual(info?.meta, { kind: 'video' });
      closeToNow(info!.createdAt, before, 'createdAt');
      assert.deepEqual(await pendingIds(k), []);
    });

    it('keeps the last copy of a part sent again', async () => {
      const k = key('upload');
      const first = pattern(MIN_PART_BYTES, 21);
      const id = await store.startUpload(k);
      await store.putPart(k, id, 1, first);
      await store.putPart(k, id, 2, text('an earlier, longer last part'));
      await store.putPart(k, id, 2, text('the last part'));
      await store.completeUpload(k, id, 2);
      sameBytes(await store.get(k), concat(first, text('the last part')), 'completed object');
    });

    it('completes an upload of a single small part', async () => {
      const k = key('upload');
      const id = await store.startUpload(k);
      await store.putPart(k, id, 1, text('small'));
      await store.completeUpload(k, id, 1);
      sameBytes(await store.get(k), text('small'), 'completed object');
    });

    it('never shows an upload not completed, and lists it as pending', async () => {
      const k = key('pending');
      await store.put(k, text('the old object'));
      const before = h.clock.now();
      const id = await store.startUpload(k);
      await store.putPart(k, id, 1, text('new bytes'));
      sameBytes(await store.get(k), text('the old object'), 'object during the upload');
      const fresh = key('pending');
      const freshId = await store.startUpload(fresh);
      await store.putPart(fresh, freshId, 1, text('never completed'));
      assert.equal(await store.get(fresh), undefined);
      assert.equal(await store.head(fresh), undefined);
      assert.deepEqual((await listed(fresh)).map((i) => i.key), []);
      const pending = await store.listUploads(fresh);
      assert.deepEqual(pending.map((u) => [u.key, u.uploadId]), [[fresh, freshId]]);
      closeToNow(pending[0]!.startedAt, before, 'startedAt');
      assert.deepEqual(await pendingIds(k), [id]);
    });

    it('drops an aborted upload: not pending, not completable, not readable', async () => {
      const k = key('abort');
      const id = await store.startUpload(k);
      await store.putPart(k, id, 1, text('aborted bytes'));
      await store.abortUpload(k, id);
      assert.deepEqual(await pendingIds(k), []);
      await assert.rejects(store.completeUpload(k, id, 1), { name: 'BlobStoreError', code: 'unknown_upload' });
      assert.equal(await store.get(k), undefined);
      await store.abortUpload(k, id);
    });

    it('refuses to complete an upload it never started', async () => {
      const [k, otherKey] = [key('unknown'), key('unknown')];
      const other = await store.startUpload(otherKey);
      await store.putPart(otherKey, other, 1, text('for another key'));
      await assert.rejects(store.completeUpload(k, other, 1), { name: 'BlobStoreError', code: 'unknown_upload' });
      assert.equal(await store.get(k), undefined);
      await store.abortUpload(otherKey, other);
    });

    it('refuses to complete an upload with a part missing, and shows nothing', async () => {
      const k = key('gap');
      const id = await store.startUpload(k);
      await store.putPart(k, id, 1, text('only the first part'));
      await assert.rejects(store.completeUpload(k, id, 2), { name: 'BlobStoreError', code: 'bad_part' });
      assert.equal(await store.get(k), undefined);
      await store.abortUpload(k, id);
      assert.deepEqual(await pendingIds(k), []);
    });
  });
}
