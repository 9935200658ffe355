import assert from 'node:assert/strict';
import { CloseCodes } from '../protocol/errors.ts';
import { coreCluster } from '../testing/node-harness.ts';

describe('Limits on client work (core, virtual time)', () => {
  it('sheds typing over the per-connection rate without an answer', async () => {
    const c = await coreCluster(1, { typingPerSec: 5, typingBurst: 10 });
    const a = await c.connect('alice.1');
    const b = await c.connect('bob.1');
    for (let i = 0; i < 200; i++) c.nodes[0]!.node.onFrame(a, JSON.stringify({ t: 'typing', to: 'bob' }));
    await c.settle();
    const t = c.nodes[0]!.transport;
    assert.equal(t.take(b, 'typing').length, 10, 'the burst is relayed, the rest shed');
    assert.equal(t.take(a, 'error').length, 0, 'typing is ephemeral: shed silently');
    c.clock.advance(1000);
    await c.frame(a, { t: 'typing', to: 'bob' });
    assert.equal(t.take(b, 'typing').length, 11, 'the rate refills');
  });

  const rated = [
    { kind: 'ping', frame: { t: 'ping' }, opts: { pingPerSec: 1, pingBurst: 3 }, burst: 3 },
    { kind: 'presence.sub', frame: { t: 'presence.sub', users: ['bob'] }, opts: { presenceSubPerSec: 1, presenceSubBurst: 3 }, burst: 3 },
    { kind: 'keys.fetch', frame: { t: 'keys.fetch', user: 'bob' }, opts: { keysPerSec: 1, keysBurst: 3 }, burst: 3 },
    { kind: 'keys.count', frame: { t: 'keys.count' }, opts: { keysPerSec: 1, keysBurst: 3 }, burst: 3 },
    { kind: 'keys.distribute', frame: { t: 'keys.distribute', cid: 'd1', gid: 'g1', bodies: { 'bob.1': 'AAAA' } }, opts: { keysDistributePerSec: 1, keysDistributeBurst: 3 }, burst: 3 },
    { kind: 'keys.introduce', frame: { t: 'keys.introduce', cid: 'i1', bodies: { 'bob.1': 'AAAA' } }, opts: { keysDistributePerSec: 1, keysDistributeBurst: 3 }, burst: 3 },
    { kind: 'read', frame: { t: 'read', conv: 'd:alice:bob', upTo: 1 }, opts: { readsPerSec: 1, readsBurst: 3 }, burst: 3 },
    { kind: 'group.list', frame: { t: 'group.list' }, opts: { groupQueriesPerSec: 1, groupQueriesBurst: 3 }, burst: 3 },
    { kind: 'group.devices', frame: { t: 'group.devices', gid: 'g1' }, opts: { groupQueriesPerSec: 1, groupQueriesBurst: 3 }, burst: 3 },
    { kind: 'group.create', frame: { t: 'group.create', name: 'g', members: ['bob'] }, opts: { groupChangesPerSec: 1, groupChangesBurst: 3 }, burst: 3 },
  ];
  for (const r of rated) {
    it(`answers ${r.kind} over its rate with rate_limited and a retry hint, for that connection only`, async () => {
      const c = await coreCluster(1, r.opts);
      const a = await c.connect('alice.1');
      const b = await c.connect('bob.1');
      for (let i = 0; i < r.burst + 2; i++) await c.frame(a, r.frame);
      const t = c.nodes[0]!.transport;
      const limited = t.take(a, 'error').filter((e) => e.code === 'rate_limited');
      assert.equal(limited.length, 2);
      assert.ok(limited.every((e) => e.retryable && e.retryAfterMs! > 0 && e.retryAfterMs! <= 1000));
      await c.frame(b, r.frame);
      assert.equal(t.take(b, 'error').filter((e) => e.code === 'rate_limited').length, 0, 'another connection is not starved');
      c.clock.advance(limited[0]!.retryAfterMs!);
      await c.frame(a, r.frame);
      assert.equal(t.take(a, 'error').filter((e) => e.code === 'rate_limited').length, 2, 'admitted again after retryAfterMs');
    });
  }

  it('keeps the group change rate of a device across reconnects', async () => {
    const c = await coreCluster(1, { groupChangesPerSec: 1, groupChangesBurst: 2 });
    await c.connect('bob.1');
    const a1 = await c.connect('alice.1');
    await c.frame(a1, { t: 'group.create', name: 'g', members: ['bob'] });
    await c.frame(a1, { t: 'group.create', name: 'g', members: ['bob'] });
    const a2 = await c.connect('alice.1');
    await c.frame(a2, { t: 'group.create', name: 'g', members: ['bob'] });
    assert.equal(c.nodes[0]!.transport.take(a2, 'error')[0]?.code, 'rate_limited');
  });

  it('refuses a group beyond groupMembersMax on create and on add with too_large', async () => {
    const c = await coreCluster(1, { groupMembersMax: 3 });
    const a = await c.connect('alice.1');
    // Members must exist (have signed in): the member cap is what refuses these groups.
    for (const d of ['bob.1', 'carol.1', 'dave.1']) await c.connect(d);
    await c.frame(a, { t: 'group.create', name: 'g', members: ['bob', 'carol', 'dave'] });
    const t = c.nodes[0]!.transport;
    assert.equal(t.take(a, 'error')[0]?.code, 'too_large');
    await c.frame(a, { t: 'group.create', name: 'g', gid: 'g1', members: ['bob', 'carol'] });
    assert.equal(t.take(a, 'group').length, 1);
    await c.frame(a, { t: 'group.add', gid: 'g1', users: ['dave'] });
    assert.deepEqual(t.take(a, 'error').map((e) => e.code), ['too_large', 'too_large']);
    assert.deepEqual((await c.ports.groups.members('g1')).sort(), ['alice', 'bob', 'carol']);
  });

  it('caps the users one connection subscribes to, so repeated subscriptions cannot multiply presence frames', async () => {
    const c = await coreCluster(1, { presenceSubscriptionsMax: 50, presenceSubPerSec: 1000, presenceSubBurst: 1000 });
    const a = await c.connect('alice.1');
    const users = (k: number) => Array.from({ length: 40 }, (_, i) => `u${k}x${i}`);
    for (let k = 0; k < 100; k++) await c.frame(a, { t: 'presence.sub', users: users(k) });
    const t = c.nodes[0]!.transport;
    assert.equal(t.take(a, 'presence').length, 40, 'only the first subscription fits under the cap');
    assert.equal(t.take(a, 'error').filter((e) => e.code === 'too_large').length, 99);
    await c.frame(a, { t: 'presence.sub', users: ['v1', 'v2', 'v3', 'v4', 'v5', 'v6', 'v7', 'v8', 'v9', 'v10'] });
    assert.equal(t.take(a, 'presence').length, 50, 'up to the cap exactly');
    await c.frame(a, { t: 'presence.sub', users: ['w1'] });
    assert.equal(t.take(a, 'error').filter((e) => e.code === 'too_large').length, 100);
  });

  it('bounds presence frames to one connection per second and coalesces the latest state per user', async () => {
    const c = await coreCluster(1, { presenceFramesPerSec: 10, presenceFramesBurst: 5 });
    const a = await c.connect('alice.1');
    const users = Array.from({ length: 20 }, (_, i) => `u${i}`);
    await c.frame(a, { t: 'presence.sub', users });
    const t = c.nodes[0]!.transport;
    assert.equal(t.take(a, 'presence').length, 5, 'the burst now');
    // u0 goes online while its first answer still waits: only its latest state is sent.
    const b = await c.connect('u19.1');
    c.clock.advance(1000);
    await c.settle();
    assert.ok(t.take(a, 'presence').length <= 5 + 10 + 1, 'at most the rate a second after the burst');
    for (let i = 0; i < 5; i++) {
      c.clock.advance(1000);
      await c.settle();
    }
    const seen = t.take(a, 'presence');
    assert.deepEqual(new Set(seen.map((p) => p.user)), new Set(users), 'every user is answered in the end');
    const last19 = seen.filter((p) => p.user === 'u19').at(-1)!;
    assert.equal(last19.online, true, 'the latest state of a user wins');
    assert.equal(seen.filter((p) => p.user === 'u19').length, 1, 'one frame per user while coalescing');
    void b;
  });

  it('closes a socket that has not completed hello within helloTimeoutMs with 4001', async () => {
    const c = await coreCluster(1, { helloTimeoutMs: 4000 });
    const { node, transport } = c.nodes[0]!;
    node.onOpen(9001);
    const ok = await c.connect('alice.1');
    c.clock.advance(3000);
    assert.equal(transport.closed.has(9001), false);
    c.clock.advance(2000);
    await c.settle();
    assert.equal(transport.closed.get(9001)?.code, CloseCodes.helloTimeout);
    assert.equal(transport.closed.has(ok), false, 'a signed-in socket stays');
  });

  it('does not cut a sign-in that presented a valid token and is still under way', async () => {
    const c = await coreCluster(2, { helloTimeoutMs: 4000, directoryCacheMs: 8000 });
    await c.connect('alice.1', 1);
    const { node, transport } = c.nodes[0]!;
    node.onOpen(9003);
    node.onFrame(9003, JSON.stringify({ t: 'hello', token: c.tokens.issue('alice.2', 3600_000) }));
    for (let i = 0; i < 12; i++) {
      c.clock.advance(1000);
      await c.settle();
    }
    assert.equal(transport.closed.has(9003), false);
    assert.equal(transport.take(9003, 'welcome').length, 1, 'welcomed after the directory fence (8 s), past the hello timeout');
  });

  it('answers frames before hello with not_ready up to unreadyFramesMax, then closes the socket with 1008', async () => {
    const c = await coreCluster(1, { unreadyFramesMax: 5 });
    const { node, transport } = c.nodes[0]!;
    node.onOpen(9002);
    for (let i = 0; i < 50; i++) node.onFrame(9002, JSON.stringify({ t: 'ping' }));
    await c.settle();
    const errors = transport.take(9002, 'error');
    assert.equal(errors.length, 5);
    assert.ok(errors.every((e) => e.code === 'not_ready' && e.retryable));
    assert.equal(transport.closed.get(9002)?.code, CloseCodes.policy);
  });

  it('refuses a device beyond devicesPerUserMax connected at once, counted across nodes, with 4429', async () => {
    const c = await coreCluster(2, { devicesPerUserMax: 2 });
    await c.connect('alice.1', 0);
    await c.connect('alice.2', 1);
    const third = await c.connect('alice.3', 0);
    const t = c.nodes[0]!.transport;
    assert.equal(t.closed.get(third)?.code, CloseCodes.tooManyDevices);
    assert.equal(t.take(third, 'error')[0]?.code, 'forbidden');
    assert.equal(t.take(third, 'welcome').length, 0);
    assert.ok(!(await c.ports.accounts.devicesOf(['alice'])).get('alice')!.includes('alice.3'), 'a refused device is not registered');
    const again = await c.connect('alice.2', 0);
    assert.equal(t.take(again, 'welcome').length, 1, 'a device already connected may connect again (it replaces itself)');
  });

  it('replaces the first connection of a device when the same device connects again (4409)', async () => {
    const c = await coreCluster(1);
    const first = await c.connect('alice.1');
    const second = await c.connect('alice.1');
    const t = c.nodes[0]!.transport;
    assert.equal(t.closed.get(first)?.code, CloseCodes.replaced);
    assert.equal(t.closed.has(second), false);
  });
});
