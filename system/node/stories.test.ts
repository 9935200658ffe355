import assert from 'node:assert/strict';
import type { ServerFrame } from '../protocol/frames.ts';
import { coreCluster } from '../testing/node-harness.ts';
import type { ChatNodeOptions } from './options.ts';

type Err = Extract<ServerFrame, { t: 'error' }>;
type Posted = Extract<ServerFrame, { t: 'story.posted' }>;

const ttlMs = 60_000;

/** A cluster with a short story lifetime and `devices` connected on node 0, by device id. */
async function setup(devices: string[], opts: Partial<ChatNodeOptions> = {}, nodes = 1) {
  const c = await coreCluster(nodes, { storyTtlMs: ttlMs, ...opts });
  const on: Record<string, number> = {};
  for (const d of devices) on[d] = await c.connect(d);
  const t = c.nodes[0]!.transport;
  /** Posts as `device` and returns the answer. */
  const post = async (device: string, frame: object = {}): Promise<Posted> => {
    await c.frame(on[device]!, { t: 'story.post', cid: `p${Math.random()}`, body: 'hello', ...frame });
    const posted = t.take(on[device]!, 'story.posted').at(-1);
    assert.ok(posted, `posted: ${JSON.stringify(t.of(on[device]!).at(-1))}`);
    return posted;
  };
  /** Lists `users` as `device` and returns the answer's stories. */
  const list = async (device: string, users: string[]) => {
    await c.frame(on[device]!, { t: 'story.list', cid: 'l', users });
    return t.take(on[device]!, 'story.list').at(-1)!.stories;
  };
  const errors = (device: string) => t.take(on[device]!, 'error') as Err[];
  return { c, on, t, post, list, errors };
}

