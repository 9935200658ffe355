import assert from 'node:assert/strict';
import { type Harness, unique } from '../testing/harness.ts';
import type { Presence } from './presence.ts';

export interface PresenceHarness extends Harness {
  presence: Presence;
}

/** Conformance suite: every Presence adapter must pass it, in virtual or real time. */
export function runPresenceSuite(name: string, make: () => Promise<PresenceHarness>): void {
  describe(`Presence (${name})`, () => {
    let h: PresenceHarness;
    let p: Presence;
    const ttlMs = 800;
    const user = () => unique(h, 'u');
    const expire = () => h.advance(ttlMs + (h.ttlSlackMs ?? 0) + 100);
    /** Runs `fn` and returns the clock's range around it (a single instant in virtual time). */
    const timed = async (fn: () => Promise<void>): Promise<[number, number]> => {
      const before = h.clock.now();
      await fn();
      return [before, h.clock.now()];
    };
    const within = (t: number | undefined, [lo, hi]: [number, number]) =>
      assert.ok(t !== undefined && lo <= t && t <= hi, `${t} not within [${lo}, ${hi}]`);

    beforeEach(async () => {
      h = await make();
      p = h.presence;
    });
    afterEach(async () => {
      await h.close();
    });

    it('shows a user online with last seen at the heartbeat', async () => {
      const u = user();
      const at = await timed(() => p.heartbeat([u], ttlMs));
      const s = (await p.get([u])).get(u);
      assert.equal(s?.online, true);
      within(s?.lastSeenMs, at);
    });

    it('leaves users it has never seen out of the result', async () => {
      const [seen, never] = [user(), user()];
      await p.heartbeat([seen], ttlMs);
      const got = await p.get([seen, never]);
      assert.deepEqual([...got.keys()], [seen]);
      assert.equal((await p.get([])).size, 0);
    });

    it('marks every user of one heartbeat online', async () => {
      const users = [user(), user(), user()];
      await p.heartbeat(users, ttlMs);
      const got = await p.get(users);
      assert.deepEqual(users.map((u) => got.get(u)?.online), [true, true, true]);
    });

    it('shows a user offline at once after an explicit offline, last seen then', async () => {
      const u = user();
      await p.heartbeat([u], ttlMs);
      await h.advance(ttlMs / 4);
      const at = await timed(() => p.offline(u));
      const s = (await p.get([u])).get(u);
      assert.equal(s?.online, false);
      within(s?.lastSeenMs, at);
    });

    it('shows a user offline once the heartbeat expires, last seen at that heartbeat', async () => {
      const u = user();
      const at = await timed(() => p.heartbeat([u], ttlMs));
      await h.advance(ttlMs / 4);
      assert.equal((await p.get([u])).get(u)?.online, true, 'still online within the TTL');
      await expire();
      const s = (await p.get([u])).get(u);
      assert.equal(s?.online, false);
      within(s?.lastSeenMs, at);
    });

    it('stays online while heartbeats keep coming', async () => {
      const u = user();
      await p.heartbeat([u], ttlMs);
      let at: [number, number] = [0, 0];
      for (let i = 0; i < 3; i++) {
        await h.advance(ttlMs / 2);
        at = await timed(() => p.heartbeat([u], ttlMs));
      }
      const s = (await p.get([u])).get(u);
      assert.equal(s?.online, true);
      within(s?.lastSeenMs, at);
    });

    it('comes back online with a heartbeat after going offline', async () => {
      const u = user();
      await p.offline(u);
      await p.heartbeat([u], ttlMs);
      assert.equal((await p.get([u])).get(u)?.online, true);
    });

    it('lists the devices subscribed to a user, once each', async () => {
      const [u, d1, d2] = [user(), `${user()}.1`, `${user()}.1`];
      await p.subscribe(d1, [u]);
      await p.subscribe(d1, [u]);
      await p.subscribe(d2, [u, user()]);
      assert.deepEqual((await p.subscribers(u)).sort(), [d1, d2].sort());
      assert.deepEqual(await p.subscribers(user()), []);
    });

    it("removes a device from every user it watched on unsubscribeAll, leaving others' subscriptions", async () => {
      const [a, b, d1, d2] = [user(), user(), `${user()}.1`, `${user()}.1`];
      await p.subscribe(d1, [a, b]);
      await p.subscribe(d2, [a]);
      await p.unsubscribeAll(d1);
      assert.deepEqual(await p.subscribers(a), [d2]);
      assert.deepEqual(await p.subscribers(b), []);
      await p.unsubscribeAll(`${user()}.1`);
    });

    it('lets a device subscribe again after unsubscribing', async () => {
      const [u, d] = [user(), `${user()}.1`];
      await p.subscribe(d, [u]);
      await p.unsubscribeAll(d);
      await p.subscribe(d, [u]);
      assert.deepEqual(await p.subscribers(u), [d]);
    });
  });
}
