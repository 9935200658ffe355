import assert from 'node:assert/strict';
import { type Harness, unique } from '../testing/harness.ts';
import type { MessageLog, StoredMessage } from './message-log.ts';

export interface MessageLogHarness extends Harness {
  log: MessageLog;
}

/** Conformance suite: every MessageLog adapter must pass it. */
export function runMessageLogSuite(name: string, make: () => Promise<MessageLogHarness>): void {
  describe(`MessageLog (${name})`, () => {
    let h: MessageLogHarness;
    let log: MessageLog;
    const conv = () => `d:${unique(h, 'a')}:${unique(h, 'b')}`;
    const msg = (c: string, seq: number): StoredMessage => ({
      conv: c,
      seq,
      mid: `m${String(seq).padStart(6, '0')}`,
      from: 'alice.1',
      frame: `{"t":"msg","seq":${seq}}`,
      ts: 1_767_225_600_000 + seq,
    });
    const seqs = (page: StoredMessage[]) => page.map((m) => m.seq);
    const fill = async (c: string, n: number) => {
      for (let s = 1; s <= n; s++) await log.append(msg(c, s));
    };

    beforeEach(async () => {
      h = await make();
      log = h.log;
    });
    afterEach(async () => {
      await h.close();
    });

    it('returns appended messages with every field intact', async () => {
      const c = conv();
      const m = { ...msg(c, 1), frame: '{"t":"msg","body":"ünïcødé ✓ \\"q\\""}', from: 'bob.2' };
      await log.append(m);
      assert.deepEqual(await log.page(c, 0, 10), [m]);
    });

    it('lists messages in ascending seq even when appended out of order', async () => {
      const c = conv();
      for (const s of [3, 1, 5, 2, 4]) await log.append(msg(c, s));
      assert.deepEqual(seqs(await log.page(c, 0, 10)), [1, 2, 3, 4, 5]);
    });

    it('keeps one copy when the same seq is appended twice', async () => {
      const c = conv();
      await log.append(msg(c, 1));
      await log.append(msg(c, 2));
      await log.append(msg(c, 1));
      await log.append(msg(c, 2));
      const page = await log.page(c, 0, 10);
      assert.deepEqual(seqs(page), [1, 2]);
      assert.equal(page[0]!.mid, msg(c, 1).mid);
    });

    it('returns only messages after the given seq', async () => {
      const c = conv();
      await fill(c, 5);
      assert.deepEqual(seqs(await log.page(c, 3, 10)), [4, 5]);
      assert.deepEqual(await log.page(c, 5, 10), []);
      assert.deepEqual(await log.page(c, 99, 10), []);
    });

    it('skips over gaps in the sequence', async () => {
      const c = conv();
      for (const s of [1, 2, 5, 9]) await log.append(msg(c, s));
      assert.deepEqual(seqs(await log.page(c, 2, 10)), [5, 9]);
      assert.deepEqual(seqs(await log.page(c, 3, 1)), [5]);
    });

    it('returns at most limit messages, the oldest first', async () => {
      const c = conv();
      await fill(c, 10);
      assert.deepEqual(seqs(await log.page(c, 0, 3)), [1, 2, 3]);
      assert.deepEqual(seqs(await log.page(c, 0, 1)), [1]);
    });

    it('returns everything left when the limit exceeds it', async () => {
      const c = conv();
      await fill(c, 4);
      assert.deepEqual(seqs(await log.page(c, 1, 1000)), [2, 3, 4]);
    });

    it('returns nothing for a limit of 0', async () => {
      const c = conv();
      await fill(c, 2);
      assert.deepEqual(await log.page(c, 0, 0), []);
    });

    it('walks the whole history page by page without gaps or repeats', async () => {
      const c = conv();
      await fill(c, 23);
      const seen: number[] = [];
      for (let after = 0; ; ) {
        const page = await log.page(c, after, 5);
        assert.ok(page.length <= 5);
        if (page.length === 0) break;
        seen.push(...seqs(page));
        after = page[page.length - 1]!.seq;
      }
      assert.deepEqual(seen, Array.from({ length: 23 }, (_, i) => i + 1));
    });

    it('keeps conversations apart', async () => {
      const [a, b] = [conv(), conv()];
      await fill(a, 3);
      await log.append(msg(b, 1));
      assert.deepEqual(seqs(await log.page(b, 0, 10)), [1]);
      assert.equal((await log.page(a, 0, 10)).every((m) => m.conv === a), true);
      assert.deepEqual(await log.page(conv(), 0, 10), []);
    });

    it('is not changed by a caller mutating what it appended or read', async () => {
      const c = conv();
      const m = msg(c, 1);
      await log.append(m);
      m.frame = 'changed';
      (await log.page(c, 0, 1))[0]!.frame = 'changed too';
      assert.equal((await log.page(c, 0, 1))[0]!.frame, msg(c, 1).frame);
    });

    it('keeps a large group log in order', async () => {
      const c = `g:${unique(h, 'g')}`;
      await Promise.all(Array.from({ length: 300 }, (_, i) => log.append(msg(c, 300 - i))));
      const page = await log.page(c, 100, 50);
      assert.deepEqual(seqs(page), Array.from({ length: 50 }, (_, i) => 101 + i));
    });
  });
}
