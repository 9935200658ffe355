import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { ProtocolLimits } from '../protocol/frames.ts';
import { unhandledRejectionsOf } from '../testing/harness.ts';
import { coreCluster, type CoreCluster } from '../testing/node-harness.ts';

const b64 = (bytes: number, fill = 1) => Buffer.alloc(bytes, fill).toString('base64url');
const bundle = () => ({
  identityKey: b64(32),
  signedPreKey: { id: 7, key: b64(32, 2), signature: b64(64, 3) },
  oneTimePreKeys: [{ id: 1, key: b64(32, 4) }],
});

/** A token signed with the cluster's secret for any claims, as TokenIssuer.issue would refuse to make. */
function forge(claims: object): string {
  const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return `${body}.${createHmac('sha256', 'test-secret-of-enough-length').update(body).digest('base64url')}`;
}

async function pair(c: CoreCluster): Promise<{ a: number; b: number }> {
  return { a: await c.connect('alice.1'), b: await c.connect('bob.1') };
}

/** A bystander pair still gets its messages across. */
async function assertServes(c: CoreCluster, tag: string): Promise<void> {
  const t = c.nodes[0]!.transport;
  const x = await c.connect(`x${tag}.1`);
  const y = await c.connect(`y${tag}.1`);
  await c.frame(x, { t: 'send', cid: tag, to: `y${tag}`, body: 'still here' });
  assert.equal(t.take(x, 'ack').length, 1);
  assert.deepEqual(t.take(y, 'msg').map((m) => m.body), ['still here']);
}

