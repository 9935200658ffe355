import assert from 'node:assert/strict';
import { type Harness, unique, waitFor } from '../testing/harness.ts';
import type { Bus } from './bus.ts';
import type { Envelope, TypingEnvelope } from './envelope.ts';

export interface BusHarness extends Harness {
  bus: Bus;
  /** Another handle on the same bus, as a second node process would hold (memory: the same instance). */
  peer(): Promise<Bus>;
}

/** Conformance suite: every Bus adapter must pass it, in virtual or real time. */
export function runBusSuite(name: string, make: () => Promise<BusHarness>): void {
  describe(`Bus (${name})`, () => {
    let h: BusHarness;
    const node = () => unique(h, 'n');
    const typing = (frame: string): TypingEnvelope => ({ k: 'typing', devices: ['a.1'], frame });
    const frames = (got: Envelope[]) => got.map((e) => (e as TypingEnvelope).frame);

    beforeEach(async () => {
      h = await make();
    });
    afterEach(async () => {
      await h.close();
    });

    it('delivers an envelope to the node it is addressed to', async () => {
      const n = node();
      const got: Envelope[] = [];
      await h.bus.subscribe(n, (e) => got.push(e));
      await (await h.peer()).publish(n, typing('hello'));
      await waitFor(() => got.length === 1, 'the envelope');
      assert.deepEqual(got, [typing('hello')]);
    });

    it('carries every kind of envelope intact', async () => {
      const n = node();
      const sent: Envelope[] = [
        {
          k: 'deliver',
          devices: ['b.1', 'b.2'],
          item: { id: '0001a', kind: 'msg', frame: '{"t":"msg"}', from: 'a.1', conv: 'd:a:b', seq: 7 },
        },
        { k: 'deliver', devices: ['a.1'], item: { id: '0001b', kind: 'receipt', frame: '{"t":"rcpt"}' } },
        { k: 'group', group: 'g1', seq: 3, mid: '0001c', from: 'a.1', frame: 'ünïcødé ✓ "quoted"' },
        { k: 'typing', devices: ['b.1'], frame: 't' },
        { k: 'presence', devices: ['b.1'], frame: 'p' },
        { k: 'story', devices: ['b.1'], frame: 's' },
        { k: 'call', devices: ['b.1', 'b.2'], frame: '{"t":"call.offer"}', until: 1767225645000, push: true },
        { k: 'call', devices: ['a.1'], frame: '{"t":"call.hangup"}' },
        { k: 'kick', device: 'a.1', newNode: 'n2' },
        { k: 'membership', group: 'g1', added: ['c'], removed: [] },
      ];
      const got: Envelope[] = [];
      await h.bus.subscribe(n, (e) => got.push(e));
      for (const e of sent) await h.bus.publish(n, e);
      await waitFor(() => got.length === sent.length, 'every envelope');
      assert.deepEqual(got, sent);
    });

    it('never runs a handler inside publish', async () => {
      const n = node();
      let delivered = false;
      await h.bus.subscribe(n, () => (delivered = true));
      const published = h.bus.publish(n, typing('x'));
      assert.equal(delivered, false);
      await published;
      await waitFor(() => delivered, 'the envelope');
    });

    it('keeps the order of one publisher towards one subscriber', async () => {
      const n = node();
      const got: Envelope[] = [];
      await h.bus.subscribe(n, (e) => got.push(e));
      const publisher = await h.peer();
      const want = Array.from({ length: 200 }, (_, i) => `m${i}`);
      await Promise.all(want.map((f) => publisher.publish(n, typing(f))));
      await waitFor(() => got.length === want.length, 'all envelopes');
      assert.deepEqual(frames(got), want);
    });

    it('keeps each publisher in order when two publish to the same node', async () => {
      const n = node();
      const got: Envelope[] = [];
      await h.bus.subscribe(n, (e) => got.push(e));
      const [p1, p2] = [h.bus, await h.peer()];
      const sends: Promise<void>[] = [];
      for (let i = 0; i < 100; i++) sends.push(p1.publish(n, typing(`a${i}`)), p2.publish(n, typing(`b${i}`)));
      await Promise.all(sends);
      await waitFor(() => got.length === 200, 'all envelopes');
      const from = (p: string) => frames(got).filter((f) => f.startsWith(p));
      assert.deepEqual(from('a'), Array.from({ length: 100 }, (_, i) => `a${i}`));
      assert.deepEqual(from('b'), Array.from({ length: 100 }, (_, i) => `b${i}`));
    });

    it('delivers only to the addressed node', async () => {
      const [n1, n2] = [node(), node()];
      const got1: Envelope[] = [];
      const got2: Envelope[] = [];
      await h.bus.subscribe(n1, (e) => got1.push(e));
      await h.bus.subscribe(n2, (e) => got2.push(e));
      await h.bus.publish(n1, typing('for-1'));
      await h.bus.publish(n2, typing('for-2'));
      await waitFor(() => got1.length === 1 && got2.length === 1, 'both envelopes');
      assert.deepEqual(frames(got1), ['for-1']);
      assert.deepEqual(frames(got2), ['for-2']);
    });

    it('drops an envelope for a node nobody subscribed to, without failing', async () => {
      const n = node();
      await h.bus.publish(n, typing('lost'));
      const got: Envelope[] = [];
      await h.bus.subscribe(n, (e) => got.push(e));
      await h.bus.publish(n, typing('kept'));
      await waitFor(() => got.length >= 1, 'the later envelope');
      assert.deepEqual(frames(got), ['kept']);
    });

    it('stops delivering to a handler once it unsubscribed', async () => {
      const n = node();
      const before: Envelope[] = [];
      const unsubscribe = await h.bus.subscribe(n, (e) => before.push(e));
      await h.bus.publish(n, typing('one'));
      await waitFor(() => before.length === 1, 'the first envelope');
      await unsubscribe();
      await h.bus.publish(n, typing('dropped'));
      const after: Envelope[] = [];
      await h.bus.subscribe(n, (e) => after.push(e));
      await h.bus.publish(n, typing('two'));
      await waitFor(() => after.length >= 1, 'the envelope after resubscribing');
      assert.deepEqual(frames(before), ['one']);
      assert.deepEqual(frames(after), ['two']);
    });

    it('keeps other nodes subscribed when one node unsubscribes', async () => {
      const [n1, n2] = [node(), node()];
      const got: Envelope[] = [];
      const off = await h.bus.subscribe(n1, () => {});
      await h.bus.subscribe(n2, (e) => got.push(e));
      await off();
      await h.bus.publish(n2, typing('still'));
      await waitFor(() => got.length === 1, 'the envelope');
    });
  });
}
