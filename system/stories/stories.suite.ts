import assert from 'node:assert/strict';
import { type Harness, unique } from '../testing/harness.ts';
import { VIEWERS_LISTED, type Stories, type Story } from './stories.ts';

export interface StoriesHarness extends Harness {
  stories: Stories;
  /** The adapter's `maxLive`. */
  maxLive: number;
  /** Another handle on the same store, as a second node process would hold. */
  peer(): Promise<Stories>;
}

/** Conformance suite: every Stories adapter must pass it, in virtual or real time. */
export function runStoriesSuite(name: string, make: () => Promise<StoriesHarness>): void {
  describe(`Stories (${name})`, () => {
    let h: StoriesHarness;
    let s: Stories;
    let n = 0;
    const ttlMs = 600;
    const user = () => unique(h, 'u');
    /** A fresh sid, in increasing string order within this run. */
    const sid = () => `${Math.floor(h.clock.now()).toString(16).padStart(11, '0')}${(++n).toString(16).padStart(18, '0')}`;
    const story = (poster: string, fields: Partial<Story> = {}): Story => {
      const at = Math.floor(h.clock.now());
      return { sid: sid(), user: poster, device: `${poster}.1`, at, expiresAt: at + ttlMs, audience: null, body: `hello from ${poster}`, ...fields };
    };
    const sids = (list: Story[]) => list.map((x) => x.sid);
    const expire = () => h.advance(ttlMs + (h.ttlSlackMs ?? 0) + 100);

    beforeEach(async () => {
      h = await make();
      s = h.stories;
    });
    afterEach(async () => {
      await h.close();
    });

    it('lists a story with everything it was posted with, to the poster and to anyone when it has no audience', async () => {
      const [p, v] = [user(), user()];
      const body = `{"media":"m-1","caption":"é ${'x'.repeat(60 * 1024 - 40)}"}`;
      const posted = story(p, { body });
      await s.post(posted);
      assert.deepEqual(await s.list(p, v, h.clock.now()), [posted]);
      assert.deepEqual(await (await h.peer()).list(p, p, h.clock.now()), [posted], 'the poster, through another handle');
    });

    it('shows a story with an audience to its audience and its poster only, and keeps the audience as posted', async () => {
      const [p, friend, other, stranger] = [user(), user(), user(), user()];
      const posted = story(p, { audience: [friend, other] });
      await s.post(posted);
      assert.deepEqual(await s.list(p, friend, h.clock.now()), [posted]);
      assert.deepEqual(sids(await s.list(p, other, h.clock.now())), [posted.sid]);
      assert.deepEqual(sids(await s.list(p, p, h.clock.now())), [posted.sid]);
      assert.deepEqual(await s.list(p, stranger, h.clock.now()), []);
      const onlyMe = story(p, { audience: [] });
      await s.post(onlyMe);
      assert.deepEqual(sids(await s.list(p, friend, h.clock.now())), [posted.sid]);
      assert.deepEqual(await s.list(p, p, h.clock.now()), [posted, onlyMe], 'an empty audience: the poster only');
    });

    it("lists a poster's stories in sid order, and no one else's", async () => {
      const [p, q, v] = [user(), user(), user()];
      const [a, b, c] = [story(p), story(p), story(p)];
      await s.post(c);
      await s.post(a);
      await s.post(story(q));
      await s.post(b);
      assert.deepEqual(sids(await s.list(p, v, h.clock.now())), [a.sid, b.sid, c.sid]);
      assert.deepEqual(await s.list(user(), v, h.clock.now()), [], 'a poster without stories');
    });

    it('serves nothing at or after expiresAt, by the time the caller passes', async () => {
      const [p, v] = [user(), user()];
      const x = story(p);
      await s.post(x);
      assert.deepEqual(await s.list(p, v, x.expiresAt), []);
      assert.equal(await s.view(x.sid, v, x.expiresAt), undefined);
      assert.equal(await s.views(x.sid, x.expiresAt), undefined);
      assert.deepEqual(sids(await s.list(p, v, x.expiresAt - 1)), [x.sid]);
    });

    it('drops an expired story and its views by itself', async () => {
      const [p, v] = [user(), user()];
      const x = story(p);
      await s.post(x);
      assert.deepEqual(await s.view(x.sid, v, h.clock.now()), { user: p, first: true });
      await expire();
      // Asked as of a time it was alive: it is gone from the store, not only hidden.
      assert.deepEqual(await s.list(p, v, x.at), []);
      assert.equal(await s.view(x.sid, user(), x.at), undefined);
      assert.equal(await s.views(x.sid, x.at), undefined);
    });

    it('counts each viewer once, keeps the first view time, and not the poster', async () => {
      const [p, v, w] = [user(), user(), user()];
      const x = story(p);
      await s.post(x);
      const t = Math.floor(h.clock.now());
      assert.deepEqual(await s.view(x.sid, v, t), { user: p, first: true });
      assert.deepEqual(await s.view(x.sid, w, t + 1), { user: p, first: true });
      assert.deepEqual(await (await h.peer()).view(x.sid, v, t + 2), { user: p, first: false }, 'a repeat, through another handle');
      assert.deepEqual(await s.view(x.sid, p, t + 3), { user: p, first: false }, "the poster's own view");
      assert.deepEqual(await s.views(x.sid, t + 4), { user: p, count: 2, viewers: [{ user: w, at: t + 1 }, { user: v, at: t }] });
    });

    it('refuses a view of an unknown story, or by a user outside the audience, recording nothing', async () => {
      const [p, friend, stranger] = [user(), user(), user()];
      const x = story(p, { audience: [friend] });
      await s.post(x);
      assert.equal(await s.view(story(p).sid, friend, h.clock.now()), undefined);
      assert.equal(await s.view(x.sid, stranger, h.clock.now()), undefined);
      assert.deepEqual(await s.views(x.sid, h.clock.now()), { user: p, count: 0, viewers: [] });
    });

    it(`lists the ${VIEWERS_LISTED} latest viewers, newest first, and counts them all`, async () => {
      const p = user();
      const x = story(p);
      await s.post(x);
      const t = Math.floor(h.clock.now());
      const viewers = Array.from({ length: VIEWERS_LISTED + 5 }, () => user());
      await Promise.all(viewers.map((v, i) => s.view(x.sid, v, t + i)));
      const got = (await s.views(x.sid, t + viewers.length))!;
      assert.equal(got.count, viewers.length);
      assert.deepEqual(got.viewers, viewers.map((v, i) => ({ user: v, at: t + i })).reverse().slice(0, VIEWERS_LISTED));
    });

    it('refuses a post past maxLive stories alive with too_large, storing nothing, and takes posts again once some expired', async () => {
      const [p, v] = [user(), user()];
      const first = story(p);
      await s.post(first);
      const rest = Array.from({ length: h.maxLive - 1 }, () => story(p, { expiresAt: first.expiresAt + 60_000 }));
      for (const x of rest) await s.post(x);
      const over = story(p, { expiresAt: first.expiresAt + 60_000 });
      await assert.rejects(s.post(over), { code: 'too_large' });
      assert.equal((await s.list(p, v, h.clock.now())).length, h.maxLive);
      await s.post(story(user()));
      await expire();
      const later = story(p, { expiresAt: first.expiresAt + 60_000 });
      await s.post(later);
      assert.deepEqual(sids(await s.list(p, v, h.clock.now())), [...sids(rest), later.sid]);
    });

    it('keeps the first post of a sid: posting it again changes nothing', async () => {
      const [p, v] = [user(), user()];
      const x = story(p);
      await s.post(x);
      await s.post({ ...x, body: 'changed', audience: [] });
      assert.deepEqual(await s.list(p, v, h.clock.now()), [x]);
    });

    it('is not changed by a caller changing the story it posted', async () => {
      const [p, friend] = [user(), user()];
      const x = story(p, { audience: [friend] });
      await s.post(x);
      x.audience!.push('someone-else');
      x.body = 'changed';
      const [got] = await s.list(p, friend, h.clock.now());
      assert.deepEqual([got!.audience, got!.body], [[friend], `hello from ${p}`]);
    });
  });
}
