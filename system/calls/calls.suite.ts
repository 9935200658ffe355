import assert from 'node:assert/strict';
import { type Harness, unique } from '../testing/harness.ts';
import type { CalleeState, CallRecord, Calls, NewCall } from './calls.ts';

export interface CallsHarness extends Harness {
  calls: Calls;
  /** The adapter's `endedKeepMs`. */
  endedKeepMs: number;
  /** Another handle on the same store, as a second node process would hold. */
  peer(): Promise<Calls>;
}

/** Conformance suite: every Calls adapter must pass it, in virtual or real time. */
export function runCallsSuite(name: string, make: () => Promise<CallsHarness>): void {
  describe(`Calls (${name})`, () => {
    let h: CallsHarness;
    let s: Calls;
    let n = 0;
    const ringMs = 400;
    /** A call's longest life: well past the ring and past an ended call's keep, so each shows apart. */
    let lifeMs = 1200;
    const user = () => unique(h, 'u');
    const now = () => Math.floor(h.clock.now());
    /** A fresh call id: 18 hex digits, as a node mints them. */
    const id = () => `${(++n).toString(16).padStart(6, '0')}${process.pid.toString(16).padStart(6, '0')}${(now() % 0xffffff).toString(16).padStart(6, '0')}`;
    const call = (caller: string, callees: string[], fields: Partial<NewCall> = {}): NewCall => {
      const at = now();
      return {
        id: id(), caller, device: `${caller}.1`, media: 'audio', sdp: `v=0 offer of ${caller}`,
        startedAt: at, ringUntil: at + ringMs, expiresAt: at + lifeMs, callees, ...fields,
      };
    };
    const states = (rec: CallRecord | undefined) => Object.fromEntries((rec?.callees ?? []).map((c) => [c.user, c.state])) as Record<string, CalleeState>;
    const refused = (code: string) => ({ code });
    const activeId = async (u: string) => (await s.ofUser(u, now())).active?.id;
    const ringingIds = async (u: string) => (await s.ofUser(u, now())).ringing.map((r) => r.id);

    beforeEach(async () => {
      h = await make();
      s = h.calls;
      lifeMs = Math.max(1200, 4 * h.endedKeepMs);
    });
    afterEach(async () => {
      await h.close();
    });

    it('keeps a placed call with everything it was placed with, every callee ringing, and marks its caller in it', async () => {
      const [a, b, c] = [user(), user(), user()];
      const placed = call(a, [b, c], { media: 'video', sdp: `v=0 ${'é'.repeat(8000)}` });
      const rec = await s.place(placed, now());
      const want: CallRecord = { ...placed, callees: [{ user: b, state: 'ringing' }, { user: c, state: 'ringing' }] };
      assert.deepEqual(rec, want);
      assert.deepEqual(await (await h.peer()).get(placed.id, now()), want, 'through another handle');
      assert.equal(await activeId(a), placed.id);
      assert.deepEqual(await ringingIds(b), [placed.id]);
      assert.equal(await activeId(b), undefined, 'ringing is not being in a call');
      assert.equal(await s.get(id(), now()), undefined, 'an unknown id');
    });

    it('changes nothing when an id it holds is placed again', async () => {
      const [a, b] = [user(), user()];
      const placed = call(a, [b]);
      await s.place(placed, now());
      const again = await s.place({ ...placed, callees: [user()], sdp: 'other' }, now());
      assert.equal(again.sdp, placed.sdp);
      assert.deepEqual(states(again), { [b]: 'ringing' });
    });

    it('refuses a caller in a call with in_call, and takes their calls again once it is over', async () => {
      const [a, b, c] = [user(), user(), user()];
      const first = call(a, [b]);
      await s.place(first, now());
      await assert.rejects(s.place(call(a, [c]), now()), refused('in_call'));
      await s.settle(first.id, b, 'rejected', now());
      const second = await s.place(call(a, [c]), now());
      assert.deepEqual(states(second), { [c]: 'ringing' });
    });

    it('comes back busy for callees in a call, and a call that rings nobody is over at once', async () => {
      const [a, b, c, d] = [user(), user(), user(), user()];
      const ab = call(a, [b]);
      await s.place(ab, now());
      await s.answer(ab.id, b, `${b}.2`, now());
      const rec = await s.place(call(c, [a, b, d]), now());
      assert.deepEqual(states(rec), { [a]: 'busy', [b]: 'busy', [d]: 'ringing' });
      assert.equal(rec.endedAt, undefined);
      const e = user();
      const t = now();
      const lonely = await s.place(call(e, [a, b], { startedAt: t }), t);
      assert.deepEqual(states(lonely), { [a]: 'busy', [b]: 'busy' });
      assert.equal(lonely.endedAt, t);
      assert.equal(await activeId(e), undefined, 'not in the call that never rang');
      assert.deepEqual(await ringingIds(a), []);
    });

    it('lets the first answering device win: a second answer of the user, or any later one, is call_over', async () => {
      const [a, b] = [user(), user()];
      const placed = call(a, [b]);
      await s.place(placed, now());
      const peer = await h.peer();
      const results = await Promise.allSettled([s.answer(placed.id, b, `${b}.1`, now()), peer.answer(placed.id, b, `${b}.2`, now())]);
      const won = results.filter((r) => r.status === 'fulfilled');
      assert.equal(won.length, 1, 'exactly one answer wins');
      const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      assert.equal((lost.reason as { code: string }).code, 'call_over');
      const rec = (won[0] as PromiseFulfilledResult<CallRecord>).value;
      assert.equal(rec.callees[0]!.state, 'answered');
      assert.match(rec.callees[0]!.device!, new RegExp(`^${b}\\.[12]$`));
      await assert.rejects(s.answer(placed.id, b, `${b}.3`, now()), refused('call_over'));
      assert.equal(await activeId(b), placed.id, 'the callee is in the call');
      assert.deepEqual(await ringingIds(b), [], 'and no longer rung');
    });

    it('refuses an answer with unknown_call from a user not called, or for no such call', async () => {
      const [a, b, x] = [user(), user(), user()];
      const placed = call(a, [b]);
      await s.place(placed, now());
      await assert.rejects(s.answer(placed.id, x, `${x}.1`, now()), refused('unknown_call'));
      await assert.rejects(s.answer(placed.id, a, `${a}.2`, now()), refused('unknown_call'), 'the caller is no callee');
      await assert.rejects(s.answer(id(), b, `${b}.1`, now()), refused('unknown_call'));
      await assert.rejects(s.settle(id(), b, 'rejected', now()), refused('unknown_call'));
      await assert.rejects(s.hangup(id(), b, `${b}.1`, now()), refused('unknown_call'));
    });

    it('refuses an answer with in_call from a callee who is in another call', async () => {
      const [a, b, c] = [user(), user(), user()];
      const first = call(a, [b]);
      await s.place(first, now());
      const second = call(c, [b]);
      await s.place(second, now());
      await s.answer(first.id, b, `${b}.1`, now());
      await assert.rejects(s.answer(second.id, b, `${b}.1`, now()), refused('in_call'));
      assert.deepEqual(states(await s.get(second.id, now())), { [b]: 'ringing' });
    });

    it('settles a reject or a busy once: the call with nobody left ringing ends and frees its caller', async () => {
      const [a, b, c] = [user(), user(), user()];
      const placed = call(a, [b, c]);
      await s.place(placed, now());
      const one = await s.settle(placed.id, b, 'rejected', now());
      assert.deepEqual(states(one), { [b]: 'rejected', [c]: 'ringing' });
      assert.equal(one.endedAt, undefined, 'c still rings');
      await assert.rejects(s.settle(placed.id, b, 'busy', now()), refused('call_over'));
      const t = now();
      const two = await s.settle(placed.id, c, 'busy', t);
      assert.deepEqual(states(two), { [b]: 'rejected', [c]: 'busy' });
      assert.equal(two.endedAt, t);
      assert.equal(await activeId(a), undefined);
      await assert.rejects(s.answer(placed.id, c, `${c}.1`, now()), refused('call_over'));
      await assert.rejects(s.hangup(placed.id, a, `${a}.1`, now()), refused('call_over'));
    });

    it('times out the callees still ringing at ringUntil, and only then', async () => {
      const [a, b, c] = [user(), user(), user()];
      const placed = call(a, [b, c]);
      await s.place(placed, now());
      assert.deepEqual((await s.timeout(placed.id, placed.ringUntil - 1))?.users, []);
      await s.answer(placed.id, b, `${b}.1`, now());
      const out = await s.timeout(placed.id, placed.ringUntil);
      assert.deepEqual(out?.users, [c]);
      assert.deepEqual(states(out?.call), { [b]: 'answered', [c]: 'timeout' });
      assert.equal(out?.call.endedAt, undefined, 'b is in it with the caller');
      assert.deepEqual((await s.timeout(placed.id, placed.ringUntil + 1))?.users, [], 'settled once');
      assert.equal(await s.timeout(id(), now()), undefined);
    });

    it('ends an unanswered call at its ring deadline without a write: nobody rings, nor is its caller in a call', async () => {
      const [a, b, c] = [user(), user(), user()];
      const placed = call(a, [b]);
      await s.place(placed, now());
      await h.advance(ringMs + 50);
      assert.deepEqual(await ringingIds(b), []);
      assert.equal(await activeId(a), undefined);
      await assert.rejects(s.answer(placed.id, b, `${b}.1`, now()), refused('call_over'));
      await assert.rejects(s.settle(placed.id, b, 'rejected', now()), refused('call_over'));
      const again = await s.place(call(a, [c]), now());
      assert.deepEqual(states(again), { [c]: 'ringing' }, 'the caller calls again');
      const out = await s.timeout(placed.id, now());
      assert.deepEqual(out?.users, [b], 'the timer, late, still settles the ring');
      assert.ok(out?.call.endedAt !== undefined);
      assert.equal(await activeId(a), again.id, 'and leaves the call placed since alone');
    });

    it("ends the call for everyone when its caller hangs up: every mark goes, later frames about it are call_over", async () => {
      const [a, b, c] = [user(), user(), user()];
      const placed = call(a, [b, c]);
      await s.place(placed, now());
      await s.answer(placed.id, b, `${b}.1`, now());
      await assert.rejects(s.hangup(placed.id, a, `${a}.2`, now()), refused('unknown_call'), "the caller's other device");
      const t = now();
      const r = await s.hangup(placed.id, a, `${a}.1`, t);
      assert.equal(r.was, 'caller');
      assert.equal(r.call.endedAt, t);
      assert.deepEqual(states(r.call), { [b]: 'answered', [c]: 'ringing' }, 'the states as they were');
      assert.equal(await activeId(a), undefined);
      assert.equal(await activeId(b), undefined);
      assert.deepEqual(await ringingIds(c), []);
      await assert.rejects(s.answer(placed.id, c, `${c}.1`, now()), refused('call_over'));
      await assert.rejects(s.hangup(placed.id, a, `${a}.1`, now()), refused('call_over'));
      await assert.rejects(s.hangup(placed.id, b, `${b}.1`, now()), refused('call_over'));
    });

    it('lets an answered callee leave from the answering device only; the call goes on while anyone is in it or ringing', async () => {
      const [a, b, c, d] = [user(), user(), user(), user()];
      const placed = call(a, [b, c, d]);
      await s.place(placed, now());
      await s.answer(placed.id, b, `${b}.1`, now());
      await s.answer(placed.id, c, `${c}.1`, now());
      await assert.rejects(s.hangup(placed.id, b, `${b}.2`, now()), refused('unknown_call'), 'another device of b');
      const left = await s.hangup(placed.id, b, `${b}.1`, now());
      assert.equal(left.was, 'answered');
      assert.deepEqual(states(left.call), { [b]: 'left', [c]: 'answered', [d]: 'ringing' });
      assert.equal(left.call.endedAt, undefined);
      assert.equal(await activeId(b), undefined);
      await assert.rejects(s.hangup(placed.id, b, `${b}.1`, now()), refused('call_over'), 'left once');
      const declined = await s.hangup(placed.id, d, `${d}.3`, now());
      assert.equal(declined.was, 'ringing', 'a ringing callee hanging up declines');
      assert.deepEqual(states(declined.call), { [b]: 'left', [c]: 'answered', [d]: 'rejected' });
      const t = now();
      const last = await s.hangup(placed.id, c, `${c}.1`, t);
      assert.equal(last.call.endedAt, t, 'the caller alone: over');
      assert.equal(await activeId(a), undefined);
      await assert.rejects(s.hangup(placed.id, user(), 'x.1', now()), refused('unknown_call'), 'a stranger');
    });

    it('lets two users calling each other at once ring one call, the other finding its callee busy', async () => {
      const [a, b] = [user(), user()];
      const [ab, ba] = [call(a, [b]), call(b, [a])];
      const [x, y] = await Promise.all([s.place(ab, now()), (await h.peer()).place(ba, now())]);
      const rang = [x, y].filter((r) => r.endedAt === undefined);
      assert.equal(rang.length, 1);
      const other = [x, y].find((r) => r !== rang[0])!;
      assert.equal(other.callees[0]!.state, 'busy');
    });

    it('lists the calls ringing a user, oldest first, and the call they are in', async () => {
      const [a, b, c, d] = [user(), user(), user(), user()];
      const first = call(a, [d]);
      await s.place(first, now());
      await h.advance(5);
      const second = call(b, [d, c]);
      await s.place(second, now());
      assert.deepEqual(await ringingIds(d), [first.id, second.id]);
      const mine = await s.ofUser(d, now());
      assert.deepEqual(mine.ringing[0], { ...first, callees: [{ user: d, state: 'ringing' }] });
      await s.answer(second.id, c, `${c}.1`, now());
      assert.equal((await s.ofUser(c, now())).active?.id, second.id);
      assert.deepEqual(await (await h.peer()).ofUser(user(), now()), { ringing: [] });
    });

    it('drops a record at its expiresAt, and a call over endedKeepMs after it ended', async () => {
      const [a, b, c, d] = [user(), user(), user(), user()];
      const long = call(a, [b]);
      await s.place(long, now());
      await s.answer(long.id, b, `${b}.1`, now());
      const short = call(c, [d]);
      await s.place(short, now());
      await s.settle(short.id, d, 'rejected', now());
      assert.ok(await s.get(short.id, now()), 'kept a while once over');
      await h.advance(h.endedKeepMs + (h.ttlSlackMs ?? 0) + 50);
      assert.equal(await s.get(short.id, short.startedAt), undefined, 'dropped, not only hidden');
      assert.equal(await s.get(long.id, long.expiresAt), undefined, 'never served at or after expiresAt');
      assert.equal(await activeId(a), long.id, 'the answered call lives on');
      await h.advance(lifeMs + (h.ttlSlackMs ?? 0) + 50);
      assert.equal(await s.get(long.id, long.startedAt), undefined);
      assert.deepEqual(await s.ofUser(a, long.startedAt + 1), { ringing: [] }, 'its marks went with it');
      assert.deepEqual(await s.ofUser(b, long.startedAt + 1), { ringing: [] });
    });

    it('is not changed by a caller changing what it placed or got', async () => {
      const [a, b] = [user(), user()];
      const placed = call(a, [b]);
      const rec = await s.place(placed, now());
      placed.callees.push('someone-else');
      rec.callees[0]!.state = 'left';
      assert.deepEqual(states(await s.get(placed.id, now())), { [b]: 'ringing' });
    });
  });
}