describe('Stories on the node (core, virtual time)', () => {
  it('shows a story to a contact in its audience and not to a user outside it', async () => {
    const { c, post, list } = await setup(['alice.1', 'bob.1', 'carol.1']);
    const at = c.clock.now();
    const posted = await post('alice.1', { body: '{"media":"m-1"}', audience: ['bob'] });
    assert.match(posted.sid, /^[0-9a-f]{29}$/);
    assert.equal(posted.expiresAt, at + ttlMs);
    assert.deepEqual(await list('bob.1', ['alice']), [{ sid: posted.sid, user: 'alice', at, expiresAt: at + ttlMs, body: '{"media":"m-1"}' }]);
    assert.deepEqual(await list('carol.1', ['alice']), []);
    assert.equal((await list('alice.1', ['alice'])).length, 1, 'the poster sees their own');
  });

  it('shows a story without an audience to anyone, user by user as named, oldest first', async () => {
    const { post, list } = await setup(['alice.1', 'bob.1', 'carol.1']);
    const a1 = await post('alice.1');
    const b1 = await post('bob.1');
    const a2 = await post('alice.1');
    const got = await list('carol.1', ['bob', 'alice', 'nobody', 'bob']);
    assert.deepEqual(got.map((s) => s.sid), [b1.sid, a1.sid, a2.sid]);
  });

  it('expires a story after its lifetime: no longer listed, a view refused story_expired', async () => {
    const { c, t, on, post, list, errors } = await setup(['alice.1', 'bob.1']);
    const posted = await post('alice.1');
    c.clock.advance(ttlMs - 1);
    assert.equal((await list('bob.1', ['alice'])).length, 1, 'alive until its expiry');
    c.clock.advance(1);
    assert.deepEqual(await list('bob.1', ['alice']), []);
    await c.frame(on['bob.1']!, { t: 'story.view', sid: posted.sid, cid: 'v1' });
    await c.frame(on['alice.1']!, { t: 'story.views', sid: posted.sid });
    assert.deepEqual(errors('bob.1').map((e) => [e.code, e.cid, e.retryable]), [['story_expired', 'v1', false]]);
    assert.deepEqual(errors('alice.1').map((e) => e.code), ['story_expired']);
    c.clock.advance(1);
    await c.frame(on['alice.1']!, { t: 'story.list', cid: 'l', users: ['alice'] });
    assert.equal(c.ports.stories.size, 0, 'the store dropped it');
    assert.equal(t.take(on['alice.1']!, 'story.viewed').length, 0);
  });

  it('aggregates view receipts: two viewers count 2, a repeat counts once, and the poster online hears of each first view', async () => {
    const { c, t, on, post } = await setup(['alice.1', 'alice.2', 'bob.1', 'carol.1']);
    const { sid } = await post('alice.1');
    const t0 = c.clock.now();
    await c.frame(on['bob.1']!, { t: 'story.view', sid });
    c.clock.advance(10);
    await c.frame(on['carol.1']!, { t: 'story.view', sid });
    c.clock.advance(10);
    await c.frame(on['bob.1']!, { t: 'story.view', sid });
    await c.frame(on['alice.1']!, { t: 'story.view', sid });
    assert.equal(t.of(on['bob.1']!).filter((f) => f.t !== 'welcome' && f.t !== 'drained').length, 0, 'a view has no answer');
    for (const d of ['alice.1', 'alice.2']) {
      assert.deepEqual(t.take(on[d]!, 'story.viewed'), [{ t: 'story.viewed', sid, by: 'bob', at: t0 }, { t: 'story.viewed', sid, by: 'carol', at: t0 + 10 }], d);
    }
    await c.frame(on['alice.2']!, { t: 'story.views', sid, cid: 'q1' });
    assert.deepEqual(t.take(on['alice.2']!, 'story.views'), [
      { t: 'story.views', sid, count: 2, viewers: [{ user: 'carol', at: t0 + 10 }, { user: 'bob', at: t0 }], cid: 'q1' },
    ]);
  });

  it("tells the poster's devices on another node of a view, and keeps nothing for an offline one", async () => {
    const { c, t, on, post } = await setup(['alice.1', 'bob.1'], {}, 2);
    const { sid } = await post('alice.1');
    const elsewhere = await c.connect('alice.2', 1);
    const offline = await c.connect('alice.3');
    c.nodes[0]!.node.onClose(offline);
    await c.settle();
    await c.frame(on['bob.1']!, { t: 'story.view', sid });
    await c.settle();
    assert.deepEqual(t.take(on['alice.1']!, 'story.viewed').map((f) => f.by), ['bob']);
    assert.deepEqual(c.nodes[1]!.transport.take(elsewhere, 'story.viewed').map((f) => f.by), ['bob'], 'through the bus');
    assert.equal(t.take(offline, 'story.viewed').length, 0);
    assert.equal(await c.ports.inbox.count('alice.3'), 0, 'live only: nothing kept for an offline device');
  });

  it("refuses story.views to anyone but the poster with forbidden, and an unknown story or one out of the viewer's audience with unknown_story", async () => {
    const { on, c, post, errors } = await setup(['alice.1', 'bob.1', 'carol.1']);
    const { sid } = await post('alice.1', { audience: ['bob'] });
    await c.frame(on['bob.1']!, { t: 'story.views', sid, cid: 'q' });
    assert.deepEqual(errors('bob.1').map((e) => [e.code, e.cid]), [['forbidden', 'q']]);
    await c.frame(on['carol.1']!, { t: 'story.view', sid });
    await c.frame(on['carol.1']!, { t: 'story.view', sid: `${sid.slice(0, 11)}${'0'.repeat(18)}` });
    assert.deepEqual(errors('carol.1').map((e) => e.code), ['unknown_story', 'unknown_story']);
    const { stories } = c.ports;
    assert.deepEqual((await stories.views(sid, c.clock.now()))?.count, 0, 'nothing recorded');
  });

  it('answers bad frames with bad_frame (with the cid) and keeps the connection on the first offence', async () => {
    for (const frame of [
      { t: 'story.post', cid: 'b1' },
      { t: 'story.post', cid: 'b1', body: 'hi', audience: 'bob' },
      { t: 'story.post', cid: 'b1', body: 'hi', audience: ['not a user'] },
      { t: 'story.list', cid: 'b1', users: Array.from({ length: 257 }, (_, i) => `u${i}`) },
      { t: 'story.list', cid: 'b1', users: [] },
      { t: 'story.list', cid: 'b1', users: ['bob'], after: 'nope' },
      { t: 'story.view', cid: 'b1', sid: 'abc' },
      { t: 'story.views', cid: 'b1' },
    ]) {
      const { c, t, on, errors } = await setup(['alice.1']);
      await c.frame(on['alice.1']!, frame);
      assert.deepEqual(errors('alice.1').map((e) => [e.code, e.cid]), [['bad_frame', 'b1']], JSON.stringify(frame).slice(0, 80));
      assert.equal(t.closed.has(on['alice.1']!), false);
      await c.frame(on['alice.1']!, { t: 'ping' });
      assert.equal(t.take(on['alice.1']!, 'pong').length, 1, 'still served');
    }
  });

  it('answers a body over 60 KiB with too_large', async () => {
    const { c, on, errors } = await setup(['alice.1']);
    await c.frame(on['alice.1']!, { t: 'story.post', cid: 'big', body: 'x'.repeat(60 * 1024 + 1) });
    assert.deepEqual(errors('alice.1').map((e) => [e.code, e.cid]), [['too_large', 'big']]);
  });

  it('writes one entry per post, however many viewers list it', async () => {
    const viewers = Array.from({ length: 50 }, (_, i) => `v${i}.1`);
    const { c, post, list } = await setup(['alice.1', ...viewers]);
    await post('alice.1');
    for (const v of viewers) assert.equal((await list(v, ['alice'])).length, 1);
    assert.equal(c.ports.stories.size, 1);
  });

  it('pages a long answer: more names what to ask next, and asking it brings the rest once', async () => {
    const { c, t, on, post } = await setup(['alice.1', 'bob.1', 'carol.1'], { storyListMaxBytes: 2500, storyPostsBurst: 20 });
    const body = 'x'.repeat(1000);
    const posted: string[] = [];
    for (let i = 0; i < 3; i++) posted.push((await post('alice.1', { body })).sid);
    for (let i = 0; i < 2; i++) posted.push((await post('bob.1', { body })).sid);
    const pages: string[][] = [];
    const mores: unknown[] = [];
    let ask: object = { t: 'story.list', cid: 'l', users: ['alice', 'bob'] };
    for (let page = 0; page < 10; page++) {
      await c.frame(on['carol.1']!, ask);
      const answer = t.take(on['carol.1']!, 'story.list').at(-1)!;
      pages.push(answer.stories.map((s) => s.sid));
      mores.push(answer.more);
      if (!answer.more) break;
      ask = { t: 'story.list', cid: 'l', ...answer.more };
    }
    assert.deepEqual(pages, [posted.slice(0, 2), posted.slice(2, 4), posted.slice(4)], 'two 1 KB stories fit in 2.5 KB');
    assert.deepEqual(mores, [{ users: ['alice', 'bob'], after: posted[1] }, { users: ['bob'], after: posted[3] }, undefined]);
  });

  it('limits story frames per connection with rate_limited and the cid', async () => {
    const { c, on, errors } = await setup(['alice.1', 'bob.1'], { storyPostsPerSec: 1, storyPostsBurst: 2 });
    for (let i = 0; i < 3; i++) await c.frame(on['alice.1']!, { t: 'story.post', cid: `r${i}`, body: 'hi' });
    const [limited] = errors('alice.1');
    assert.deepEqual([limited?.code, limited?.cid, limited?.retryable], ['rate_limited', 'r2', true]);
    assert.ok(limited!.retryAfterMs! > 0 && limited!.retryAfterMs! <= 1000);
    await c.frame(on['bob.1']!, { t: 'story.post', cid: 'other', body: 'hi' });
    assert.equal(errors('bob.1').length, 0, 'another connection is not limited');
    assert.equal(c.ports.stories.size, 3);
  });

  it('answers a failed store with unavailable and the cid, storing nothing', async () => {
    const { c, on, errors } = await setup(['alice.1']);
    c.faults.stories.failNext('post');
    await c.frame(on['alice.1']!, { t: 'story.post', cid: 'f1', body: 'hi' });
    assert.deepEqual(errors('alice.1').map((e) => [e.code, e.cid, e.retryable]), [['unavailable', 'f1', true]]);
    assert.equal(c.ports.stories.size, 0);
  });
});
