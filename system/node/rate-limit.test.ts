import assert from 'node:assert/strict';
import { VirtualClock } from '../clock/clock-virtual.ts';
import { KeyedLimiter, TokenBucket } from './rate-limit.ts';

describe('TokenBucket', () => {
  it('spends the burst, then says how long until the next token', () => {
    const clock = new VirtualClock();
    const b = new TokenBucket(clock, 2, 3);
    assert.deepEqual([b.take(), b.take(), b.take()], [0, 0, 0]);
    assert.equal(b.take(), 500);
    clock.advance(500);
    assert.equal(b.take(), 0);
  });
});

describe('KeyedLimiter', () => {
  it('limits each key on its own', () => {
    const clock = new VirtualClock();
    const l = new KeyedLimiter(clock, { perSec: 1, burst: 2 }, 100);
    assert.deepEqual([l.take('a'), l.take('a')], [0, 0]);
    assert.ok(l.take('a') > 0);
    assert.equal(l.take('b'), 0, 'another key is not starved');
  });

  it('keeps at most keysMax keys whatever keys a client invents', () => {
    const clock = new VirtualClock();
    const l = new KeyedLimiter(clock, { perSec: 1, burst: 1 }, 50);
    for (let i = 0; i < 10_000; i++) l.take(`k${i}`);
    assert.ok(l.size <= 50, `size ${l.size}`);
  });

  it('forgets refilled keys before a key that is still limited, even an older one', () => {
    const clock = new VirtualClock();
    const l = new KeyedLimiter(clock, { perSec: 0.001, burst: 2 }, 3);
    l.take('hammered');
    l.take('hammered');
    assert.ok(l.take('hammered') > 0);
    l.take('idle1');
    l.take('idle2');
    clock.advance(1_000_000);
    l.take('new1');
    assert.equal(l.take('hammered'), 0, 'one token came back in 1,000 s');
    assert.ok(l.take('hammered') > 0, 'and only one: its bucket was kept, the refilled ones went');
  });
});
