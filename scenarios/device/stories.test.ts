import assert from 'node:assert/strict';
import { harness } from './device-harness.ts';
import type { DeviceStories } from './stories.ts';

/** Records what the device told its DeviceStories. */
function hooks() {
  const calls: string[] = [];
  const stories: DeviceStories = {
    posted: (d, ms) => void calls.push(`posted ${d} ${ms}`),
    listed: (d, ms, n) => void calls.push(`listed ${d} ${ms} ${n}`),
    viewed: (d) => void calls.push(`viewed ${d}`),
    viewReceipt: (d, at, now) => void calls.push(`receipt ${d} ${now - at}`),
    failed: (d, code) => void calls.push(`failed ${d} ${code}`),
  };
  return { calls, stories };
}

describe('VirtualDevice stories', () => {
  it('posts a story and times its answer', () => {
    const { calls, stories } = hooks();
    const h = harness({ stories });
    h.online();
    h.dev.postStory('new year!', ['u2', 'u3']);
    const [post] = h.io.sent('story.post');
    assert.deepEqual({ ...post, cid: undefined }, { t: 'story.post', cid: undefined, body: 'new year!', audience: ['u2', 'u3'] });
    h.clock.advance(7);
    h.frame({ t: 'story.posted', cid: post!.cid, sid: 's1', expiresAt: h.clock.now() + 86_400_000 });
    assert.deepEqual(calls, ['posted u1.1 7']);
  });

  it('lists its contacts\' stories, views each new one once (never its own), and follows a long answer\'s `more`', () => {
    const { calls, stories } = hooks();
    const h = harness({ stories });
    h.online();
    h.dev.viewStories(['u2', 'u3']);
    const [list] = h.io.sent('story.list');
    assert.deepEqual(list!.users, ['u2', 'u3']);
    const story = (sid: string, user: string) => ({ sid, user, at: 0, expiresAt: 1, body: 'x' });
    h.clock.advance(3);
    h.frame({ t: 'story.list', cid: list!.cid, stories: [story('a', 'u2'), story('b', 'u3'), story('c', 'u1')], more: { users: ['u3'], after: 'b' } });
    assert.deepEqual(h.io.sent('story.view').map((f) => f.sid), ['a', 'b']);
    const next = h.io.sent('story.list')[1]!;
    assert.deepEqual([next.users, next.after], [['u3'], 'b']);
    h.frame({ t: 'story.list', cid: next.cid, stories: [story('b', 'u3')] });
    assert.equal(h.io.sent('story.view').length, 2, 'a story already viewed is not viewed again');
    assert.deepEqual(calls, ['listed u1.1 3 3', 'viewed u1.1', 'viewed u1.1', 'listed u1.1 0 1']);
  });

  it('hears its stories\' views, and counts refusals and what it could not send', () => {
    const { calls, stories } = hooks();
    const h = harness({ stories });
    h.dev.postStory('offline', undefined);
    h.online();
    h.clock.advance(10);
    h.frame({ t: 'story.viewed', sid: 's1', by: 'u2', at: h.clock.now() - 4 });
    h.dev.viewStories(['u2']);
    const [list] = h.io.sent('story.list');
    h.frame({ t: 'story.list', cid: list!.cid, stories: [{ sid: 'old', user: 'u2', at: 0, expiresAt: 1, body: 'x' }] });
    const [view] = h.io.sent('story.view');
    h.frame({ t: 'error', code: 'story_expired', message: 'expired', cid: view!.cid, retryable: false });
    assert.deepEqual(calls, ['failed u1.1 offline', 'receipt u1.1 4', 'listed u1.1 0 1', 'viewed u1.1', 'failed u1.1 story_expired']);
    assert.equal(h.rec.of('onError').length, 0, 'a story refusal is not a message error');
  });
});
