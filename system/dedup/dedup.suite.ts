import assert from 'node:assert/strict';
import { type Harness, unique } from '../testing/harness.ts';
import type { Dedup } from './dedup.ts';

export interface DedupHarness extends Harness {
  dedup: Dedup;
  /** Another handle on the same store, as a second node process would hold. */
  peer(): Promise<Dedup>;
}

/** Conformance suite: every Dedup adapter must pass it, in virtual or real time. */
export function runDedupSuite(name: string, make: () => Promise<DedupHarness>): void {
  describe(`Dedup (${name})`, () => {
    let h: DedupHarness;
    let d: Dedup;
    const ttlMs = 800;
    const key = () => unique(h, 'cid');
    const expire = () => h.advance(ttlMs + (h.ttlSlackMs ?? 0) + 100);

    beforeEach(async () => {
      h = await make();
      d = h.dedup;
    });
    afterEach(async () => {
      await h.close();
    });

    it('lets the first claim of a key win', async () => {
      assert.deepEqual(await d.claim(key(), ttlMs), { state: 'claimed' });
    });

    it('answers pending while the first attempt is in flight', async () => {
      const k = key();
      await d.claim(k, ttlMs);
      assert.deepEqual(await d.claim(k, ttlMs), { state: 'pending' });
      assert.deepEqual(await d.claim(k, ttlMs), { state: 'pending' });
    });

    it('answers later claims with the stored result once completed', async () => {
      const k = key();
      await d.claim(k, ttlMs);
      await d.complete(k, '{"t":"sent","mid":"0001"}', ttlMs);
      assert.deepEqual(await d.claim(k, ttlMs), { state: 'done', result: '{"t":"sent","mid":"0001"}' });
      assert.deepEqual(await d.claim(k, ttlMs), { state: 'done', result: '{"t":"sent","mid":"0001"}' });
    });

    it('keeps an empty result as a result', async () => {
      const k = key();
      await d.claim(k, ttlMs);
      await d.complete(k, '', ttlMs);
      assert.deepEqual(await d.claim(k, ttlMs), { state: 'done', result: '' });
    });

    it('lets the next claim win after the winner releases', async () => {
      const k = key();
      await d.claim(k, ttlMs);
      await d.release(k);
      assert.deepEqual(await d.claim(k, ttlMs), { state: 'claimed' });
      assert.deepEqual(await d.claim(k, ttlMs), { state: 'pending' });
    });

    it('treats releasing a key nobody claimed as a no-op', async () => {
      const k = key();
      await d.release(k);
      assert.deepEqual(await d.claim(k, ttlMs), { state: 'claimed' });
    });

    it('keeps keys independent', async () => {
      const [a, b] = [key(), key()];
      await d.claim(a, ttlMs);
      await d.complete(a, 'A', ttlMs);
      assert.deepEqual(await d.claim(b, ttlMs), { state: 'claimed' });
    });

    it('lets exactly one of many concurrent claims win, across nodes', async () => {
      const k = key();
      const other = await h.peer();
      const results = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? other : d).claim(k, ttlMs)));
      assert.equal(results.filter((r) => r.state === 'claimed').length, 1);
      assert.equal(results.filter((r) => r.state === 'pending').length, 39);
    });

    it('shows a completion on one node to claims on another', async () => {
      const k = key();
      const other = await h.peer();
      await d.claim(k, ttlMs);
      await d.complete(k, 'ack', ttlMs);
      assert.deepEqual(await other.claim(k, ttlMs), { state: 'done', result: 'ack' });
    });

    it('frees a pending claim when its TTL ends, so a retry can win', async () => {
      const k = key();
      await d.claim(k, ttlMs);
      await h.advance(ttlMs / 4);
      assert.deepEqual(await d.claim(k, ttlMs), { state: 'pending' }, 'still pending within the TTL');
      await expire();
      assert.deepEqual(await d.claim(k, ttlMs), { state: 'claimed' });
    });

    it('keeps a renewed pending claim past its first TTL, and frees it one TTL after the last renewal', async () => {
      const k = key();
      await d.claim(k, ttlMs);
      for (let i = 0; i < 3; i++) {
        await h.advance(ttlMs / 2);
        await d.renew([k], ttlMs);
      }
      assert.deepEqual(await d.claim(k, ttlMs), { state: 'pending' }, 'held 1.5 TTLs after the claim');
      await expire();
      assert.deepEqual(await d.claim(k, ttlMs), { state: 'claimed' }, 'free once renewals stop');
    });

    it('leaves completed, released and unknown keys alone when renewing', async () => {
      const [done, released, unknown] = [key(), key(), key()];
      await d.claim(done, ttlMs);
      await d.complete(done, 'ack', ttlMs);
      await d.claim(released, ttlMs);
      await d.release(released);
      await d.renew([done, released, unknown], ttlMs * 3);
      assert.deepEqual(await d.claim(done, ttlMs), { state: 'done', result: 'ack' });
      assert.deepEqual(await d.claim(released, ttlMs), { state: 'claimed' });
      assert.deepEqual(await d.claim(unknown, ttlMs), { state: 'claimed' });
      await expire();
      assert.deepEqual(await d.claim(done, ttlMs), { state: 'claimed' }, 'a completed key keeps the TTL of its completion');
    });

    it('forgets a completed result when its TTL ends', async () => {
      const k = key();
      await d.claim(k, ttlMs);
      await d.complete(k, 'ack', ttlMs);
      await h.advance(ttlMs / 4);
      assert.deepEqual(await d.claim(k, ttlMs), { state: 'done', result: 'ack' }, 'kept within the TTL');
      await expire();
      assert.deepEqual(await d.claim(k, ttlMs), { state: 'claimed' });
    });

    it('keeps a completed result for the TTL given at completion, not at claim', async () => {
      const k = key();
      await d.claim(k, ttlMs);
      await d.complete(k, 'ack', ttlMs * 3);
      await expire();
      assert.deepEqual(await d.claim(k, ttlMs), { state: 'done', result: 'ack' });
    });
  });
}