describe('ChatNode input handling', () => {
  it('answers unknown_type to every Object.prototype member as t, before and after hello, and keeps serving', async () => {
    const c = await coreCluster(1, { maxOffences: 1000 });
    const t = c.nodes[0]!.transport;
    const names = Object.getOwnPropertyNames(Object.prototype);
    c.nodes[0]!.node.onOpen(500);
    const a = await c.connect('alice.1');
    const unhandled = await unhandledRejectionsOf(async () => {
      for (const name of names) {
        assert.doesNotThrow(() => c.nodes[0]!.node.onFrame(500, JSON.stringify({ t: name })), name);
        assert.doesNotThrow(() => c.nodes[0]!.node.onFrame(a, JSON.stringify({ t: name })), name);
        assert.doesNotThrow(() => c.nodes[0]!.node.onFrame(a, { t: name }), name);
      }
      await c.settle();
    });
    assert.deepEqual(unhandled, []);
    assert.deepEqual(t.take(500, 'error').map((e) => e.code), names.map(() => 'unknown_type'));
    assert.deepEqual(t.take(a, 'error').map((e) => e.code), [...names, ...names].map(() => 'unknown_type'));
    assert.equal(t.closed.has(500) || t.closed.has(a), false);
    await assertServes(c, 'proto');
  });

  it('closes a connection with 1011 when a port rejects with a TypeError, without an unhandled rejection or internal text', async () => {
    const c = await coreCluster();
    const t = c.nodes[0]!.transport;
    const a = await c.connect('alice.1');
    c.ports.keys.publish = () => Promise.reject(new TypeError("Cannot read properties of undefined (reading 'map')"));
    const unhandled = await unhandledRejectionsOf(() => c.frame(a, { t: 'keys.publish', bundle: bundle() }));
    assert.deepEqual(unhandled, []);
    assert.equal(t.closed.get(a)?.code, 1011);
    assert.equal(t.closed.get(a)?.reason, 'internal error');
    assert.equal(t.take(a, 'error').length, 0, 'no internal message reaches the device');
    await assertServes(c, 'reject');
  });

  it('closes a connection with 1011 when a handler throws synchronously, and onFrame does not throw', async () => {
    const c = await coreCluster();
    const t = c.nodes[0]!.transport;
    const a = await c.connect('alice.1');
    c.nodes[0]!.node.delivery.onRecv = () => {
      throw new TypeError('thrown before any promise');
    };
    const unhandled = await unhandledRejectionsOf(async () => {
      assert.doesNotThrow(() => c.nodes[0]!.node.onFrame(a, JSON.stringify({ t: 'recv', ids: ['m1'] })));
      await c.settle();
    });
    assert.deepEqual(unhandled, []);
    assert.equal(t.closed.get(a)?.code, 1011);
    await assertServes(c, 'sync');
  });

  it('closes a sender with 1011 when a port throws synchronously mid-send, and releases its in-flight slot', async () => {
    const c = await coreCluster();
    const t = c.nodes[0]!.transport;
    const { a } = await pair(c);
    const claim = c.ports.dedup.claim.bind(c.ports.dedup);
    c.ports.dedup.claim = () => {
      throw new TypeError('not a promise at all');
    };
    const unhandled = await unhandledRejectionsOf(() => c.frame(a, { t: 'send', cid: 's1', to: 'bob', body: 'x' }));
    c.ports.dedup.claim = claim;
    assert.deepEqual(unhandled, []);
    assert.equal(t.closed.get(a)?.code, 1011);
    assert.equal(c.nodes[0]!.node.metrics.inFlight, 0);
    await assertServes(c, 'claim');
  });

  it('answers unavailable, retryable, only when a port fails', async () => {
    const c = await coreCluster();
    const t = c.nodes[0]!.transport;
    const a = await c.connect('alice.1');
    c.faults.keys.failNext('publish');
    await c.frame(a, { t: 'keys.publish', bundle: bundle() });
    const [err] = t.take(a, 'error');
    assert.equal(err!.code, 'unavailable');
    assert.equal(err!.retryable, true);
    assert.equal(t.closed.has(a), false);
  });

  for (const [what, hello] of [['without a token', { t: 'hello' }], ['with a number as token', { t: 'hello', token: 12345 }]] as const) {
    it(`refuses a hello ${what} with unauthorized and closes 4401`, async () => {
      const c = await coreCluster();
      const t = c.nodes[0]!.transport;
      c.nodes[0]!.node.onOpen(700);
      await c.frame(700, hello);
      assert.deepEqual(t.take(700, 'error').map((e) => e.code), ['unauthorized']);
      assert.equal(t.closed.get(700)?.code, 4401);
    });
  }

  it('refuses a token for device 0 (devices are numbered 1..999), as /auth/verify does', async () => {
    const c = await coreCluster();
    const t = c.nodes[0]!.transport;
    for (const [conn, device] of [[701, 'alice.0'], [702, 'alice.1000'], [703, 'alice.01']] as const) {
      c.nodes[0]!.node.onOpen(conn);
      await c.frame(conn, { t: 'hello', token: forge({ u: 'alice', d: device, exp: c.clock.now() + 60_000 }) });
      assert.deepEqual(t.take(conn, 'error').map((e) => e.code), ['unauthorized'], device);
      assert.equal(t.closed.get(conn)?.code, 4401, device);
      assert.equal(t.take(conn, 'welcome').length, 0, device);
    }
    assert.deepEqual(await c.ports.accounts.devices('alice'), []);
    assert.throws(() => c.tokens.issue('alice.0', 1000), /not a device id/);
  });

  it('answers too_large with the cid to a body over 60 KiB in UTF-8, and stores nothing', async () => {
    const c = await coreCluster();
    const t = c.nodes[0]!.transport;
    const { a, b } = await pair(c);
    // 30,721 two-byte characters: under 60 Ki characters, over 60 KiB.
    await c.frame(a, { t: 'send', cid: 'big', to: 'bob', body: 'é'.repeat(ProtocolLimits.maxBodyBytes / 2 + 1) });
    const [err] = t.take(a, 'error');
    assert.equal(err!.code, 'too_large');
    assert.equal(err!.cid, 'big');
    assert.equal(t.take(a, 'ack').length, 0);
    assert.equal(t.take(b, 'msg').length, 0);
    assert.equal(await c.ports.sequencer.current('d:alice:bob'), 0);
    assert.equal(await c.ports.inbox.count('bob.1'), 0);
  });

  it('gives a bad_frame for a send the cid of the send', async () => {
    const c = await coreCluster();
    const t = c.nodes[0]!.transport;
    const { a } = await pair(c);
    await c.frame(a, { t: 'send', cid: 'k1', to: 'bob', body: 'x', kind: 'video' });
    assert.deepEqual(t.take(a, 'error').map((e) => [e.code, e.cid]), [['bad_frame', 'k1']]);
  });

  it('refuses a read with upTo beyond the last seq (or not a safe integer) and relays no receipt', async () => {
    const c = await coreCluster();
    const t = c.nodes[0]!.transport;
    const { a, b } = await pair(c);
    await c.frame(a, { t: 'send', cid: '1', to: 'bob', body: 'x' });
    const [msg] = t.take(b, 'msg');
    await c.frame(b, { t: 'recv', ids: [msg!.mid] });
    const before = t.take(a, 'receipt').length;
    const inboxBefore = await c.ports.inbox.count('alice.1');
    await c.frame(b, { t: 'read', conv: msg!.conv, upTo: 1e300 });
    await c.frame(b, { t: 'read', conv: msg!.conv, upTo: 2 });
    assert.deepEqual(t.take(b, 'error').map((e) => e.code), ['bad_frame', 'bad_frame']);
    assert.match(t.take(b, 'error')[1]!.message, /upTo must not exceed the conversation's last seq \(1\)/);
    assert.equal(t.take(a, 'receipt').length, before, 'nothing relayed');
    assert.equal(await c.ports.inbox.count('alice.1'), inboxBefore, 'nothing queued');
    await c.frame(b, { t: 'read', conv: msg!.conv, upTo: 1 });
    assert.equal(t.take(a, 'receipt').filter((r) => r.kind === 'read').length, 1, 'a read within range is relayed');
  });

  it("refuses a read of another pair's conversation or of a group it is not in with forbidden", async () => {
    const c = await coreCluster();
    const t = c.nodes[0]!.transport;
    const { a, b } = await pair(c);
    const carol = await c.connect('carol.1');
    await c.frame(b, { t: 'send', cid: '1', to: 'carol', body: 'x' });
    await c.frame(b, { t: 'group.create', gid: 'bc', name: 'bc', members: ['carol'] });
    await c.frame(b, { t: 'send', cid: '2', to: 'g:bc', body: 'y' });
    const receiptsBefore = t.take(b, 'receipt').length + t.take(carol, 'receipt').length;
    await c.frame(a, { t: 'read', conv: 'd:bob:carol', upTo: 1 });
    await c.frame(a, { t: 'read', conv: 'g:bc', upTo: 1 });
    await c.frame(a, { t: 'read', conv: 'g:nosuch', upTo: 1 });
    assert.deepEqual(t.take(a, 'error').map((e) => e.code), ['forbidden', 'forbidden', 'forbidden']);
    assert.equal(t.take(b, 'receipt').length + t.take(carol, 'receipt').length, receiptsBefore);
    assert.equal((await c.ports.groups.receipts('bc', 1)).read, 0);
  });

  it('refuses group.create and group.add of users that never signed in with not_found naming them, and stores nothing', async () => {
    const c = await coreCluster();
    const t = c.nodes[0]!.transport;
    const { a } = await pair(c);
    await c.frame(a, { t: 'group.create', gid: 'g1', name: 'g', members: ['bob', 'ghost1', 'ghost2'] });
    const [err] = t.take(a, 'error');
    assert.equal(err!.code, 'not_found');
    assert.equal(err!.message, 'group.create: no such user: ghost1, ghost2');
    assert.equal(await c.ports.groups.get('g1'), undefined);
    await c.frame(a, { t: 'group.create', gid: 'g2', name: 'g', members: ['bob'] });
    assert.equal(t.take(a, 'group').length, 1);
    await c.frame(a, { t: 'group.add', gid: 'g2', users: ['ghost3'] });
    assert.deepEqual(t.take(a, 'error').map((e) => [e.code, e.message]).slice(1), [['not_found', 'group.add: no such user: ghost3']]);
    assert.deepEqual((await c.ports.groups.members('g2')).sort(), ['alice', 'bob']);
  });

  it('refuses a malformed key bundle with bad_frame and stores nothing', async () => {
    const c = await coreCluster();
    const t = c.nodes[0]!.transport;
    const a = await c.connect('alice.1');
    await c.frame(a, { t: 'keys.publish', bundle: { identityKey: 'BBBB', signedPreKey: 'BBBB', oneTimePreKeys: 'BBBB' } });
    await c.frame(a, { t: 'keys.publish', bundle: 'not an object' });
    assert.deepEqual(t.take(a, 'error').map((e) => e.code), ['bad_frame', 'bad_frame']);
    assert.deepEqual(await c.ports.keys.fetch('alice'), []);
  });

  it('stores a well-formed key bundle, and answers a fetch of an unknown user with an empty list', async () => {
    const c = await coreCluster();
    const t = c.nodes[0]!.transport;
    const { a, b } = await pair(c);
    await c.frame(a, { t: 'keys.publish', bundle: bundle() });
    assert.deepEqual(t.take(a, 'keys'), [{ t: 'keys', user: 'alice', bundles: [] }]);
    await c.frame(b, { t: 'keys.fetch', user: 'alice' });
    await c.frame(b, { t: 'keys.fetch', user: 'nobody' });
    const [got, none] = t.take(b, 'keys');
    assert.deepEqual(got!.bundles, [{ device: 'alice.1', identityKey: b64(32), signedPreKey: bundle().signedPreKey, oneTimePreKey: bundle().oneTimePreKeys[0] }]);
    assert.deepEqual(none, { t: 'keys', user: 'nobody', bundles: [] });
  });
});
