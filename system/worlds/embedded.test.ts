import assert from 'node:assert/strict';
import { EmbeddedCluster } from './embedded.ts';
import { TestClient, sleep } from '../../test/support/client.ts';

describe('Embedded world over real WebSockets', function () {
  this.timeout(30_000);
  let cluster: EmbeddedCluster;
  const clients: TestClient[] = [];
  const connect = async (device: string, node = 0) => {
    const c = await TestClient.connect(cluster.nodes[node]!.url, cluster.issueToken(device));
    clients.push(c);
    return c;
  };

  beforeEach(async () => {
    cluster = await EmbeddedCluster.start({ nodes: 3, seed: 1, node: { rateLimitPerSec: 10_000, rateLimitBurst: 10_000 } });
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.terminate();
    await cluster.stop();
  });

  it('delivers 1:1 on one node and across nodes', async () => {
    const alice = await connect('alice.1', 0);
    const bob = await connect('bob.1', 0);
    const carol = await connect('carol.1', 2);
    await alice.sendAndAck('a1', 'bob', 'same node');
    await alice.sendAndAck('a2', 'carol', 'cross node');
    assert.equal((await bob.next('msg')).body, 'same node');
    assert.equal((await carol.next('msg')).body, 'cross node');
    assert.equal((await alice.next('receipt', (r) => r.kind === 'delivered')).kind, 'delivered');
  });

  it('drains every message in order to a recipient that was offline', async () => {
    const alice = await connect('alice.1', 0);
    const bob = await connect('bob.1', 1);
    bob.close();
    await bob.closed();
    await sleep(50);
    for (let i = 0; i < 250; i++) await alice.sendAndAck(`o${i}`, 'bob', `m${i}`);
    const again = await connect('bob.1', 2);
    await again.next('drained', () => true, 10_000);
    const seqs = again.of('msg').map((m) => m.seq);
    assert.deepEqual(seqs, Array.from({ length: 250 }, (_, i) => i + 1));
    assert.equal(await cluster.ports.inbox.count('bob.1'), 0);
  });

  for (const [size, fanout] of [[50, 'write'], [300, 'read']] as const) {
    it(`delivers a message in a group of ${size} (fan-out on ${fanout}) to every member device exactly once`, async () => {
      const members = Array.from({ length: size }, (_, i) => `m${i}`);
      const devices = await Promise.all(members.map((u, i) => connect(`${u}.1`, i % 3)));
      const owner = devices[0]!;
      owner.send({ t: 'group.create', name: 'g', members });
      const g = await owner.next('group');
      assert.equal(g.fanout, fanout);
      await owner.sendAndAck('g1', `g:${g.gid}`, 'hello group');
      await Promise.all(devices.slice(1).map((d) => d.until('msg', 1)));
      await sleep(200);
      for (const d of devices.slice(1)) {
        const mids = new Set(d.of('msg').map((m) => m.mid));
        assert.equal(mids.size, 1, 'one distinct message per device');
      }
      assert.equal(owner.of('msg').length, 0, 'the sender does not get its own message back');
      owner.send({ t: 'group.receipts', gid: g.gid, seq: 1 });
      const r = await owner.next('group.receipts');
      assert.equal(r.delivered, size - 1, 'aggregated receipts count every member that got it');
    });
  }

  it('never delivers typing to a device that was offline when it happened', async () => {
    const alice = await connect('alice.1', 0);
    const bob = await connect('bob.1', 1);
    bob.close();
    await bob.closed();
    await sleep(50);
    alice.send({ t: 'typing', to: 'bob' });
    await alice.sendAndAck('t1', 'bob', 'after typing');
    const again = await connect('bob.1', 1);
    await again.next('drained');
    assert.equal(again.of('typing').length, 0);
    assert.equal(again.of('msg').length, 1);
    const bobOnline = again;
    alice.send({ t: 'typing', to: 'bob' });
    assert.equal((await bobOnline.next('typing')).from, 'alice');
  });

  it('reports presence and last seen to subscribers', async () => {
    const alice = await connect('alice.1', 0);
    const bob = await connect('bob.1', 1);
    alice.send({ t: 'presence.sub', users: ['bob'] });
    const now = await alice.next('presence');
    assert.equal(now.online, true);
    const before = Date.now();
    bob.close();
    const off = await alice.next('presence', (p) => !p.online, 5000);
    assert.ok(off.lastSeenMs >= before - 1000, 'last seen is the time the user went offline');
  });

  it('moves the devices of a stopped node to other nodes without losing a message', async () => {
    const alice = await connect('alice.1', 0);
    const bob = await connect('bob.1', 1);
    for (let i = 0; i < 20; i++) await alice.sendAndAck(`s${i}`, 'bob', `before ${i}`);
    await bob.until('msg', 20);
    await cluster.killNode(1);
    assert.equal(await bob.closed(), 1006);
    for (let i = 20; i < 40; i++) await alice.sendAndAck(`s${i}`, 'bob', `during ${i}`);
    const moved = await connect('bob.1', 2);
    await moved.next('drained');
    const seen = new Set([...bob.of('msg'), ...moved.of('msg')].map((m) => m.seq));
    assert.equal(seen.size, 40);
  });

  it('signs in with a phone number and a one-time code over HTTP', async () => {
    const base = cluster.nodes[0]!.url.replace('ws://', 'http://').replace('/ws', '');
    const post = (path: string, body: object) =>
      fetch(base + path, { method: 'POST', body: JSON.stringify(body) }).then(async (r) => ({ status: r.status, body: await r.json() }));
    const req = await post('/auth/request', { phone: '+15550001111' });
    assert.equal(req.status, 200);
    const wrong = await post('/auth/verify', { phone: '+15550001111', code: req.body.code === '000000' ? '111111' : '000000' });
    assert.equal(wrong.status, 401);
    const bad = await post('/auth/request', { phone: 'not a phone' });
    assert.equal(bad.status, 400);
    const ok = await post('/auth/request', { phone: '+15550002222' });
    const v = await post('/auth/verify', { phone: '+15550002222', code: ok.body.code, device: 2 });
    assert.equal(v.body.device, 'p15550002222.2');
    const c = await TestClient.connect(cluster.nodes[0]!.url, v.body.token);
    clients.push(c);
    assert.equal(c.of('welcome')[0]!.device, 'p15550002222.2');
  });

  it('exposes Prometheus metrics per node', async () => {
    const alice = await connect('alice.1', 0);
    await connect('bob.1', 0);
    await alice.sendAndAck('m', 'bob', 'x');
    const text = await fetch(cluster.nodes[0]!.url.replace('ws://', 'http://').replace('/ws', '/metrics')).then((r) => r.text());
    assert.match(text, /chatlab_messages_acked_total\{node="node-1"\} 1/);
    assert.match(text, /chatlab_connections\{node="node-1"\} 2/);
  });
});

