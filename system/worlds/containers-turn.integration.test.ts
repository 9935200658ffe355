import assert from 'node:assert/strict';
import { allocateOnce } from '../../test/support/turn-allocate.ts';
import { TokenIssuer } from '../auth/tokens.ts';
import { WallClock } from '../clock/clock-wall.ts';
import type { TurnCredentials } from '../protocol/frames.ts';
import { sharedCassandra } from '../testing/shared-cassandra.ts';
import { TestClient } from '../../test/support/client.ts';
import { provisionDocker } from './containers-images.ts';
import { ContainersWorld } from './containers.ts';
import { scratchDir } from './infra/provisioning.ts';
import { startRedis, type RedisServer } from './infra/redis-server.ts';

/**
 * The containers world with `turn`: coturn in its own container (the local
 * image chatlab/coturn:local, built by scripts/provision-docker.sh), handed to
 * the node containers. Redis and Cassandra are the test's own (the node and
 * relay containers are what is under test). Needs a Docker engine: `before`
 * provisions it and fails with the script's words when it cannot.
 */
describe('Containers world with a TURN relay (coturn container)', function () {
  this.timeout(400_000);
  let world: ContainersWorld | undefined;
  let redis: RedisServer | undefined;
  const clients: TestClient[] = [];

  before(function () {
    this.timeout(900_000);
    provisionDocker('provision');
  });
  after(async () => {
    for (const c of clients.splice(0)) c.terminate();
    await world?.stop();
    await redis?.stop();
  });

  it('runs coturn in a container and hands the node containers its URL and secret', async () => {
    const { contactPoint } = await sharedCassandra();
    redis = await startRedis({ dir: scratchDir('containers-turn-redis') });
    world = await ContainersWorld.start({ nodes: 1, dir: scratchDir('containers-turn'), cassandra: contactPoint, redisUrl: redis.url, turn: true });
    console.log(`      coturn container ready in ${world.timings.turn} ms`);
    const turn = world.turn!;
    assert.match(turn.urls[0]!, /^turn:127\.0\.0\.1:\d+\?transport=udp$/);
    const tokens = new TokenIssuer(world.secret, new WallClock());
    const alice = await TestClient.connect(world.nodes[0]!.url, tokens.issue('alice.1', 60_000));
    const bob = await TestClient.connect(world.nodes[0]!.url, tokens.issue('bob.1', 60_000)); // signed in once: a user to call
    clients.push(alice, bob);
    alice.send({ t: 'call.offer', cid: 'k1', to: ['bob'], media: 'audio', sdp: 'v=0' });
    const placed = await alice.next('call.placed');
    assert.deepEqual(placed.turn.urls, turn.urls);
    assert.ok((await allocateOnce(placed.turn)) > 0, 'the credentials allocate on the container');
  });
});
