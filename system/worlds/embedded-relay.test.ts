import assert from 'node:assert/strict';
import { allocateOnce } from '../../test/support/turn-allocate.ts';
import type { TurnCredentials } from '../protocol/frames.ts';
import { TestClient } from '../../test/support/client.ts';
import { EmbeddedCluster } from './embedded.ts';
import { stunBinding } from './infra/coturn-server.ts';

// The embedded world's TURN relay: the in-process stand-in, its URL and secret
// handed to every node, so the credentials a call carries work on it.
describe('Embedded world with a relay', function () {
  this.timeout(30_000);
  let cluster: EmbeddedCluster;
  const clients: TestClient[] = [];

  afterEach(async () => {
    for (const c of clients.splice(0)) c.terminate();
    await cluster.stop();
  });

  it('hands calls credentials its stand-in relay accepts, and stops and starts the relay as a chaos control', async () => {
    cluster = await EmbeddedCluster.start({ nodes: 2, seed: 1, relay: true });
    assert.ok(cluster.turn);
    assert.match(cluster.turn.urls[0]!, /^turn:127\.0\.0\.1:\d+\?transport=udp$/);
    assert.notEqual(cluster.turn.secret, cluster.secret, 'the relay has a secret of its own');
    for (const n of cluster.nodes) assert.deepEqual(n.node.opts.turn, { ...cluster.turn, ttlS: 600 });
    const alice = await TestClient.connect(cluster.nodes[0]!.url, cluster.issueToken('alice.1'));
    const bob = await TestClient.connect(cluster.nodes[1]!.url, cluster.issueToken('bob.1'));
    clients.push(alice, bob);
    alice.send({ t: 'call.offer', cid: 'k1', to: ['bob'], media: 'audio', sdp: 'v=0' });
    const placed = await alice.next('call.placed');
    assert.deepEqual(placed.turn.urls, cluster.turn.urls);
    const offer = await bob.next('call.offer');
    assert.ok((await allocateOnce(placed.turn)) > 0, "the caller's credentials allocate");
    assert.ok((await allocateOnce(offer.turn)) > 0, "the callee's too");

    const control = cluster.controls();
    const port = cluster.relay!.port;
    await control.stopTurn!();
    await assert.rejects(stunBinding(port, 200), 'a stopped relay answers nothing');
    await control.startTurn!();
    assert.equal(cluster.relay!.port, port, 'back on the same port');
    assert.ok((await allocateOnce(placed.turn)) > 0);
  });

  it('runs no relay unless asked', async () => {
    cluster = await EmbeddedCluster.start({ nodes: 1, seed: 1 });
    assert.equal(cluster.turn, undefined);
    assert.equal(cluster.nodes[0]!.node.opts.turn, undefined);
    assert.equal(cluster.controls().stopTurn, undefined);
  });
});
