import assert from 'node:assert/strict';
import { unique, wallHarness } from '../testing/harness.ts';
import { scratchDir } from '../worlds/infra/provisioning.ts';
import { type SeaweedServer, startSeaweed } from '../worlds/infra/seaweedfs-server.ts';
import { S3BlobStore, type S3BlobStoreOptions } from './blob-store-s3.ts';
import { runBlobStoreSuite } from './blob-store.suite.ts';

// One SeaweedFS (provisioned by scripts/provision.sh) for the whole file, one
// bucket per run; the suite's keys are unique, so tests share the bucket.
describe('S3BlobStore on a real SeaweedFS', function () {
  this.timeout(240_000);
  let seaweed: SeaweedServer;
  const bucket = `chatlab-test-${Date.now().toString(36)}-${process.pid}`;
  const open = (more: Partial<S3BlobStoreOptions> = {}) => S3BlobStore.open({ endpoint: seaweed.url, bucket, ...more });
  const text = (s: string) => new TextEncoder().encode(s);

  before(async () => {
    const started = performance.now();
    seaweed = await startSeaweed({ dir: scratchDir('seaweedfs') });
    console.log(`      seaweedfs ready in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  });

  after(async () => {
    await seaweed?.stop();
  });

  runBlobStoreSuite('s3 on seaweedfs', async () => {
    const store = await open();
    return { ...wallHarness(), store, close: () => store.close() };
  });

  describe('S3BlobStore', () => {
    const h = wallHarness();

    it('lists a prefix across many pages', async () => {
      const store = await open({ listPageSize: 2 });
      try {
        const prefix = `${unique(h, 'pages')}/`;
        const keys = ['e', 'a', 'd', 'b', 'c'].map((k) => prefix + k);
        for (const k of keys) await store.put(k, text(k));
        const got: string[] = [];
        for await (const info of store.list(prefix)) got.push(info.key);
        assert.deepEqual(got, [...keys].sort());
      } finally {
        await store.close();
      }
    });

    it('completes an upload whose parts another process sent, asking the server for their ETags', async () => {
      const [a, b] = [await open(), await open()];
      try {
        const k = unique(h, 'handover');
        const id = await a.startUpload(k, { kind: 'doc' });
        await a.putPart(k, id, 1, text('sent by a'));
        await b.completeUpload(k, id, 1);
        assert.deepEqual(await a.get(k), text('sent by a'));
        assert.deepEqual((await a.head(k))?.meta, { kind: 'doc' });
      } finally {
        await a.close();
        await b.close();
      }
    });

    it('opens a missing bucket only when allowed to create it', async () => {
      const fresh = `${bucket}-fresh`;
      await assert.rejects(open({ bucket: fresh, createBucket: false }), { name: 'BlobStoreError', code: 'unavailable' });
      const store = await open({ bucket: fresh });
      await store.put('k', text('v'));
      await store.close();
      const again = await open({ bucket: fresh, createBucket: false });
      assert.deepEqual(await again.get('k'), text('v'));
      await again.close();
    });

    it('fails a call while the server is paused with unavailable, in seconds, and works once it resumes', async () => {
      const store = await open({ requestTimeoutMs: 1000, maxAttempts: 2 });
      const k = unique(h, 'paused');
      try {
        await store.put(k, text('before the pause'));
        await seaweed.kill('SIGSTOP');
        const started = performance.now();
        try {
          await assert.rejects(store.get(k), { name: 'BlobStoreError', code: 'unavailable' });
        } finally {
          await seaweed.kill('SIGCONT');
        }
        const tookMs = performance.now() - started;
        assert.ok(tookMs < 8000, `took ${tookMs} ms`);
        assert.deepEqual(await store.get(k), text('before the pause'));
      } finally {
        await store.close();
      }
    });

    // Last: the server is gone afterwards.
    it('fails a call with unavailable once the server has crashed', async () => {
      const store = await open({ requestTimeoutMs: 1000, maxAttempts: 2 });
      try {
        await seaweed.kill();
        const started = performance.now();
        await assert.rejects(store.put(unique(h, 'gone'), text('x')), { name: 'BlobStoreError', code: 'unavailable' });
        await assert.rejects(store.listUploads(''), { name: 'BlobStoreError', code: 'unavailable' });
        assert.ok(performance.now() - started < 8000);
      } finally {
        await store.close();
      }
    });
  });
});
