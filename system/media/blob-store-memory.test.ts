import assert from 'node:assert/strict';
import { virtualHarness } from '../testing/harness.ts';
import { MemoryBlobStore } from './blob-store-memory.ts';
import { runBlobStoreSuite } from './blob-store.suite.ts';

runBlobStoreSuite('memory', async () => {
  const h = virtualHarness();
  const store = new MemoryBlobStore(h.clock);
  return { ...h, store, close: () => store.close() };
});

describe('MemoryBlobStore', () => {
  const bytes = (...values: number[]) => Uint8Array.from(values);

  it('counts puts, gets, deletes and the bytes in and out', async () => {
    const store = new MemoryBlobStore(virtualHarness().clock);
    await store.put('a', bytes(1, 2, 3));
    await store.put('b', bytes(4));
    await store.get('a', { start: 1, end: 3 });
    await store.get('missing');
    await store.delete('b');
    await store.delete('b');
    const id = await store.startUpload('c');
    await store.putPart('c', id, 1, bytes(5, 6));
    await store.completeUpload('c', id, 1);
    await store.get('c');
    assert.deepEqual(store.stats, { puts: 3, gets: 2, deletes: 1, bytesIn: 6, bytesOut: 4 });
    assert.equal(store.size, 2);
  });

  it('stamps objects and uploads with its clock', async () => {
    const h = virtualHarness(1_000_000);
    const store = new MemoryBlobStore(h.clock);
    await store.put('a', bytes(1));
    await h.advance(5000);
    const id = await store.startUpload('b');
    assert.equal((await store.head('a'))?.createdAt, 1_000_000);
    assert.deepEqual(await store.listUploads(''), [{ key: 'b', uploadId: id, startedAt: 1_005_000 }]);
  });

  it('copies bytes in and out, so callers cannot change what it holds', async () => {
    const store = new MemoryBlobStore(virtualHarness().clock);
    const put = bytes(1, 2, 3);
    await store.put('a', put);
    put[0] = 9;
    const got = await store.get('a');
    got![1] = 9;
    assert.deepEqual(await store.get('a'), bytes(1, 2, 3));
  });

  it('loses an object behind the services back, and says whether there was one', async () => {
    const store = new MemoryBlobStore(virtualHarness().clock);
    await store.put('a', bytes(1));
    assert.equal(store.loseBehindTheServicesBack('a'), true);
    assert.equal(store.loseBehindTheServicesBack('a'), false);
    assert.equal(await store.get('a'), undefined);
    assert.equal(store.size, 0);
    assert.equal(store.stats.deletes, 0);
  });

  it('refuses part numbers outside 1..10000', async () => {
    const store = new MemoryBlobStore(virtualHarness().clock);
    const id = await store.startUpload('a');
    for (const part of [0, 10_001, 1.5]) {
      await assert.rejects(store.putPart('a', id, part, bytes(1)), { code: 'bad_part' });
    }
  });
});
