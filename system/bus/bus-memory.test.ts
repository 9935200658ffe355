import assert from 'node:assert/strict';
import { FaultSwitch } from '../faults/port-faults.ts';
import { flush, virtualHarness } from '../testing/harness.ts';
import { MemoryBus } from './bus-memory.ts';
import { runBusSuite } from './bus.suite.ts';
import type { Envelope, TypingEnvelope } from './envelope.ts';

runBusSuite('memory', async () => {
  const bus = new MemoryBus();
  return { ...virtualHarness(), bus, peer: async () => bus, close: () => bus.close() };
});

const typing = (frame: string): TypingEnvelope => ({ k: 'typing', devices: ['a.1'], frame });
const frames = (got: Envelope[]) => got.map((e) => (e as TypingEnvelope).frame);

describe('MemoryBus', () => {
  it('drops the envelopes its filter rejects and delivers the rest in order', async () => {
    const bus = new MemoryBus();
    const got: Envelope[] = [];
    await bus.subscribe('n1', (e) => got.push(e));
    bus.setFilter((node, e) => !(node === 'n1' && (e as TypingEnvelope).frame === 'b'));
    for (const f of ['a', 'b', 'c']) await bus.publish('n1', typing(f));
    bus.setFilter(undefined);
    await bus.publish('n1', typing('b'));
    await flush();
    assert.deepEqual(frames(got), ['a', 'c', 'b']);
    assert.deepEqual(bus.stats, { published: 4, delivered: 3, dropped: 1 });
  });

  it('rejects an armed publish and silently loses an armed drop', async () => {
    const faults = new FaultSwitch();
    const bus = new MemoryBus({ faults });
    const got: Envelope[] = [];
    await bus.subscribe('n1', (e) => got.push(e));
    faults.failNext('publish');
    await assert.rejects(bus.publish('n1', typing('a')), { code: 'unavailable' });
    faults.dropNext('publish');
    await bus.publish('n1', typing('b'));
    await bus.publish('n1', typing('c'));
    await flush();
    assert.deepEqual(frames(got), ['c']);
  });

  it('does not deliver an envelope queued before the handler unsubscribed', async () => {
    const bus = new MemoryBus();
    const got: Envelope[] = [];
    const off = await bus.subscribe('n1', (e) => got.push(e));
    const sent = bus.publish('n1', typing('late'));
    const stopped = off();
    await Promise.all([sent, stopped]);
    await flush();
    assert.deepEqual(got, []);
  });

  it('drops publishes beyond the queue limit', async () => {
    const bus = new MemoryBus({ queueMax: 3 });
    const got: Envelope[] = [];
    await bus.subscribe('n1', (e) => got.push(e));
    await Promise.all(['a', 'b', 'c', 'd', 'e'].map((f) => bus.publish('n1', typing(f))));
    await flush();
    assert.deepEqual(frames(got), ['a', 'b', 'c']);
    assert.equal(bus.stats.dropped, 2);
  });

  it('delivers to nobody after close', async () => {
    const bus = new MemoryBus();
    const got: Envelope[] = [];
    await bus.subscribe('n1', (e) => got.push(e));
    const queued = bus.publish('n1', typing('queued'));
    await bus.close();
    await queued;
    await bus.publish('n1', typing('after'));
    await flush();
    assert.deepEqual(got, []);
  });

  it('keeps delivering after a handler throws, reporting the error', async () => {
    const errors: unknown[] = [];
    const bus = new MemoryBus({ onHandlerError: (e) => errors.push(e) });
    const got: Envelope[] = [];
    await bus.subscribe('n1', (e) => {
      if ((e as TypingEnvelope).frame === 'boom') throw new Error('handler bug');
      got.push(e);
    });
    for (const f of ['a', 'boom', 'b']) await bus.publish('n1', typing(f));
    await flush();
    assert.deepEqual(frames(got), ['a', 'b']);
    assert.equal(errors.length, 1);
  });

  it('yields to I/O during a long burst but keeps order', async () => {
    const bus = new MemoryBus();
    const got: number[] = [];
    await bus.subscribe('n1', (e) => got.push(Number((e as TypingEnvelope).frame)));
    const n = 20_000;
    await Promise.all(Array.from({ length: n }, (_, i) => bus.publish('n1', typing(String(i)))));
    for (let i = 0; i < 10 && got.length < n; i++) await flush();
    assert.equal(got.length, n);
    assert.ok(got.every((v, i) => v === i));
  });
});
