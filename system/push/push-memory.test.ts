import assert from 'node:assert/strict';
import { FaultSwitch } from '../faults/port-faults.ts';
import { flush, virtualHarness } from '../testing/harness.ts';
import { MemoryPush } from './push-memory.ts';
import { runPushSuite } from './push.suite.ts';

runPushSuite('memory', async () => {
  const push = new MemoryPush();
  return { ...virtualHarness(), push, subscribe: (s) => push.onWake(s) };
});

describe('MemoryPush', () => {
  it('counts wake-ups in total and per device', async () => {
    const push = new MemoryPush();
    await push.wake('a.1', 'msg');
    await push.wake('a.1', 'receipt');
    await push.wake('b.1', 'msg');
    assert.equal(push.stats.wakes, 3);
    assert.equal(push.wakesOf('a.1'), 2);
    assert.equal(push.wakesOf('c.1'), 0);
  });

  it('never calls a subscriber inside wake', async () => {
    const push = new MemoryPush();
    let called = false;
    push.onWake(() => (called = true));
    const woke = push.wake('a.1', 'msg');
    assert.equal(called, false);
    await woke;
    await flush();
    assert.equal(called, true);
  });

  it('wakes every registered subscriber', async () => {
    const push = new MemoryPush();
    const got: string[] = [];
    const sub = (d: string) => got.push(d);
    push.onWake(sub);
    push.onWake(sub);
    await push.wake('a.1', 'msg');
    await flush();
    assert.deepEqual(got, ['a.1', 'a.1']);
  });

  it('rejects an armed wake and silently loses an armed drop', async () => {
    const faults = new FaultSwitch();
    const push = new MemoryPush({ faults });
    const got: string[] = [];
    push.onWake((d) => got.push(d));
    faults.failNext('wake');
    await assert.rejects(push.wake('a.1', 'msg'), { code: 'unavailable' });
    faults.dropNext('wake');
    await push.wake('b.1', 'msg');
    await push.wake('c.1', 'msg');
    await flush();
    assert.deepEqual(got, ['c.1']);
    assert.deepEqual(push.stats, { wakes: 2, dropped: 1 });
  });
});
