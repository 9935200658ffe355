import assert from 'node:assert/strict';
import { turnCredentialsProblem } from '../calls/turn-credentials.ts';
import type { ServerFrame } from '../protocol/frames.ts';
import type { PushReason } from '../push/push.ts';
import { coreCluster, type CoreCluster } from '../testing/node-harness.ts';
import type { ChatNodeOptions } from './options.ts';

type Err = Extract<ServerFrame, { t: 'error' }>;
type Placed = Extract<ServerFrame, { t: 'call.placed' }>;
type T = ServerFrame['t'];

const ringMs = 10_000;
const turn = { secret: 'relay-secret', urls: ['turn:relay.test:3478?transport=udp'], ttlS: 300 };

/**
 * A cluster of `nodes` with a short ring and a TURN relay, and `devices`
 * connected: a device id alone on node 0, `[id, n]` on node n.
 */
async function setup(devices: (string | [string, number])[], opts: Partial<ChatNodeOptions> = {}, nodes = 1) {
  const c = await coreCluster(nodes, { callRingMs: ringMs, turn, ...opts });
  const at: Record<string, { conn: number; node: number }> = {};
  for (const entry of devices) {
    const [d, node] = typeof entry === 'string' ? [entry, 0] : entry;
    at[d] = { conn: await c.connect(d, node), node };
  }
  const wakes: [string, PushReason][] = [];
  c.ports.push.onWake((d, r) => wakes.push([d, r]));
  const where = (d: string) => {
    const x = at[d];
    assert.ok(x, `${d} was connected`);
    return x;
  };
  /** Sends `frame` from device `d` and lets everything it sets off settle. */
  const send = async (d: string, frame: object) => {
    await c.frame(where(d).conn, frame, where(d).node);
    await c.settle();
  };
  /** The frames of type `t` device `d` got. */
  const got = <K extends T>(d: string, t: K) => c.nodes[where(d).node]!.transport.take(where(d).conn, t);
  /** Every frame `d` got after its sign-in (welcome and drained left out). */
  const all = (d: string) => c.nodes[where(d).node]!.transport.of(where(d).conn).filter((f) => f.t !== 'welcome' && f.t !== 'drained');
  const errors = (d: string) => got(d, 'error') as Err[];
  /** `from` calls `to`; returns the `call.placed` answer. */
  const call = async (from: string, to: string[], frame: object = {}): Promise<Placed> => {
    const before = got(from, 'call.placed').length;
    await send(from, { t: 'call.offer', cid: `k${Math.random()}`, to, media: 'audio', sdp: `v=0 offer of ${from}`, ...frame });
    const placed = got(from, 'call.placed');
    assert.equal(placed.length, before + 1, `placed: ${JSON.stringify(all(from).at(-1))}`);
    return placed.at(-1)!;
  };
  /** Closes device `d`'s connection (the device goes offline). */
  const drop = async (d: string) => {
    c.nodes[where(d).node]!.node.onClose(where(d).conn);
    await c.settle();
  };
  /** Signs device `d` in (again) on node `node`. */
  const connect = async (d: string, node = 0) => {
    at[d] = { conn: await c.connect(d, node), node };
    await c.settle();
  };
  /** Lets `ms` of virtual time pass, timers firing on the way. */
  const advance = async (ms: number) => {
    c.clock.advance(ms);
    await c.settle();
  };
  return { c, send, got, all, errors, call, drop, connect, advance, wakes };
}

const metrics = (c: CoreCluster) => c.nodes.map((n) => n.node.metrics.calls);

