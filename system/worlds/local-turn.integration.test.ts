import assert from 'node:assert/strict';
import { allocateOnce } from '../../test/support/turn-allocate.ts';
import { readFileSync } from 'node:fs';
import { TokenIssuer } from '../auth/tokens.ts';
import { WallClock } from '../clock/clock-wall.ts';
import type { TurnCredentials } from '../protocol/frames.ts';
import { sharedCassandra } from '../testing/shared-cassandra.ts';
import { TestClient } from '../../test/support/client.ts';
import { stunBinding } from './infra/coturn-server.ts';
import { coturnMissing, scratchDir } from './infra/provisioning.ts';
import { LocalWorld } from './local.ts';

// The local world with `turn`: a real coturn, its URL and secret in every node
// process's environment, so the credentials a call carries work on it.
describe('Local world with a TURN relay (coturn)', function () {
  this.timeout(300_000);
  let world: LocalWorld | undefined;
  const clients: TestClient[] = [];

  before(function () {
    const missing = coturnMissing();
    if (missing.length > 0 && !process.env.CI) {
      console.log(`      skipped: ${missing.join(', ')} — run \`bash scripts/provision.sh\``);
      this.skip();
    }
  });
  after(async () => {
    for (const c of clients.splice(0)) c.terminate();
    await world?.stop();
  });

  it('starts coturn, hands its URL and secret to the node processes, and stops and starts it as a chaos control', async () => {
    const { contactPoint } = await sharedCassandra();
    world = await LocalWorld.start({ nodes: 1, dir: scratchDir('local-turn'), cassandra: contactPoint, turn: true });
    const turn = world.turn!;
    assert.match(turn.urls[0]!, /^turn:127\.0\.0\.1:\d+\?transport=udp$/);
    const env = readFileSync(`/proc/${world.nodes[0]!.proc.pid}/environ`, 'utf8').split('\0');
    assert.ok(env.includes(`CHATLAB_TURN_URLS=${turn.urls.join(',')}`));
    assert.ok(env.includes(`CHATLAB_TURN_SECRET=${turn.secret}`));

    const tokens = new TokenIssuer(world.secret, new WallClock());
    const alice = await TestClient.connect(world.nodes[0]!.url, tokens.issue('alice.1', 60_000));
    const bob = await TestClient.connect(world.nodes[0]!.url, tokens.issue('bob.1', 60_000)); // signed in once: a user to call
    clients.push(alice, bob);
    alice.send({ t: 'call.offer', cid: 'k1', to: ['bob'], media: 'audio', sdp: 'v=0' });
    const placed = await alice.next('call.placed');
    assert.deepEqual(placed.turn.urls, turn.urls);
    const relayed = await allocateOnce(placed.turn);
    assert.ok(relayed >= world.coturn!.minPort && relayed <= world.coturn!.maxPort);

    const port = world.coturn!.port;
    await world.controls().stopTurn!();
    await assert.rejects(stunBinding(port, 200));
    await world.controls().startTurn!();
    await stunBinding(port, 1000);
    assert.ok((await allocateOnce(placed.turn)) > 0);
    assert.equal(world.watchdog.marks.length, 0, 'a stop the world made is not an observed fault');
  });
});
