import assert from 'node:assert/strict';
import { VirtualClock } from './clock-virtual.ts';

describe('VirtualClock', () => {
  it('fires timers in due order, ties in the order they were set', () => {
    const c = new VirtualClock(0);
    const fired: string[] = [];
    c.setTimeout(() => fired.push('b@5'), 5);
    c.setTimeout(() => fired.push('a@1'), 1);
    c.setTimeout(() => fired.push('c@5'), 5);
    c.setTimeout(() => fired.push('d@0'), 0);
    c.advance(10);
    assert.deepEqual(fired, ['d@0', 'a@1', 'b@5', 'c@5']);
    assert.equal(c.now(), 10);
  });

  it('takes a cleared timer out of the queue at once and never fires it', () => {
    const c = new VirtualClock(0);
    const fired: number[] = [];
    const handles = Array.from({ length: 100 }, (_, i) => c.setTimeout(() => fired.push(i), 1000 + (i % 7)));
    for (let i = 0; i < 100; i += 2) c.clear(handles[i]!);
    assert.equal(c.pending, 50);
    c.advance(2000);
    const odd = Array.from({ length: 50 }, (_, k) => 2 * k + 1).sort((a, b) => (a % 7) - (b % 7) || a - b);
    assert.deepEqual(fired, odd);
    assert.equal(c.pending, 0);
  });

  it('matches a sorted reference under random set, clear and advance', () => {
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    for (let trial = 0; trial < 50; trial++) {
      const c = new VirtualClock(0);
      const fired: number[] = [];
      const all: { id: number; due: number; handle: object; cleared: boolean }[] = [];
      for (let k = 0; k < 300; k++) {
        const r = rnd();
        if (r < 0.6) {
          const due = c.now() + Math.floor(rnd() * 50);
          all.push({ id: k, due, handle: c.setTimeout(() => fired.push(k), due - c.now()), cleared: false });
        } else if (r < 0.85 && all.length > 0) {
          const t = all[Math.floor(rnd() * all.length)]!;
          if (!fired.includes(t.id)) t.cleared = true;
          c.clear(t.handle);
        } else c.advance(Math.floor(rnd() * 5));
      }
      c.advance(1000);
      const expected = all.filter((t) => !t.cleared).sort((a, b) => a.due - b.due || a.id - b.id).map((t) => t.id);
      assert.deepEqual(fired, expected);
      assert.equal(c.pending, 0);
    }
  });

  it('keeps an interval running until it clears itself', () => {
    const c = new VirtualClock(0);
    let n = 0;
    const h = c.setInterval(() => {
      if (++n === 3) c.clear(h);
    }, 10);
    c.advance(100);
    assert.equal(n, 3);
    assert.equal(c.pending, 0);
  });
});
