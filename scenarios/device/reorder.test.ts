import assert from 'node:assert/strict';
import { VirtualClock } from '../../system/clock/clock-virtual.ts';
import { DeliverFlags, ReorderBuffer, type Incoming } from './reorder.ts';

const opts = { waitMs: 1000, maxHeldPerConversation: 8, maxSkippedRanges: 4 };

function setup(): { clock: VirtualClock; buf: ReorderBuffer; shown: [string, number, number][]; msg: (conv: string, seq: number) => Incoming } {
  const clock = new VirtualClock();
  const shown: [string, number, number][] = [];
  const buf = new ReorderBuffer(opts, clock, (m, flags) => shown.push([m.conv, m.seq, flags]));
  const msg = (conv: string, seq: number): Incoming => ({ mid: `${conv}/${seq}`, conv, seq, from: 'x.1', msgKey: undefined, arrivedMs: clock.now(), drained: false, pushWoken: false });
  return { clock, buf, shown, msg };
}

describe('ReorderBuffer memory', () => {
  it('keeps idle conversations as a number each, however many there are', () => {
    const { buf, shown, msg } = setup();
    for (let i = 0; i < 1000; i++) {
      buf.offer(msg(`d:a:u${i}`, 1));
      buf.markOwn(`d:a:u${i}`, 2);
    }
    assert.equal(shown.length, 1000);
    assert.equal(buf.conversations, 1000);
    assert.equal(buf.expanded, 0);
  });

  it('resumes a compacted conversation at its next seq, holding a gap until it fills', () => {
    const { buf, shown, msg } = setup();
    buf.offer(msg('c', 1));
    buf.offer(msg('c', 2));
    assert.equal(buf.expanded, 0);
    buf.offer(msg('c', 4));
    assert.equal(buf.expanded, 1);
    assert.equal(buf.held, 1);
    buf.markOwn('c', 1); // behind next: ignored without expanding anything
    buf.offer(msg('c', 3));
    assert.deepEqual(shown.map(([, seq]) => seq), [1, 2, 3, 4]);
    assert.equal(buf.expanded, 0);
    buf.offer(msg('c', 2)); // a seq already shown, never skipped
    assert.deepEqual(shown.at(-1), ['c', 2, DeliverFlags.DUP_VISIBLE]);
  });

  it('stays expanded while it remembers a skipped gap, so a late arrival is still recognised', () => {
    const { clock, buf, shown, msg } = setup();
    buf.offer(msg('c', 1));
    buf.offer(msg('c', 3));
    clock.advance(opts.waitMs);
    assert.deepEqual(shown.at(-1), ['c', 3, DeliverFlags.GAP_SKIPPED]);
    assert.equal(buf.expanded, 1);
    buf.offer(msg('c', 2));
    assert.deepEqual(shown.at(-1), ['c', 2, DeliverFlags.OUT_OF_ORDER]);
  });

  it('does not wait for own seqs ahead after compaction', () => {
    const { buf, shown, msg } = setup();
    buf.offer(msg('c', 1));
    buf.markOwn('c', 2);
    buf.offer(msg('c', 3));
    assert.deepEqual(shown.map(([, seq, f]) => [seq, f]), [[1, 0], [3, 0]]);
    assert.equal(buf.expanded, 0);
  });
});
