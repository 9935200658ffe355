import assert from 'node:assert/strict';
import type { DeliveryItem } from '../bus/envelope.ts';
import { Delivery, pagesByBytes } from './delivery.ts';
import { coreCluster, partContext, settle } from '../testing/node-harness.ts';

const item = (id: string, bytes: number): DeliveryItem => ({ id, kind: 'msg', frame: 'x'.repeat(bytes) });
const sizes = (pages: DeliveryItem[][]) => pages.map((p) => p.map((i) => i.frame.length));

describe('Drain paging (pagesByBytes)', () => {
  it('keeps every page within the byte bound, in order, losing nothing', () => {
    const items = [30, 30, 30, 50, 10, 60, 40, 1].map((n, i) => item(`m${i}`, n));
    const pages = pagesByBytes(items, 100);
    assert.deepEqual(sizes(pages), [[30, 30, 30], [50, 10], [60, 40], [1]]);
    assert.deepEqual(pages.flat().map((i) => i.id), items.map((i) => i.id));
  });

  it('sends an entry larger than the bound alone', () => {
    const pages = pagesByBytes([item('a', 10), item('b', 500), item('c', 10)], 100);
    assert.deepEqual(sizes(pages), [[10], [500], [10]]);
  });

  it('counts UTF-8 bytes, not characters', () => {
    const euro = (id: string): DeliveryItem => ({ id, kind: 'msg', frame: '€'.repeat(20) });
    assert.deepEqual(pagesByBytes([euro('a'), euro('b')], 100).map((p) => p.length), [1, 1]);
  });

  it('makes no page of nothing', () => {
    assert.deepEqual(pagesByBytes([], 100), []);
  });
});

describe('Live unacked window in bytes', () => {
  it('keeps live deliveries beyond the byte window in the inbox until the device acks, then sends them all', async () => {
    const c = await coreCluster(1, { unackedWindowMaxBytes: 100_000, drainPageMaxBytes: 100_000, rateLimitPerSec: 1000, rateLimitBurst: 1000 });
    const a = await c.connect('alice.1');
    const b = await c.connect('bob.1');
    const t = c.nodes[0]!.transport;
    for (let i = 0; i < 10; i++) await c.frame(a, { t: 'send', cid: `w${i}`, to: 'bob', body: 'x'.repeat(30_000) });
    assert.equal(t.take(a, 'ack').length, 10);
    assert.equal(t.take(b, 'msg').length, 3, 'three fit in 100 kB, the rest wait');
    assert.equal(await c.ports.inbox.count('bob.1'), 10);
    for (let round = 0; round < 10 && t.take(b, 'msg').length < 10; round++) {
      const unacked = t.take(b, 'msg').map((m) => m.mid);
      await c.frame(b, { t: 'recv', ids: unacked });
    }
    const got = t.take(b, 'msg');
    assert.deepEqual([...new Set(got.map((m) => m.seq))].sort((x, y) => x - y), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });
});

describe('Delivery on a context of its own', () => {
  const msg = (id: string): DeliveryItem => ({ id, kind: 'msg', frame: JSON.stringify({ t: 'msg', mid: id }), from: 'alice.1', conv: 'd:alice:bob', seq: 1 });
  const mids = (frames: { t: string; mid?: string }[]) => frames.filter((f) => f.t === 'msg').map((f) => f.mid);

  it('sends live deliveries up to the unacked window and leaves the rest for a drain', () => {
    const ctx = partContext({ unackedWindowMax: 2, drainPageSize: 2 });
    const delivery = new Delivery(ctx);
    const bob = ctx.signedIn('bob.1');
    for (const id of ['m1', 'm2', 'm3']) delivery.deliverLocal(['bob.1'], msg(id));
    assert.deepEqual(mids(ctx.of(bob.id)), ['m1', 'm2']);
    assert.equal(bob.unacked.size, 2);
    assert.equal(bob.needsDrain, true);
  });

  it('wakes a device no longer here with a push for a message, not for a receipt, and not once the node is down', () => {
    const ctx = partContext();
    const delivery = new Delivery(ctx);
    delivery.deliverLocal(['gone.1'], msg('m1'), 'msg');
    delivery.deliverLocal(['gone.1'], { id: 'r1', kind: 'receipt', frame: '{}' });
    ctx.isAlive = false;
    delivery.deliverLocal(['gone.1'], msg('m2'), 'msg');
    assert.equal(ctx.ports.push.wakesOf('gone.1'), 1);
    assert.equal(ctx.metrics.pushWakes, 1);
  });

  it('drains the inbox a page at a time, each after the previous one is acked, and counts what it sent', async () => {
    const ctx = partContext({ drainPageSize: 2 });
    const delivery = new Delivery(ctx);
    const bob = ctx.signedIn('bob.1');
    await ctx.ports.inbox.put(['m1', 'm2', 'm3'].map((id) => ({ device: 'bob.1', ...msg(id) })));
    const drained = delivery.drain(bob);
    await settle();
    assert.deepEqual(mids(ctx.of(bob.id)), ['m1', 'm2'], 'the second page waits for the first one\'s acks');
    await delivery.onRecv(bob, ['m1', 'm2']);
    await settle();
    assert.deepEqual(mids(ctx.of(bob.id)), ['m1', 'm2', 'm3']);
    await delivery.onRecv(bob, ['m3']);
    await drained;
    const frames = ctx.of(bob.id);
    assert.deepEqual(mids(frames), ['m1', 'm2', 'm3']);
    assert.deepEqual(frames.at(-1), { t: 'drained', count: 3 });
    assert.equal(await ctx.ports.inbox.count('bob.1'), 0);
  });
});
