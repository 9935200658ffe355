import assert from 'node:assert/strict';
import { unhandledRejectionsOf } from '../testing/harness.ts';
import { coreCluster } from '../testing/node-harness.ts';

describe('ChatNode (core, no sockets)', () => {
  it('acks a send once it is stored and delivers it to the online recipient', async () => {
    const c = await coreCluster();
    const a = await c.connect('alice.1');
    const b = await c.connect('bob.1');
    await c.frame(a, { t: 'send', cid: 'm1', to: 'bob', body: 'hi' });
    const [ack] = c.nodes[0]!.transport.take(a, 'ack');
    assert.equal(ack!.cid, 'm1');
    assert.equal(ack!.seq, 1);
    const msgs = c.nodes[0]!.transport.take(b, 'msg');
    assert.deepEqual(msgs.map((m) => [m.body, m.mid, m.from]), [['hi', ack!.mid, 'alice.1']]);
  });

  it('answers a resend of the same cid with the original ack and stores nothing new', async () => {
    const c = await coreCluster();
    const a = await c.connect('alice.1');
    await c.connect('bob.1');
    await c.frame(a, { t: 'send', cid: 'same', to: 'bob', body: 'x' });
    await c.frame(a, { t: 'send', cid: 'same', to: 'bob', body: 'x' });
    const acks = c.nodes[0]!.transport.take(a, 'ack');
    assert.equal(acks.length, 2);
    assert.equal(acks[1]!.mid, acks[0]!.mid);
    assert.equal(acks[1]!.dup, true);
    assert.deepEqual(acks[1], { ...acks[0], dup: true });
    // Dedup keeps the ack's fields, not its JSON (one such value per message sent within the dedup TTL).
    const kept = await c.ports.dedup.claim('alice.1|same', 1000);
    assert.deepEqual(kept, { state: 'done', result: `${acks[0]!.mid} ${acks[0]!.seq} ${acks[0]!.ts} ${acks[0]!.conv}` });
    assert.equal((await c.ports.log.page(acks[0]!.conv, 0, 10)).length, 1);
    assert.equal(await c.ports.sequencer.current(acks[0]!.conv), 1);
  });

  it('gives increasing seqs per conversation, shared by both directions', async () => {
    const c = await coreCluster();
    const a = await c.connect('alice.1');
    const b = await c.connect('bob.1');
    await c.frame(a, { t: 'send', cid: '1', to: 'bob', body: 'a' });
    await c.frame(b, { t: 'send', cid: '1', to: 'alice', body: 'b' });
    await c.frame(a, { t: 'send', cid: '2', to: 'bob', body: 'c' });
    const t = c.nodes[0]!.transport;
    assert.deepEqual([...t.take(a, 'ack'), ...t.take(b, 'ack')].map((x) => x.seq).sort(), [1, 2, 3]);
    assert.deepEqual(t.take(b, 'msg').map((m) => m.seq), [1, 3]);
  });

  it('does not ack when the inbox write fails, and answers a retryable error', async () => {
    const c = await coreCluster();
    const a = await c.connect('alice.1');
    await c.connect('bob.1');
    c.faults.inbox.failNext('put');
    await c.frame(a, { t: 'send', cid: 'f1', to: 'bob', body: 'lost?' });
    const t = c.nodes[0]!.transport;
    assert.equal(t.take(a, 'ack').length, 0);
    const [err] = t.take(a, 'error');
    assert.equal(err!.code, 'unavailable');
    assert.equal(err!.retryable, true);
    assert.equal(err!.cid, 'f1');
    await c.frame(a, { t: 'send', cid: 'f1', to: 'bob', body: 'lost?' });
    assert.equal(t.take(a, 'ack').length, 1, 'the retry with the same cid succeeds');
  });

  it('sends a delivered receipt to every device of the sender once the recipient acks', async () => {
    const c = await coreCluster();
    const a1 = await c.connect('alice.1');
    const a2 = await c.connect('alice.2');
    const b = await c.connect('bob.1');
    await c.frame(a1, { t: 'send', cid: 'r1', to: 'bob', body: 'hey' });
    const t = c.nodes[0]!.transport;
    const [msg] = t.take(b, 'msg');
    assert.equal(t.take(a2, 'msg').length, 1, "the sender's other device gets a copy");
    assert.equal(t.take(a1, 'receipt').length, 0);
    await c.frame(b, { t: 'recv', ids: [msg!.mid] });
    for (const conn of [a1, a2]) {
      const [r] = t.take(conn, 'receipt');
      assert.equal(r!.kind, 'delivered');
      assert.equal(r!.mid, msg!.mid);
      assert.equal(r!.by, 'bob.1');
    }
    assert.equal(await c.ports.inbox.count('bob.1'), 0, 'the acked entry left the inbox');
  });

  it('sends read receipts up to a seq', async () => {
    const c = await coreCluster();
    const a = await c.connect('alice.1');
    const b = await c.connect('bob.1');
    await c.frame(a, { t: 'send', cid: '1', to: 'bob', body: 'x' });
    const t = c.nodes[0]!.transport;
    const [msg] = t.take(b, 'msg');
    await c.frame(b, { t: 'read', conv: msg!.conv, upTo: msg!.seq });
    const reads = t.take(a, 'receipt').filter((r) => r.kind === 'read');
    assert.equal(reads.length, 1);
    assert.equal(reads[0]!.upTo, 1);
  });

  it('keeps messages for an offline device and drains them in order, page by page, on hello', async () => {
    const c = await coreCluster(1, { drainPageSize: 10, unackedWindowMax: 10 });
    const a = await c.connect('alice.1');
    await c.connect('bob.1');
    c.nodes[0]!.node.onClose(2 ** 30); // unknown connection: ignored
    const t = c.nodes[0]!.transport;
    const bobConn = [...c.nodes[0]!.node.connections.byDevice.values()].find((x) => x.device === 'bob.1')!.id;
    c.nodes[0]!.node.onClose(bobConn);
    await c.settle();
    for (let i = 0; i < 25; i++) await c.frame(a, { t: 'send', cid: `o${i}`, to: 'bob', body: `m${i}` });
    assert.equal(await c.ports.inbox.count('bob.1'), 25);
    assert.ok(c.ports.push.stats.wakes >= 25, 'offline recipient got push wake-ups');
    const b = await c.connect('bob.1');
    assert.equal(t.take(b, 'msg').length, 10, 'first page only until it is acked');
    for (let page = 0; page < 3; page++) {
      const ids = t.take(b, 'msg').map((m) => m.mid);
      await c.frame(b, { t: 'recv', ids });
    }
    const seqs = t.take(b, 'msg').map((m) => m.seq);
    assert.deepEqual(seqs, Array.from({ length: 25 }, (_, i) => i + 1));
    assert.equal(t.take(b, 'drained').length, 1);
    assert.equal(await c.ports.inbox.count('bob.1'), 0);
  });

  it('routes across nodes through the bus', async () => {
    const c = await coreCluster(2);
    const a = await c.connect('alice.1', 0);
    const b = await c.connect('bob.1', 1);
    await c.frame(a, { t: 'send', cid: 'x', to: 'bob', body: 'across' }, 0);
    assert.equal(c.nodes[1]!.transport.take(b, 'msg')[0]!.body, 'across');
  });

  it('rejects a bad token with 4401', async () => {
    const c = await coreCluster();
    c.nodes[0]!.node.onOpen(999);
    await c.frame(999, { t: 'hello', token: 'forged.token' });
    assert.equal(c.nodes[0]!.transport.closed.get(999)?.code, 4401);
    assert.equal(c.nodes[0]!.transport.take(999, 'error')[0]!.code, 'unauthorized');
  });

  it('rejects an expired token with token_expired', async () => {
    const c = await coreCluster();
    const token = c.tokens.issue('alice.1', 1000);
    c.clock.advance(2000);
    c.nodes[0]!.node.onOpen(998);
    await c.frame(998, { t: 'hello', token });
    assert.equal(c.nodes[0]!.transport.take(998, 'error')[0]!.code, 'token_expired');
    assert.equal(c.nodes[0]!.transport.closed.get(998)?.code, 4401);
  });

  it('answers malformed frames with bad_frame and closes with 1008 after repeated offences', async () => {
    const c = await coreCluster(1, { maxOffences: 3 });
    const a = await c.connect('alice.1');
    const t = c.nodes[0]!.transport;
    c.nodes[0]!.node.onFrame(a, '{not json');
    await c.frame(a, { t: 'send', cid: 1, to: 'bob', body: 'x' });
    assert.deepEqual(t.take(a, 'error').map((e) => e.code), ['bad_frame', 'bad_frame']);
    assert.equal(t.closed.has(a), false);
    await c.frame(a, { t: 'nope' });
    assert.equal(t.take(a, 'error')[2]!.code, 'unknown_type');
    assert.equal(t.closed.get(a)?.code, 1008);
  });

  it('rate-limits a device with rate_limited and a retry hint', async () => {
    const c = await coreCluster(1, { rateLimitPerSec: 1, rateLimitBurst: 2 });
    const a = await c.connect('alice.1');
    await c.connect('bob.1');
    for (let i = 0; i < 3; i++) await c.frame(a, { t: 'send', cid: `r${i}`, to: 'bob', body: 'x' });
    const t = c.nodes[0]!.transport;
    assert.equal(t.take(a, 'ack').length, 2);
    const [err] = t.take(a, 'error');
    assert.equal(err!.code, 'rate_limited');
    assert.ok(err!.retryAfterMs! > 0);
  });

  it('sheds sends with overloaded when the event loop lags', async () => {
    const c = await coreCluster(1, { overloadEventLoopDelayMs: 100 });
    const a = await c.connect('alice.1');
    await c.connect('bob.1');
    c.nodes[0]!.node.setEventLoopDelay(250);
    await c.frame(a, { t: 'send', cid: 'o', to: 'bob', body: 'x' });
    assert.equal(c.nodes[0]!.transport.take(a, 'error')[0]!.code, 'overloaded');
  });

  it('hands over deliveries dropped while the registry was unreachable once its heartbeat succeeds again', async () => {
    const c = await coreCluster();
    const a = await c.connect('alice.1');
    const b = await c.connect('bob.1');
    const t = c.nodes[0]!.transport;
    c.faults.registry.failNext('lookup');
    await c.frame(a, { t: 'send', cid: 'r1', to: 'bob', body: 'during the outage' });
    assert.equal(t.take(a, 'ack').length, 1, 'stored, so acked');
    assert.equal(t.take(b, 'msg').length, 0, 'the live route failed');
    c.faults.registry.failNext('heartbeat');
    c.clock.advance(1000);
    await c.settle();
    assert.equal(t.take(b, 'msg').length, 0);
    c.clock.advance(1000);
    await c.settle();
    assert.deepEqual(t.take(b, 'msg').map((m) => m.body), ['during the outage'], 'redrained from the inbox');
  });

  it('survives the registry failing between a heartbeat and the peer list, and redrains once it answers again', async () => {
    const c = await coreCluster();
    const a = await c.connect('alice.1');
    const b = await c.connect('bob.1');
    const t = c.nodes[0]!.transport;
    // A partition starts just after the heartbeat got through: the peer list and the live route fail.
    c.faults.registry.failNext('nodes');
    c.faults.registry.failNext('lookup');
    const unhandled = await unhandledRejectionsOf(async () => {
      await c.frame(a, { t: 'send', cid: 'w1', to: 'bob', body: 'while the peer list failed' });
      c.clock.advance(1000);
      await c.settle();
    });
    assert.deepEqual(unhandled, [], 'a failed peer list is not an unhandled rejection (it would end the process)');
    assert.equal(t.take(b, 'msg').length, 0, 'the live route failed');
    for (let i = 0; i < 2; i++) {
      c.clock.advance(1000);
      await c.settle();
    }
    assert.deepEqual(t.take(b, 'msg').map((m) => m.body), ['while the peer list failed'], 'redrained from the inbox');
  });

  it("welcomes a user's new device only once no node can serve a device list without it, so it gets every later message", async () => {
    const c = await coreCluster(2);
    const a = await c.connect('alice.1', 0);
    const b1 = await c.connect('bob.1', 1);
    await c.frame(a, { t: 'send', cid: 'n1', to: 'bob', body: 'to bob.1 only' }, 0);
    assert.equal(c.nodes[1]!.transport.take(b1, 'msg').length, 1, "n1 now caches bob's devices as [bob.1]");
    const before = c.clock.now();
    const b2 = await c.connect('bob.2', 1);
    assert.ok(c.clock.now() - before >= 2000, `bob.2 welcomed after ${c.clock.now() - before} ms, within n1's directory cache`);
    await c.frame(a, { t: 'send', cid: 'n2', to: 'bob', body: 'after bob.2 was welcomed' }, 0);
    assert.deepEqual(c.nodes[1]!.transport.take(b2, 'msg').map((m) => m.body), ['after bob.2 was welcomed']);
    // A known device signs in again at once; so does a user's first device, and a new one on a node alone in its cluster.
    const again = c.clock.now();
    await c.connect('bob.2', 0);
    await c.connect('carol.1', 1);
    assert.equal(c.clock.now(), again);
    const solo = await coreCluster(1);
    const start = solo.clock.now();
    await solo.connect('carol.1');
    await solo.connect('carol.2');
    assert.equal(solo.clock.now(), start);
  });

  it('makes at least one of two devices of a new user registering at once on two nodes wait', async () => {
    const c = await coreCluster(2);
    const hello = (device: string, n: number, conn: number) => {
      c.nodes[n]!.node.onOpen(conn);
      c.nodes[n]!.node.onFrame(conn, JSON.stringify({ t: 'hello', token: c.tokens.issue(device, 3600_000) }));
    };
    hello('dave.1', 0, 9001);
    hello('dave.2', 1, 9002);
    await c.settle();
    const welcomed = () => [c.nodes[0]!.transport.take(9001, 'welcome').length, c.nodes[1]!.transport.take(9002, 'welcome').length];
    assert.ok(welcomed().includes(0), `both welcomed at once: ${welcomed()}`);
    c.clock.advance(2000);
    await c.settle();
    assert.deepEqual(welcomed(), [1, 1]);
  });

  it('keeps a device registered and reachable when it signs in again on the same node before its old connection closed', async () => {
    const c = await coreCluster(2);
    const a = await c.connect('alice.1', 0);
    const old = await c.connect('bob.1', 1);
    // The socket dropped without the node hearing of it; the device is back on the same node.
    const fresh = await c.connect('bob.1', 1);
    assert.equal(c.nodes[1]!.transport.closed.get(old)?.reason, 'connected again');
    assert.equal((await c.ports.registry.lookup(['bob.1'])).get('bob.1'), 'n2', "the old connection's close did not unregister the device");
    await c.frame(a, { t: 'send', cid: 'again1', to: 'bob', body: 'after the reconnect' }, 0);
    assert.deepEqual(c.nodes[1]!.transport.take(fresh, 'msg').map((m) => m.body), ['after the reconnect'], 'delivered live, not left in the inbox');
    assert.equal(c.nodes[1]!.transport.take(old, 'msg').length, 0);
  });

  it('wakes a device by push when its connection closes with deliveries it never acked', async () => {
    const c = await coreCluster();
    const a = await c.connect('alice.1');
    const b = await c.connect('bob.1');
    await c.frame(a, { t: 'send', cid: 'w1', to: 'bob', body: 'unread' });
    assert.equal(c.nodes[0]!.transport.take(b, 'msg').length, 1);
    const before = c.ports.push.stats.wakes;
    c.nodes[0]!.node.onClose(b);
    await c.settle();
    assert.equal(c.ports.push.stats.wakes, before + 1, 'one wake-up for the unacked delivery');
    assert.equal(await c.ports.inbox.count('bob.1'), 1, 'the message waits in the inbox');
  });

  it('wakes a device by push when it disconnects between the sender node\'s registry lookup and the envelope\'s arrival', async () => {
    const c = await coreCluster(2);
    const a = await c.connect('alice.1', 0);
    const b = await c.connect('bob.1', 1);
    // The bus hands the envelope over only after bob's connection on n2 has closed: the lookup said n2, n2 no longer has him.
    const bus = c.ports.bus;
    const publish = bus.publish.bind(bus);
    bus.publish = (target, env) => {
      if (env.k === 'deliver' && env.item.kind === 'msg') c.nodes[1]!.node.onClose(b);
      return publish(target, env);
    };
    await c.frame(a, { t: 'send', cid: 'r1', to: 'bob', body: 'in flight' }, 0);
    assert.equal(c.nodes[0]!.transport.take(a, 'ack').length, 1);
    assert.equal(c.nodes[1]!.transport.take(b, 'msg').length, 0, 'bob was gone when it arrived');
    assert.equal(c.ports.push.wakesOf('bob.1'), 1, 'one wake-up, so bob comes back and drains it');
    assert.equal(await c.ports.inbox.count('bob.1'), 1, 'the message waits in the inbox');
  });

  it('does not push a device that closes with nothing owed', async () => {
    const c = await coreCluster();
    const a = await c.connect('alice.1');
    const b = await c.connect('bob.1');
    await c.frame(a, { t: 'send', cid: 'w2', to: 'bob', body: 'read' });
    await c.frame(b, { t: 'recv', ids: c.nodes[0]!.transport.take(b, 'msg').map((m) => m.mid) });
    const before = c.ports.push.stats.wakes;
    c.nodes[0]!.node.onClose(b);
    await c.settle();
    assert.equal(c.ports.push.stats.wakes, before);
  });

  it('re-drains its devices when a peer dies, so a message the dead node acked but never routed arrives', async () => {
    const c = await coreCluster(2, { heartbeatIntervalMs: 1000 });
    const a = await c.connect('alice.1', 0);
    const b = await c.connect('bob.1', 1);
    c.clock.advance(1000);
    await c.settle();
    // node 1 acks, then dies before its envelope reaches node 2.
    c.ports.bus.setFilter((_node, env) => env.k !== 'deliver');
    await c.frame(a, { t: 'send', cid: 'k1', to: 'bob', body: 'acked then orphaned' }, 0);
    assert.equal(c.nodes[0]!.transport.take(a, 'ack').length, 1);
    c.nodes[0]!.node.kill();
    c.ports.bus.setFilter(() => true);
    assert.equal(c.nodes[1]!.transport.take(b, 'msg').length, 0);
    for (let i = 0; i < 5; i++) {
      c.clock.advance(1000);
      await c.settle();
    }
    assert.deepEqual(c.nodes[1]!.transport.take(b, 'msg').map((m) => m.body), ['acked then orphaned']);
  });

  it('drains its devices again after standing still past its heartbeat TTL, so what peers pushed meanwhile arrives', async () => {
    const c = await coreCluster(2, { heartbeatIntervalMs: 1000 });
    const a = await c.connect('alice.1', 0);
    const b = await c.connect('bob.1', 1);
    c.clock.advance(1000);
    await c.settle();
    // n2 is paused (SIGSTOP): its heartbeats are never sent, its sockets stay open.
    const registry = c.ports.registry;
    const beat = registry.heartbeat.bind(registry);
    let paused = true;
    registry.heartbeat = (node, ttl) => (paused && node === 'n2' ? new Promise<void>(() => {}) : beat(node, ttl));
    for (let i = 0; i < 4; i++) {
      c.clock.advance(1000);
      await c.settle();
    }
    await c.frame(a, { t: 'send', cid: 'p1', to: 'bob', body: 'sent while n2 looked dead' }, 0);
    assert.equal(c.nodes[0]!.transport.take(a, 'ack').length, 1);
    assert.equal(c.nodes[1]!.transport.take(b, 'msg').length, 0, 'n1 saw n2 dead and did not route to it');
    paused = false;
    for (let i = 0; i < 3; i++) {
      c.clock.advance(1000);
      await c.settle();
    }
    assert.deepEqual(c.nodes[1]!.transport.take(b, 'msg').map((m) => m.body), ['sent while n2 looked dead']);
    assert.equal(c.nodes[1]!.node.metrics.redrains.get('this node lapsed'), 2);
  });

});