describe('Calls on the node (core, virtual time)', () => {
  it('answers the caller call.placed and rings every device of the callee, on this node and another, each user with TURN credentials of its own', async () => {
    const { c, got, call } = await setup(['alice.1', 'bob.1', ['bob.2', 1]], {}, 2);
    const now = c.clock.now();
    const placed = await call('alice.1', ['bob'], { media: 'video', sdp: 'v=0 video offer' });
    assert.match(placed.call, /^[0-9a-f]{18}$/);
    assert.equal(placed.ringUntil, now + ringMs);
    assert.deepEqual(placed.turn.urls, turn.urls);
    assert.equal(placed.turn.ttl, turn.ttlS);
    assert.match(placed.turn.username, /^\d+:alice$/);
    assert.equal(turnCredentialsProblem(turn.secret, placed.turn.username, placed.turn.credential, now), undefined, 'a relay with the secret accepts them');
    for (const d of ['bob.1', 'bob.2']) {
      const [offer] = got(d, 'call.offer');
      assert.ok(offer, `${d} rings`);
      const { turn: creds, ...rest } = offer;
      assert.deepEqual(rest, { t: 'call.offer', call: placed.call, from: 'alice', device: 'alice.1', media: 'video', sdp: 'v=0 video offer', ringUntil: placed.ringUntil, users: ['bob'] });
      assert.match(creds.username, /^\d+:bob$/);
      assert.equal(turnCredentialsProblem(turn.secret, creds.username, creds.credential, now), undefined);
    }
    assert.equal(got('alice.1', 'call.offer').length, 0, "the caller's device does not ring");
    assert.equal(metrics(c)[0]!.placed, 1);
  });

  it('relays a ringing device to the caller, across nodes', async () => {
    const { got, send, call } = await setup(['alice.1', ['bob.1', 1]], {}, 2);
    const { call: id } = await call('alice.1', ['bob']);
    await send('bob.1', { t: 'call.ringing', call: id });
    assert.deepEqual(got('alice.1', 'call.ringing'), [{ t: 'call.ringing', call: id, user: 'bob', device: 'bob.1' }]);
  });

  it('lets the first device to answer take the call: the caller gets its answer, the other devices answered-elsewhere, a later answer call_over', async () => {
    const { c, got, send, call, errors } = await setup(['alice.1', 'bob.1', ['bob.2', 1], 'bob.3'], {}, 2);
    const { call: id } = await call('alice.1', ['bob']);
    await send('bob.2', { t: 'call.answer', call: id, sdp: 'v=0 answer of bob.2' });
    assert.deepEqual(got('alice.1', 'call.answer'), [{ t: 'call.answer', call: id, user: 'bob', device: 'bob.2', sdp: 'v=0 answer of bob.2' }]);
    for (const d of ['bob.1', 'bob.3']) assert.deepEqual(got(d, 'call.answered-elsewhere'), [{ t: 'call.answered-elsewhere', call: id, device: 'bob.2' }], d);
    assert.equal(got('bob.2', 'call.answered-elsewhere').length, 0);
    await send('bob.1', { t: 'call.answer', call: id, sdp: 'v=0 late' });
    assert.deepEqual(errors('bob.1').map((e) => [e.code, e.retryable]), [['call_over', false]]);
    assert.equal(got('alice.1', 'call.answer').length, 1, 'the caller hears of one answer');
    assert.equal(metrics(c)[1]!.answered, 1);
  });

  it('relays ICE candidates between the devices in the call only, storing nothing', async () => {
    const { c, got, send, call, errors } = await setup(['alice.1', 'alice.2', 'bob.1', ['bob.2', 1], 'carol.1'], {}, 2);
    const { call: id } = await call('alice.1', ['bob']);
    const cand = (to: string, candidate = `candidate:1 1 udp 1 10.0.0.1 5000 typ host to ${to}`) => ({ t: 'call.candidate', call: id, to, candidate });
    await send('alice.1', cand('bob.1'));
    assert.deepEqual(errors('alice.1').map((e) => e.code), ['unknown_call'], 'no callee device is in the call before it answers');
    await send('bob.2', { t: 'call.answer', call: id, sdp: 'v=0 answer' });
    await send('alice.1', cand('bob.2'));
    await send('bob.2', cand('alice.1', ''));
    assert.deepEqual(got('bob.2', 'call.candidate'), [{ t: 'call.candidate', call: id, from: 'alice', device: 'alice.1', candidate: cand('bob.2').candidate }]);
    assert.deepEqual(got('alice.1', 'call.candidate'), [{ t: 'call.candidate', call: id, from: 'bob', device: 'bob.2', candidate: '' }]);
    await send('alice.1', cand('bob.1'));
    await send('alice.1', cand('alice.1'));
    await send('bob.1', cand('alice.1'));
    await send('alice.2', cand('bob.2'));
    await send('carol.1', cand('alice.1'));
    assert.deepEqual(errors('alice.1').map((e) => e.code), ['unknown_call', 'unknown_call', 'unknown_call'], 'to a device not in the call, or to itself');
    for (const d of ['bob.1', 'alice.2', 'carol.1']) assert.deepEqual(errors(d).map((e) => e.code), ['unknown_call'], d);
    assert.equal(got('bob.1', 'call.candidate').length, 0);
    for (const d of ['alice.1', 'bob.2']) assert.equal(await c.ports.inbox.count(d), 0, 'candidates are never stored');
  });

  it('comes back busy for a callee in a call and refuses a caller in a call with in_call (with the cid)', async () => {
    const { c, got, send, call, errors, wakes } = await setup(['alice.1', 'bob.1', 'carol.1', 'dave.1']);
    const { call: ab } = await call('alice.1', ['bob']);
    await send('bob.1', { t: 'call.answer', call: ab, sdp: 'v=0' });
    const lone = await call('carol.1', ['bob']);
    assert.deepEqual(got('carol.1', 'call.busy'), [{ t: 'call.busy', call: lone.call, user: 'bob' }]);
    assert.equal(got('bob.1', 'call.offer').length, 1, 'bob, in a call, is not rung');
    const group = await call('carol.1', ['bob', 'dave']);
    assert.deepEqual(got('carol.1', 'call.busy').map((f) => [f.call, f.user]), [[lone.call, 'bob'], [group.call, 'bob']]);
    assert.deepEqual(got('dave.1', 'call.offer').map((f) => [f.call, f.users]), [[group.call, ['bob', 'dave']]]);
    await send('alice.1', { t: 'call.offer', cid: 'again', to: ['dave'], media: 'audio', sdp: 'v=0' });
    assert.deepEqual(errors('alice.1').map((e) => [e.code, e.cid, e.retryable]), [['in_call', 'again', false]]);
    assert.equal(got('dave.1', 'call.offer').length, 1);
    await send('dave.1', { t: 'call.hangup', call: group.call });
    const next = await call('carol.1', ['dave']);
    assert.equal(got('dave.1', 'call.offer').at(-1)!.call, next.call, 'the call rung by nobody but a busy user was over at once; so is one declined');
    assert.equal(metrics(c)[0]!.busy, 2);
    assert.deepEqual(wakes, []);
  });

  it('times out at ringUntil: the caller hears which users did not answer, their ringing devices stop, and a late answer is call_over', async () => {
    const { c, got, send, call, errors, advance } = await setup(['alice.1', 'bob.1', ['bob.2', 1], 'carol.1'], {}, 2);
    const placed = await call('alice.1', ['bob', 'carol']);
    await send('carol.1', { t: 'call.answer', call: placed.call, sdp: 'v=0' });
    await advance(ringMs - 1);
    assert.equal(got('alice.1', 'call.timeout').length, 0);
    await advance(1);
    assert.deepEqual(got('alice.1', 'call.timeout'), [{ t: 'call.timeout', call: placed.call, users: ['bob'] }]);
    for (const d of ['bob.1', 'bob.2']) assert.deepEqual(got(d, 'call.timeout'), [{ t: 'call.timeout', call: placed.call, users: ['bob'] }], d);
    assert.equal(got('carol.1', 'call.timeout').length, 0, 'carol is in the call');
    await send('bob.2', { t: 'call.answer', call: placed.call, sdp: 'v=0' });
    assert.deepEqual(errors('bob.2').map((e) => e.code), ['call_over']);
    assert.equal(metrics(c)[0]!.timeout, 1);
    await send('carol.1', { t: 'call.candidate', call: placed.call, to: 'alice.1', candidate: 'c' });
    assert.equal(got('alice.1', 'call.candidate').length, 1, 'the call goes on with carol');
  });

  it('frees the caller of a call that timed out unanswered', async () => {
    const { got, call, advance } = await setup(['alice.1', 'bob.1', 'carol.1']);
    const first = await call('alice.1', ['bob']);
    await advance(ringMs);
    assert.deepEqual(got('alice.1', 'call.timeout'), [{ t: 'call.timeout', call: first.call, users: ['bob'] }]);
    await call('alice.1', ['carol']);
    assert.equal(got('carol.1', 'call.offer').length, 1);
  });

  it("ends the call for everyone when the caller hangs up: answered and ringing devices get call.hangup, and nothing times out", async () => {
    const { got, send, call, errors, advance } = await setup(['alice.1', 'bob.1', 'bob.2', 'carol.1', ['carol.2', 1]], {}, 2);
    const { call: id } = await call('alice.1', ['bob', 'carol']);
    await send('bob.1', { t: 'call.answer', call: id, sdp: 'v=0' });
    await send('alice.1', { t: 'call.hangup', call: id });
    const hangup = { t: 'call.hangup', call: id, user: 'alice' };
    for (const d of ['bob.1', 'carol.1', 'carol.2']) assert.deepEqual(got(d, 'call.hangup'), [hangup], d);
    assert.equal(got('bob.2', 'call.hangup').length, 0, 'answered elsewhere already');
    assert.equal(got('alice.1', 'call.hangup').length, 0);
    await send('bob.1', { t: 'call.hangup', call: id });
    await send('carol.2', { t: 'call.answer', call: id, sdp: 'v=0' });
    assert.deepEqual(errors('bob.1').map((e) => e.code), ['call_over']);
    assert.deepEqual(errors('carol.2').map((e) => e.code), ['call_over']);
    await advance(ringMs);
    assert.equal(got('alice.1', 'call.timeout').length + got('carol.1', 'call.timeout').length, 0);
  });

  it('lets an answered callee leave: the others in the call get call.hangup, and the call ends with the caller alone', async () => {
    const { got, send, call } = await setup(['alice.1', 'bob.1', 'carol.1', 'carol.2', 'dave.1']);
    const { call: id } = await call('alice.1', ['bob', 'carol']);
    await send('bob.1', { t: 'call.answer', call: id, sdp: 'v=0' });
    await send('carol.2', { t: 'call.answer', call: id, sdp: 'v=0' });
    await send('bob.1', { t: 'call.hangup', call: id });
    for (const d of ['alice.1', 'carol.2']) assert.deepEqual(got(d, 'call.hangup'), [{ t: 'call.hangup', call: id, user: 'bob' }], d);
    assert.equal(got('carol.1', 'call.hangup').length, 0, 'not in the call');
    await send('carol.2', { t: 'call.hangup', call: id });
    assert.deepEqual(got('alice.1', 'call.hangup').map((f) => f.user), ['bob', 'carol']);
    await call('alice.1', ['dave']);
    assert.equal(got('dave.1', 'call.offer').length, 1, 'alone, the caller was out of the call');
  });

  it("declines: call.reject and call.busy go to the caller and the user's other devices; a ringing callee's hangup is a reject", async () => {
    const { c, got, send, call } = await setup(['alice.1', 'bob.1', ['bob.2', 1], 'carol.1', 'carol.2', 'dave.1'], {}, 2);
    const ab = await call('alice.1', ['bob']);
    await send('bob.1', { t: 'call.reject', call: ab.call });
    for (const d of ['alice.1', 'bob.2']) assert.deepEqual(got(d, 'call.reject'), [{ t: 'call.reject', call: ab.call, user: 'bob' }], d);
    assert.equal(got('bob.1', 'call.reject').length, 0);
    const ac = await call('alice.1', ['carol']);
    await send('carol.2', { t: 'call.busy', call: ac.call });
    for (const d of ['alice.1', 'carol.1']) assert.deepEqual(got(d, 'call.busy'), [{ t: 'call.busy', call: ac.call, user: 'carol' }], d);
    const ad = await call('alice.1', ['dave']);
    await send('dave.1', { t: 'call.hangup', call: ad.call });
    assert.deepEqual(got('alice.1', 'call.reject').map((f) => [f.call, f.user]), [[ab.call, 'bob'], [ad.call, 'dave']]);
    const all = metrics(c);
    assert.deepEqual([all[0]!.rejected, all[0]!.busy], [2, 1]);
  });

  it('rings a group call of three users, with candidates between any two devices in it (mesh)', async () => {
    const { got, send, call } = await setup(['alice.1', 'bob.1', ['carol.1', 1], 'dave.1'], {}, 2);
    const { call: id } = await call('alice.1', ['bob', 'carol', 'dave'], { media: 'video' });
    for (const d of ['bob.1', 'carol.1', 'dave.1']) assert.deepEqual(got(d, 'call.offer').map((f) => f.users), [['bob', 'carol', 'dave']], d);
    await send('bob.1', { t: 'call.answer', call: id, sdp: 'v=0 bob' });
    await send('carol.1', { t: 'call.answer', call: id, sdp: 'v=0 carol' });
    await send('dave.1', { t: 'call.reject', call: id });
    assert.deepEqual(got('alice.1', 'call.answer').map((f) => f.device), ['bob.1', 'carol.1']);
    await send('bob.1', { t: 'call.candidate', call: id, to: 'carol.1', candidate: 'b2c' });
    await send('carol.1', { t: 'call.candidate', call: id, to: 'bob.1', candidate: 'c2b' });
    assert.deepEqual(got('carol.1', 'call.candidate').map((f) => [f.device, f.candidate]), [['bob.1', 'b2c']]);
    assert.deepEqual(got('bob.1', 'call.candidate').map((f) => [f.device, f.candidate]), [['carol.1', 'c2b']]);
    await send('alice.1', { t: 'call.hangup', call: id });
    for (const d of ['bob.1', 'carol.1']) assert.deepEqual(got(d, 'call.hangup').map((f) => f.user), ['alice'], d);
    assert.equal(got('dave.1', 'call.hangup').length, 0, 'declined already');
  });

  it('wakes an offline callee by push (reason call) and rings it at sign-in before ringUntil', async () => {
    const { got, call, drop, connect, wakes, advance } = await setup(['alice.1', 'bob.1', 'bob.2']);
    await drop('bob.1');
    const placed = await call('alice.1', ['bob']);
    assert.deepEqual(wakes, [['bob.1', 'call']]);
    assert.equal(got('bob.2', 'call.offer').length, 1, 'the online device rings at once');
    await advance(ringMs - 1000);
    await connect('bob.1');
    const [offer] = got('bob.1', 'call.offer');
    assert.equal(offer?.call, placed.call);
    assert.match(offer!.turn.username, /^\d+:bob$/, 'credentials minted for its user');
    assert.deepEqual(got('bob.1', 'welcome').length, 1);
  });

  it('never rings a device at or after ringUntil: not at sign-in, even when the node that placed the call died with its timer', async () => {
    const { c, got, call, drop, connect, advance, wakes } = await setup(['alice.1', ['carol.1', 1], 'bob.1'], {}, 2);
    await drop('bob.1');
    await call('carol.1', ['bob']);
    assert.deepEqual(wakes, [['bob.1', 'call']]);
    c.nodes[1]!.node.kill();
    await advance(ringMs);
    await connect('bob.1');
    assert.deepEqual(got('bob.1', 'call.offer'), []);
    await call('alice.1', ['bob']);
    assert.equal(got('bob.1', 'call.offer').length, 1, 'bob was never in the dead call: he rings for the next');
  });

  it('drops an offer whose bus hop ends at or after its ringUntil, and wakes no one for it', async () => {
    const { c, got, drop, wakes } = await setup(['bob.1', 'carol.1']);
    await drop('carol.1');
    const until = c.clock.now();
    const frame = JSON.stringify({ t: 'call.offer', call: '0'.repeat(18), from: 'alice', device: 'alice.1', media: 'audio', sdp: 'v=0', ringUntil: until, users: ['bob'], turn: {} });
    c.nodes[0]!.node.onEnvelope({ k: 'call', devices: ['bob.1', 'carol.1'], frame, until, push: true });
    await c.settle();
    assert.deepEqual(got('bob.1', 'call.offer'), []);
    assert.deepEqual(wakes, []);
    c.nodes[0]!.node.onEnvelope({ k: 'call', devices: ['bob.1', 'carol.1'], frame, until: until + 1, push: true });
    await c.settle();
    assert.equal(got('bob.1', 'call.offer').length, 1);
    assert.deepEqual(wakes, [['carol.1', 'call']]);
  });

  it('hangs up for a device in a call that disconnected and is signed in nowhere callDropMs later, and not for one that came back', async () => {
    const { got, send, call, drop, connect, advance } = await setup(['alice.1', 'bob.1', ['carol.1', 1]], { callDropMs: 5000 }, 2);
    const { call: ab } = await call('alice.1', ['bob']);
    await send('bob.1', { t: 'call.answer', call: ab, sdp: 'v=0' });
    await drop('bob.1');
    await advance(2000);
    await connect('bob.1');
    await advance(5000);
    assert.equal(got('alice.1', 'call.hangup').length, 0, 'bob came back in time');
    await drop('bob.1');
    await advance(5000);
    assert.deepEqual(got('alice.1', 'call.hangup'), [{ t: 'call.hangup', call: ab, user: 'bob' }], 'the reconnected device was watched again');
    const { call: ac } = await call('alice.1', ['carol']);
    await send('carol.1', { t: 'call.answer', call: ac, sdp: 'v=0' });
    await drop('alice.1');
    await advance(5000);
    assert.deepEqual(got('carol.1', 'call.hangup'), [{ t: 'call.hangup', call: ac, user: 'alice' }], "the caller's drop ends the call");
  });

  it('hands out credentials without relays when no TURN relay is configured', async () => {
    const { got, call } = await setup(['alice.1', 'bob.1'], { turn: undefined });
    const placed = await call('alice.1', ['bob']);
    const none = { urls: [], username: '', credential: '', ttl: 0 };
    assert.deepEqual(placed.turn, none);
    assert.deepEqual(got('bob.1', 'call.offer')[0]!.turn, none);
  });

  it('refuses bad call frames with the documented codes, an offer with its cid, keeping the connection on the first offence', async () => {
    const id = '0123456789abcdef01';
    const cases: [object, string, string | undefined][] = [
      [{ t: 'call.offer', cid: 'o1', to: ['alice'], media: 'audio', sdp: 'v=0' }, 'bad_frame', 'o1'],
      [{ t: 'call.offer', cid: 'o2', to: ['bob', 'ghost'], media: 'audio', sdp: 'v=0' }, 'not_found', 'o2'],
      [{ t: 'call.offer', cid: 'o3', to: ['bob', 'bob'], media: 'audio', sdp: 'v=0' }, 'bad_frame', 'o3'],
      [{ t: 'call.offer', cid: 'o4', to: ['bob'], media: 'audio', sdp: 'x'.repeat(16 * 1024 + 1) }, 'too_large', 'o4'],
      [{ t: 'call.answer', call: 'nope', sdp: 'v=0' }, 'bad_frame', undefined],
      [{ t: 'call.answer', call: id, sdp: 'v=0' }, 'unknown_call', undefined],
      [{ t: 'call.ringing', call: id }, 'unknown_call', undefined],
      [{ t: 'call.reject', call: id }, 'unknown_call', undefined],
      [{ t: 'call.hangup', call: id }, 'unknown_call', undefined],
      [{ t: 'call.candidate', call: id, to: 'bob', candidate: 'c' }, 'bad_frame', undefined],
      [{ t: 'call.candidate', call: id, to: 'bob.1', candidate: 'x'.repeat(1025) }, 'too_large', undefined],
    ];
    for (const [frame, code, cid] of cases) {
      const { c, send, errors, got } = await setup(['alice.1', 'bob.1']);
      await send('alice.1', frame);
      assert.deepEqual(errors('alice.1').map((e) => [e.code, e.cid]), [[code, cid]], JSON.stringify(frame).slice(0, 80));
      assert.equal(c.nodes[0]!.transport.closed.size, 0);
      assert.equal(got('bob.1', 'call.offer').length, 0);
    }
  });

  it('refuses an offer naming its caller among other callees with bad_frame and the cid, ringing no one', async () => {
    const { send, errors, got } = await setup(['alice.1', 'bob.1']);
    await send('alice.1', { t: 'call.offer', cid: 's', to: ['bob', 'alice'], media: 'audio', sdp: 'v=0' });
    assert.deepEqual(errors('alice.1').map((e) => [e.code, e.cid]), [['bad_frame', 's']]);
    assert.equal(got('bob.1', 'call.offer').length, 0);
  });

  it('limits call.offer per device across reconnects with rate_limited and the cid, and refuses new calls while the node sheds sends', async () => {
    const { c, send, errors, call, drop, connect } = await setup(['alice.1', 'bob.1'], { callOffersPerSec: 0.1, callOffersBurst: 2 });
    const first = await call('alice.1', ['bob']);
    await send('alice.1', { t: 'call.hangup', call: first.call });
    await drop('alice.1');
    await connect('alice.1');
    await call('alice.1', ['bob']);
    await send('alice.1', { t: 'call.offer', cid: 'r3', to: ['bob'], media: 'audio', sdp: 'v=0' });
    const [limited] = errors('alice.1');
    assert.deepEqual([limited?.code, limited?.cid, limited?.retryable], ['rate_limited', 'r3', true]);
    const busy = await setup(['carol.1', 'dave.1']);
    busy.c.nodes[0]!.node.setEventLoopDelay(10_000);
    await busy.send('carol.1', { t: 'call.offer', cid: 'ov', to: ['dave'], media: 'audio', sdp: 'v=0' });
    assert.deepEqual(busy.errors('carol.1').map((e) => [e.code, e.cid]), [['overloaded', 'ov']]);
    assert.equal(busy.got('dave.1', 'call.offer').length, 0);
    assert.equal(c.nodes[0]!.node.metrics.calls.placed, 2);
  });

  it('answers a failed store with unavailable and the cid, ringing no one', async () => {
    const { c, send, errors, got } = await setup(['alice.1', 'bob.1']);
    c.faults.calls.failNext('place');
    await send('alice.1', { t: 'call.offer', cid: 'f1', to: ['bob'], media: 'audio', sdp: 'v=0' });
    assert.deepEqual(errors('alice.1').map((e) => [e.code, e.cid, e.retryable]), [['unavailable', 'f1', true]]);
    assert.equal(got('bob.1', 'call.offer').length, 0);
    assert.equal(c.ports.calls.size, 0);
  });
});
