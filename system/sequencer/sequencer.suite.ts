import assert from 'node:assert/strict';
import { type Harness, unique } from '../testing/harness.ts';
import type { Sequencer } from './sequencer.ts';

export interface SequencerHarness extends Harness {
  sequencer: Sequencer;
  /** Another handle on the same store, as a second node process would hold. */
  peer(): Promise<Sequencer>;
}

/** Conformance suite: every Sequencer adapter must pass it. */
export function runSequencerSuite(name: string, make: () => Promise<SequencerHarness>): void {
  describe(`Sequencer (${name})`, () => {
    let h: SequencerHarness;
    let s: Sequencer;
    const conv = () => unique(h, 'c');

    beforeEach(async () => {
      h = await make();
      s = h.sequencer;
    });
    afterEach(async () => {
      await h.close();
    });

    it('reports 0 for a conversation that has no numbers yet', async () => {
      assert.equal(await s.current(conv()), 0);
    });

    it('starts a conversation at 1 and counts up', async () => {
      const c = conv();
      assert.deepEqual([await s.next(c), await s.next(c), await s.next(c)], [1, 2, 3]);
      assert.equal(await s.current(c), 3);
    });

    it('does not move the sequence when only reading it', async () => {
      const c = conv();
      await s.next(c);
      await s.current(c);
      await s.current(c);
      assert.equal(await s.next(c), 2);
    });

    it('keeps each conversation on its own sequence', async () => {
      const [a, b] = [conv(), conv()];
      await s.next(a);
      await s.next(a);
      assert.equal(await s.next(b), 1);
      assert.equal(await s.current(a), 2);
      assert.equal(await s.current(b), 1);
    });

    it('gives concurrent callers distinct numbers, each above the ones before', async () => {
      const c = conv();
      const first = await s.next(c);
      const got = await Promise.all(Array.from({ length: 100 }, () => s.next(c)));
      assert.equal(new Set(got).size, got.length, 'no number handed out twice');
      assert.ok(got.every((n) => n > first));
      assert.equal(await s.current(c), Math.max(...got));
    });

    it('continues one sequence across nodes sharing the store', async () => {
      const c = conv();
      const other = await h.peer();
      const seen: number[] = [];
      for (let i = 0; i < 10; i++) seen.push(await (i % 2 ? other : s).next(c));
      for (let i = 1; i < seen.length; i++) assert.ok(seen[i]! > seen[i - 1]!, `${seen}`);
      const mixed = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? other : s).next(c)));
      assert.equal(new Set([...seen, ...mixed]).size, 60);
    });
  });
}