describe('Gateway limits over real WebSockets', function () {
  this.timeout(20_000);
  let cluster: EmbeddedCluster;
  afterEach(async () => cluster?.stop());

  it('rejects a bad token by closing with 4401', async () => {
    cluster = await EmbeddedCluster.start({ nodes: 1 });
    const c = new TestClient(cluster.nodes[0]!.url);
    await c.open();
    c.send({ t: 'hello', token: 'nope' });
    assert.equal(await c.closed(), 4401);
    assert.equal(c.of('error')[0]!.code, 'unauthorized');
  });

  it('answers an oversized frame with too_large and keeps the connection', async () => {
    cluster = await EmbeddedCluster.start({ nodes: 1 });
    const c = await TestClient.connect(cluster.nodes[0]!.url, cluster.issueToken('alice.1'));
    c.raw(JSON.stringify({ t: 'send', cid: 'big', to: 'bob', body: 'x'.repeat(100_000) }));
    assert.equal((await c.next('error')).code, 'too_large');
    c.send({ t: 'ping' });
    await c.next('pong');
    c.terminate();
  });

  it('closes with 1009 a frame far beyond the limit', async () => {
    cluster = await EmbeddedCluster.start({ nodes: 1 });
    const c = await TestClient.connect(cluster.nodes[0]!.url, cluster.issueToken('alice.1'));
    c.raw('x'.repeat(300_000));
    assert.equal(await c.closed(), 1009);
  });

  it('answers unknown_type over a real socket to every Object.prototype member as t, before and after hello, and keeps serving', async () => {
    cluster = await EmbeddedCluster.start({ nodes: 1, node: { maxOffences: 1000 } });
    const url = cluster.nodes[0]!.url;
    const names = Object.getOwnPropertyNames(Object.prototype);
    const anon = new TestClient(url);
    await anon.open();
    const alice = await TestClient.connect(url, cluster.issueToken('alice.1'));
    for (const name of names) {
      anon.raw(JSON.stringify({ t: name }));
      alice.raw(JSON.stringify({ t: name }));
    }
    for (const c of [anon, alice]) {
      const errors = await c.until('error', names.length);
      assert.deepEqual(errors.map((e) => e.code), names.map(() => 'unknown_type'));
    }
    const bob = await TestClient.connect(url, cluster.issueToken('bob.1'));
    await alice.sendAndAck('p1', 'bob', 'still serving');
    assert.equal((await bob.next('msg')).body, 'still serving');
    for (const c of [anon, alice, bob]) c.terminate();
  });

  it('closes with 1008 after repeated malformed frames, binary included', async () => {
    cluster = await EmbeddedCluster.start({ nodes: 1 });
    const c = await TestClient.connect(cluster.nodes[0]!.url, cluster.issueToken('alice.1'));
    c.raw('{oops');
    c.raw(Buffer.from([1, 2, 3]));
    c.send({ t: 'send' });
    assert.equal(await c.closed(), 1008);
    assert.deepEqual(c.of('error').map((e) => e.code), ['bad_frame', 'bad_frame', 'bad_frame']);
  });

  it('disconnects a slow consumer with 4408 and keeps its messages in the inbox', async () => {
    // A byte window far above what the kernel's socket buffers absorb: the gateway's own bound must act.
    const node = { rateLimitPerSec: 10_000, rateLimitBurst: 10_000, unackedWindowMaxBytes: 64 * 1024 * 1024 };
    cluster = await EmbeddedCluster.start({ nodes: 1, gateway: { maxBufferedBytes: 64 * 1024 }, node });
    const url = cluster.nodes[0]!.url;
    const alice = await TestClient.connect(url, cluster.issueToken('alice.1'));
    const bob = await TestClient.connect(url, cluster.issueToken('bob.1'), false);
    (bob as unknown as { ws: { _socket: { pause(): void } } }).ws._socket.pause();
    const body = 'y'.repeat(30_000);
    let acked = 0;
    for (let i = 0; i < 400 && bob.closeCode === undefined; i++) {
      await alice.sendAndAck(`b${i}`, 'bob', body);
      acked++;
    }
    (bob as unknown as { ws: { _socket: { resume(): void } } }).ws._socket.resume();
    assert.equal(await bob.closed(), 4408);
    await sleep(100);
    assert.equal(await cluster.ports.inbox.count('bob.1'), acked, 'nothing acked by bob left his inbox');
    alice.terminate();
  });

  it('closes a socket that never says hello with 4001 after helloTimeoutMs', async () => {
    cluster = await EmbeddedCluster.start({ nodes: 1, node: { helloTimeoutMs: 400 } });
    const idle = new TestClient(cluster.nodes[0]!.url);
    await idle.open();
    const signedIn = await TestClient.connect(cluster.nodes[0]!.url, cluster.issueToken('alice.1'));
    assert.equal(await idle.closed(), 4001);
    await sleep(200);
    assert.equal(signedIn.closeCode, undefined, 'a signed-in socket stays open');
    signedIn.terminate();
  });

  it('bounds the presence frames 100 subscriptions of 1,000 users each can cause on one socket', async () => {
    cluster = await EmbeddedCluster.start({ nodes: 1 });
    const c = await TestClient.connect(cluster.nodes[0]!.url, cluster.issueToken('alice.1'));
    for (let k = 0; k < 100; k++) c.send({ t: 'presence.sub', users: Array.from({ length: 1000 }, (_, i) => `s${k}x${i}`) });
    await c.until('error', 98);
    await sleep(300);
    assert.equal(c.of('presence').length, 2000, 'two subscriptions fit the cap of 2,000 users');
    const codes = new Set(c.of('error').map((e) => e.code));
    assert.deepEqual([...codes].sort(), ['rate_limited', 'too_large']);
    assert.equal(c.closeCode, undefined);
    c.send({ t: 'ping' });
    await c.next('pong');
    c.terminate();
  });

  it('drains 400 pending messages of 60 KiB on one connection to a device that acks each as it arrives', async () => {
    cluster = await EmbeddedCluster.start({ nodes: 1, node: { rateLimitPerSec: 10_000, rateLimitBurst: 10_000 } });
    const url = cluster.nodes[0]!.url;
    const alice = await TestClient.connect(url, cluster.issueToken('alice.1'));
    const first = await TestClient.connect(url, cluster.issueToken('bob.1'));
    first.close();
    await first.closed();
    await sleep(50);
    const body = 'z'.repeat(60 * 1024);
    for (let i = 0; i < 400; i++) await alice.sendAndAck(`d${i}`, 'bob', body);
    const bob = await TestClient.connect(url, cluster.issueToken('bob.1'));
    const closed = bob.closed().then((code) => assert.fail(`closed ${code} after ${bob.of('msg').length} messages`));
    const drained = await Promise.race([bob.next('drained', () => true, 15_000), closed]);
    assert.equal(bob.closeCode, undefined, 'the connection stayed open');
    assert.equal(drained.count, 400);
    assert.equal(new Set(bob.of('msg').map((m) => m.seq)).size, 400);
    await sleep(100);
    assert.equal(await cluster.ports.inbox.count('bob.1'), 0);
    alice.terminate();
    bob.terminate();
  });
});
