import assert from 'node:assert/strict';
import { type Harness, unique } from '../testing/harness.ts';
import type { Inbox, InboxEntry } from './inbox.ts';

export interface InboxHarness extends Harness {
  inbox: Inbox;
  /** The retention the adapter was built with, if the suite may test it (keep it <= 1500 ms). */
  retentionMs?: number;
}

/** Conformance suite: every Inbox adapter must pass it, in virtual or real time. */
export function runInboxSuite(name: string, make: () => Promise<InboxHarness>): void {
  describe(`Inbox (${name})`, () => {
    let h: InboxHarness;
    let inbox: Inbox;
    const device = () => `${unique(h, 'u')}.1`;
    /** Fixed-width lowercase hex ids, so lexicographic order is numeric order. */
    const id = (n: number) => n.toString(16).padStart(16, '0');
    const entry = (dev: string, n: number): InboxEntry => ({
      device: dev,
      id: id(n),
      kind: 'msg',
      frame: `{"t":"msg","n":${n}}`,
      from: 'alice.1',
      conv: 'd:alice:bob',
      seq: n,
    });
    const ids = (page: InboxEntry[]) => page.map((e) => e.id);
    const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => id(from + i));
    /** Drops undefined fields, so adapters that store nulls and ones that omit fields compare alike. */
    const clean = (e: InboxEntry) => JSON.parse(JSON.stringify(e)) as InboxEntry;
    const fill = (dev: string, from: number, to: number) =>
      inbox.put(Array.from({ length: to - from + 1 }, (_, i) => entry(dev, from + i)));

    beforeEach(async () => {
      h = await make();
      inbox = h.inbox;
    });
    afterEach(async () => {
      await h.close();
    });

    it('keeps entries until the device acks them', async () => {
      const d = device();
      await fill(d, 1, 3);
      assert.equal(await inbox.count(d), 3);
      assert.deepEqual(ids(await inbox.page(d, null, 10)), range(1, 3));
      await inbox.ack(d, [id(1), id(2)]);
      assert.equal(await inbox.count(d), 1);
      assert.deepEqual(ids(await inbox.page(d, null, 10)), [id(3)]);
      await inbox.ack(d, [id(3)]);
      assert.equal(await inbox.count(d), 0);
      assert.deepEqual(await inbox.page(d, null, 10), []);
    });

    it('returns entries with every field intact', async () => {
      const d = device();
      const msg = { ...entry(d, 1), frame: '{"t":"msg","body":"ünïcødé ✓ \\"q\\""}' };
      const receipt: InboxEntry = { device: d, id: id(2), kind: 'receipt', frame: '{"t":"rcpt"}' };
      await inbox.put([msg, receipt]);
      assert.deepEqual((await inbox.page(d, null, 10)).map(clean), [msg, receipt]);
    });

    it('keeps, pages and acks sender-key distributions (kind skdm) among messages and receipts', async () => {
      const d = device();
      const skdm = (n: number): InboxEntry => ({ device: d, id: id(n), kind: 'skdm', frame: `{"t":"skdm","id":"${id(n)}","body":"Ym9i"}`, from: 'alice.1' });
      const receipt: InboxEntry = { device: d, id: id(3), kind: 'receipt', frame: '{"t":"rcpt"}' };
      await inbox.put([skdm(4), entry(d, 1), receipt, skdm(2)]);
      assert.deepEqual((await inbox.page(d, null, 10)).map(clean), [entry(d, 1), skdm(2), receipt, skdm(4)]);
      assert.deepEqual((await inbox.page(d, id(1), 2)).map(clean), [skdm(2), receipt]);
      assert.deepEqual(await inbox.has(d, [id(2), id(4), id(5)]), [true, true, false]);
      await inbox.ack(d, [id(2), id(4)]);
      assert.deepEqual(ids(await inbox.page(d, null, 10)), [id(1), id(3)]);
      assert.equal(await inbox.count(d), 2);
    });

    it('lists entries in ascending id order whatever order they were put in', async () => {
      const d = device();
      for (const n of [5, 1, 4, 2, 3]) await inbox.put([entry(d, n)]);
      await inbox.put([entry(d, 0x10), entry(d, 0x0f)]);
      assert.deepEqual(ids(await inbox.page(d, null, 10)), [...range(1, 5), id(0x0f), id(0x10)]);
    });

    it('keeps one copy when the same entry is put twice', async () => {
      const d = device();
      await fill(d, 1, 2);
      await fill(d, 1, 2);
      await inbox.put([entry(d, 3), entry(d, 3)]);
      assert.equal(await inbox.count(d), 3);
      assert.deepEqual(ids(await inbox.page(d, null, 10)), range(1, 3));
    });

    it('treats an ack of an unknown id as a no-op', async () => {
      const d = device();
      await fill(d, 1, 2);
      await inbox.ack(d, [id(99), id(1), id(1)]);
      await inbox.ack(device(), [id(2)]);
      await inbox.ack(d, []);
      assert.deepEqual(ids(await inbox.page(d, null, 10)), [id(2)]);
    });

    it('can ack entries out of order', async () => {
      const d = device();
      await fill(d, 1, 6);
      await inbox.ack(d, [id(5), id(2), id(3)]);
      assert.deepEqual(ids(await inbox.page(d, null, 10)), [id(1), id(4), id(6)]);
      assert.equal(await inbox.count(d), 3);
    });

    it('returns at most limit entries, the oldest first', async () => {
      const d = device();
      await fill(d, 1, 10);
      assert.deepEqual(ids(await inbox.page(d, null, 4)), range(1, 4));
      assert.deepEqual(ids(await inbox.page(d, null, 1)), [id(1)]);
    });

    it('returns everything left when the limit exceeds it', async () => {
      const d = device();
      await fill(d, 1, 3);
      assert.deepEqual(ids(await inbox.page(d, id(1), 1000)), range(2, 3));
    });

    it('returns nothing for a limit of 0', async () => {
      const d = device();
      await fill(d, 1, 2);
      assert.deepEqual(await inbox.page(d, null, 0), []);
    });

    it('returns only entries after the cursor, even one that is not stored', async () => {
      const d = device();
      for (const n of [2, 4, 6, 8]) await inbox.put([entry(d, n)]);
      assert.deepEqual(ids(await inbox.page(d, id(4), 10)), [id(6), id(8)]);
      assert.deepEqual(ids(await inbox.page(d, id(5), 10)), [id(6), id(8)]);
      assert.deepEqual(ids(await inbox.page(d, id(1), 1)), [id(2)]);
      assert.deepEqual(await inbox.page(d, id(8), 10), []);
      assert.deepEqual(await inbox.page(d, id(99), 10), []);
    });

    it('drains a long inbox page by page without gaps or repeats', async () => {
      const d = device();
      await fill(d, 1, 47);
      const seen: string[] = [];
      for (let after: string | null = null; ; ) {
        const page = await inbox.page(d, after, 10);
        assert.ok(page.length <= 10);
        if (page.length === 0) break;
        seen.push(...ids(page));
        after = page[page.length - 1]!.id;
      }
      assert.deepEqual(seen, range(1, 47));
    });

    it('drains by acking each page, the way a reconnecting device does', async () => {
      const d = device();
      await fill(d, 1, 25);
      const seen: string[] = [];
      for (;;) {
        const page = await inbox.page(d, null, 10);
        if (page.length === 0) break;
        seen.push(...ids(page));
        await inbox.ack(d, ids(page));
      }
      assert.deepEqual(seen, range(1, 25));
      assert.equal(await inbox.count(d), 0);
    });

    it('keeps devices apart, including in one put', async () => {
      const [a, b] = [device(), device()];
      await inbox.put([entry(a, 1), entry(b, 1), entry(a, 2)]);
      assert.deepEqual(ids(await inbox.page(a, null, 10)), range(1, 2));
      assert.deepEqual(ids(await inbox.page(b, null, 10)), [id(1)]);
      await inbox.ack(a, [id(1)]);
      assert.equal(await inbox.count(b), 1);
      assert.equal(await inbox.count(device()), 0);
      assert.deepEqual(await inbox.page(device(), null, 10), []);
    });

    it('tells which ids a device still holds, in the order asked', async () => {
      const [d, other] = [device(), device()];
      await fill(d, 1, 5);
      await inbox.put([entry(other, 9)]);
      await inbox.ack(d, [id(2)]);
      assert.deepEqual(await inbox.has(d, [id(5), id(2), id(9), id(1), id(1)]), [true, false, false, true, true]);
      assert.deepEqual(await inbox.has(device(), [id(1)]), [false]);
      assert.deepEqual(await inbox.has(d, []), []);
    });

    it('answers has for more ids than one statement takes', async () => {
      const d = device();
      await fill(d, 1, 150);
      const asked = range(1, 300);
      const held = await inbox.has(d, asked);
      assert.equal(held.length, 300);
      assert.deepEqual(held, asked.map((_, i) => i < 150));
    });

    it('accepts an empty put', async () => {
      await inbox.put([]);
    });

    it('is not changed by a caller mutating what it put or read', async () => {
      const d = device();
      const e = entry(d, 1);
      await inbox.put([e]);
      e.frame = 'changed';
      (await inbox.page(d, null, 1))[0]!.frame = 'changed too';
      assert.equal((await inbox.page(d, null, 1))[0]!.frame, entry(d, 1).frame);
    });

    it('drops entries the device never acked once the retention ends', async function () {
      if (h.retentionMs === undefined) this.skip();
      const d = device();
      await fill(d, 1, 3);
      assert.equal(await inbox.count(d), 3);
      await h.advance(h.retentionMs! + (h.ttlSlackMs ?? 0) + 100);
      assert.equal(await inbox.count(d), 0);
      assert.deepEqual(await inbox.page(d, null, 10), []);
    });
  });
}
