import assert from 'node:assert/strict';
import { FaultSwitch } from '../faults/port-faults.ts';
import { virtualHarness } from '../testing/harness.ts';
import { MemoryStories } from './stories-memory.ts';
import { runStoriesSuite } from './stories.suite.ts';
import type { Story } from './stories.ts';

runStoriesSuite('memory', async () => {
  const h = virtualHarness();
  const stories = new MemoryStories({ clock: h.clock, maxLive: 5 });
  return { ...h, stories, maxLive: 5, peer: async () => stories };
});

describe('MemoryStories', () => {
  const story = (sid: string, at: number, ttlMs: number): Story =>
    ({ sid, user: `u${sid}`, device: `u${sid}.1`, at, expiresAt: at + ttlMs, audience: null, body: 'b' });

  it('holds only the stories alive (and those expired since the last call), whatever the mix of lifetimes', async () => {
    const h = virtualHarness();
    const stories = new MemoryStories({ clock: h.clock });
    for (let i = 0; i < 1000; i++) await stories.post(story(`s${i}`, h.clock.now(), i % 2 === 0 ? 100 : 10_000));
    await h.advance(150);
    await stories.list('nobody', 'nobody', h.clock.now());
    assert.equal(stories.size, 500, 'the short-lived half is gone');
    await h.advance(10_000);
    await stories.post(story('last', h.clock.now(), 100));
    assert.equal(stories.size, 1);
  });

  it('stores nothing when an armed post fails', async () => {
    const h = virtualHarness();
    const faults = new FaultSwitch();
    const stories = new MemoryStories({ clock: h.clock, faults });
    faults.failNext('post');
    await assert.rejects(stories.post(story('s1', h.clock.now(), 100)), { code: 'unavailable' });
    assert.equal(stories.size, 0);
  });
});
