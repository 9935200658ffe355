import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FaultSwitch } from '../faults/port-faults.ts';
import { virtualHarness } from '../testing/harness.ts';
import { MemoryInbox } from './inbox-memory.ts';
import { runInboxSuite } from './inbox.suite.ts';
import type { InboxEntry } from './inbox.ts';

runInboxSuite('memory', async () => {
  const h = virtualHarness();
  const retentionMs = 1000;
  return { ...h, inbox: new MemoryInbox({ clock: h.clock, retentionMs }), retentionMs };
});

const id = (n: number) => n.toString(16).padStart(16, '0');
const entry = (device: string, n: number): InboxEntry => ({ device, id: id(n), kind: 'msg', frame: `f${n}` });
const ids = (page: InboxEntry[]) => page.map((e) => e.id);

describe('MemoryInbox', () => {
  it('rejects an armed put and stores none of its entries', async () => {
    const faults = new FaultSwitch();
    const inbox = new MemoryInbox({ clock: virtualHarness().clock, faults });
    faults.failNext('put');
    await assert.rejects(inbox.put([entry('a.1', 1), entry('a.1', 2)]), { code: 'unavailable' });
    assert.equal(await inbox.count('a.1'), 0);
  });

  it('silently loses exactly the armed number of entries on dropNext', async () => {
    const faults = new FaultSwitch();
    const inbox = new MemoryInbox({ clock: virtualHarness().clock, faults });
    faults.dropNext('put');
    await inbox.put([entry('a.1', 1), entry('a.1', 2), entry('b.1', 3)]);
    await inbox.put([entry('a.1', 4)]);
    assert.deepEqual(ids(await inbox.page('a.1', null, 10)), [id(2), id(4)]);
    assert.equal(await inbox.count('b.1'), 1);
  });

  it('keeps entries put later than expired ones until their own retention ends', async () => {
    const h = virtualHarness();
    const inbox = new MemoryInbox({ clock: h.clock, retentionMs: 1000 });
    await inbox.put([entry('a.1', 5), entry('a.1', 6)]);
    await h.advance(600);
    await inbox.put([entry('a.1', 1), entry('a.1', 9)]);
    await h.advance(400);
    assert.deepEqual(ids(await inbox.page('a.1', null, 10)), [id(1), id(9)]);
    await h.advance(600);
    assert.deepEqual(inbox.memoryStats(), { entries: 0, devices: 0, expiryQueue: 0 });
  });

  it('does not let an entry acked and put again expire on its first retention', async () => {
    const h = virtualHarness();
    const inbox = new MemoryInbox({ clock: h.clock, retentionMs: 1000 });
    await inbox.put([entry('a.1', 1)]);
    await inbox.ack('a.1', [id(1)]);
    await h.advance(600);
    await inbox.put([entry('a.1', 1)]);
    await h.advance(600);
    assert.equal(await inbox.count('a.1'), 1);
  });

  it('keeps its expiry queue near the number of entries held when devices ack', async () => {
    const h = virtualHarness();
    const inbox = new MemoryInbox({ clock: h.clock });
    for (let n = 1; n <= 100_000; n++) {
      await inbox.put([entry('a.1', n)]);
      await inbox.ack('a.1', [id(n)]);
    }
    assert.ok(inbox.memoryStats().expiryQueue < 200, JSON.stringify(inbox.memoryStats()));
  });

  it('handles a deep inbox in time independent of its depth', async function () {
    this.timeout(4000); // pages or acks linear in the depth would take far longer
    const inbox = new MemoryInbox({ clock: virtualHarness().clock, retentionMs: Infinity });
    const n = 100_000;
    // Mostly ascending, with neighbours swapped the way two nodes' snowflakes interleave.
    for (let i = 1; i <= n; i += 2) await inbox.put([entry('a.1', i + 1), entry('a.1', i)]);
    for (let i = 0; i < 20_000; i++) {
      const after = (i * 7919) % n;
      assert.equal((await inbox.page('a.1', id(after), 20))[0]!.id, id(after + 1));
    }
    for (let i = 1; i <= n; i += 100) {
      const page = await inbox.page('a.1', null, 100);
      assert.equal(page[0]!.id, id(i));
      await inbox.ack('a.1', ids(page).reverse());
    }
    assert.equal(await inbox.count('a.1'), 0);
  });

  it('behaves like a sorted map under any mix of puts, acks and pages', async () => {
    type Op = { k: 'put'; ns: number[] } | { k: 'ack'; ns: number[] } | { k: 'page'; after: number | null; limit: number };
    const n = fc.integer({ min: 1, max: 300 });
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ k: fc.constant('put' as const), ns: fc.array(n, { maxLength: 40 }) }),
      fc.record({ k: fc.constant('ack' as const), ns: fc.array(n, { maxLength: 40 }) }),
      fc.record({ k: fc.constant('page' as const), after: fc.option(n), limit: fc.integer({ min: 0, max: 50 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 120 }), async (ops) => {
        const inbox = new MemoryInbox({ clock: virtualHarness().clock });
        const model = new Set<number>();
        for (const o of ops) {
          if (o.k === 'put') {
            await inbox.put(o.ns.map((x) => entry('a.1', x)));
            for (const x of o.ns) model.add(x);
          } else if (o.k === 'ack') {
            await inbox.ack('a.1', o.ns.map(id));
            for (const x of o.ns) model.delete(x);
          } else {
            const want = [...model].sort((a, b) => a - b).filter((x) => o.after === null || x > o.after);
            assert.deepEqual(ids(await inbox.page('a.1', o.after === null ? null : id(o.after), o.limit)), want.slice(0, o.limit).map(id));
          }
          assert.equal(await inbox.count('a.1'), model.size);
        }
      }),
      { numRuns: 300 },
    );
  });
});
