import assert from 'node:assert/strict';
import { VirtualClock } from '../clock/clock-virtual.ts';
import { Snowflake } from './snowflake.ts';

describe('Snowflake', () => {
  it('gives fixed-width ids that strictly increase, within a millisecond and across them', () => {
    const clock = new VirtualClock();
    const ids = new Snowflake(clock, 7);
    const seen: string[] = [];
    for (let i = 0; i < 70_000; i++) {
      seen.push(ids.next());
      if (i % 1000 === 0) clock.advance(1);
    }
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i - 1]! < seen[i]!, `${seen[i - 1]} < ${seen[i]}`);
    assert.ok(seen.every((id) => id.length === 18));
    assert.equal(Snowflake.nodeOf(seen[0]!), 7);
  });

  it('keeps increasing when the clock steps back', () => {
    const clock = { now: () => t, setTimeout: () => ({}), setInterval: () => ({}), clear: () => {} };
    let t = Date.UTC(2026, 0, 1, 12);
    const ids = new Snowflake(clock, 1);
    const a = ids.next();
    t -= 5000;
    const b = ids.next();
    assert.ok(a < b);
    assert.equal(Snowflake.timeOf(b), Snowflake.timeOf(a));
  });
});
