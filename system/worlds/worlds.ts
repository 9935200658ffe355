import { join } from 'node:path';
import { connectCassandra } from '../drivers/cassandra-client.ts';
import { CassandraInbox } from '../inbox/inbox-cassandra.ts';
import { ContainersWorld } from './containers.ts';
import { EmbeddedCluster } from './embedded.ts';
import { LocalWorld } from './local.ts';
import type { InboxAccess, World } from './world.ts';

/** A world chatlab started itself, with the parts tests and calibration reach past the World contract. */
export interface StartedWorld extends World {
  /** The in-process cluster, when the world is embedded (tests reach its fault hooks through it). */
  embedded?: EmbeddedCluster;
  /** The local world's processes and servers. */
  local?: LocalWorld;
  /** The containers world's containers. */
  containers?: ContainersWorld;
}

export interface WorldOptions {
  nodes: number;
  seed: number;
  outDir: string;
  /** local world: servers the user already runs. */
  redisUrl?: string;
  /** local world: start a 3-master Redis Cluster instead of one redis-server (LocalWorldOptions.redisCluster). */
  redisCluster?: boolean;
  cassandra?: string;
  /** local world: 3 starts a Cassandra ring (replication factor 3, LOCAL_QUORUM) instead of one node (LocalWorldOptions.cassandraNodes). */
  cassandraNodes?: 1 | 3;
  /** local: route node and device traffic through Toxiproxy (the chaos schedule has network faults). */
  proxies?: boolean;
  /**
   * embedded and local: the wire tap, every frame each node receives and sends
   * appended to `<frameTap>/<node id>.frames.jsonl` (gateway/frame-tap.ts). Off by default.
   */
  frameTap?: string;
  /** local and containers: start the media service and its object store (the scenario uploads media). The embedded world always has it. */
  media?: boolean;
  /**
   * A TURN relay for calls (the scenario has calls): the embedded world's
   * in-process stand-in, the local world's coturn, the containers world's
   * coturn container. Its URLs and secret are the world's `turn`, and every
   * node gets them.
   */
  turn?: boolean;
  /** How long calls ring on every node (the scenario's `behaviour.calls.ringMs`), ms; default the node's. */
  callRingMs?: number;
  /** embedded and local, with `turn`: a lossy UDP link in front of the relay, for the `relay-loss` fault. */
  relayLoss?: boolean;
}

export type WorldFactory = (o: WorldOptions) => Promise<StartedWorld>;

/** The worlds the live engine can start, by name. */
export const worlds: Record<string, WorldFactory> = {
  embedded: async ({ nodes, seed, frameTap, turn, callRingMs, relayLoss }) => {
    const c = await EmbeddedCluster.start({
      nodes, seed, relay: turn, relayLoss, ...(callRingMs ? { node: { callRingMs } } : {}), ...(frameTap ? { gateway: { frameTapDir: frameTap } } : {}),
    });
    return {
      kind: 'embedded',
      nodes: c.nodes.map((n) => ({ id: n.id, url: n.url, number: n.index + 1 })),
      pushUrl: c.push.subscribeUrl,
      media: c.media.endpoints,
      secret: c.secret,
      ...(c.turn ? { turn: c.turn } : {}),
      control: c.controls(),
      embedded: c,
      openInbox: async () => ({ inbox: c.ports.inbox, close: async () => {} }),
      stop: () => c.stop(),
    };
  },
  local: async ({ nodes, outDir, redisUrl, redisCluster, cassandra, cassandraNodes, proxies, frameTap, media, turn, callRingMs, relayLoss }) => {
    const dir = join(outDir, 'servers');
    const w = await LocalWorld.start({ nodes, dir, redisUrl, redisCluster, cassandra, cassandraNodes, proxies, frameTap, media, turn, callRingMs, relayLoss });
    return {
      kind: 'local',
      nodes: w.nodes.map((n, i) => ({ id: n.id, url: w.deviceUrl(i), number: n.number })),
      pushUrl: w.pushUrl.replace('http://', 'ws://') + '/subscribe',
      ...(w.media ? { media: w.media } : {}),
      secret: w.secret,
      ...(w.turn ? { turn: w.turn } : {}),
      control: w.controls(),
      logsDir: dir,
      observed: () => w.watchdog.marks,
      local: w,
      openInbox: () => cassandraInbox(w.cassandra, w.keyspace),
      stop: () => w.stop(),
    };
  },
  /** Redis, Cassandra, push and the nodes in containers (Testcontainers); images from CHATLAB_*_IMAGE or the local ones. */
  containers: async ({ nodes, outDir, redisUrl, cassandra, frameTap, media, turn, callRingMs }) => {
    if (frameTap) throw new Error('the frame tap writes files where the node runs: embedded and local worlds only');
    const dir = join(outDir, 'servers');
    const w = await ContainersWorld.start({ nodes, dir, redisUrl, cassandra, media, turn, callRingMs });
    return {
      kind: 'containers',
      nodes: w.nodes.map((n) => ({ id: n.id, url: n.url, number: n.number })),
      pushUrl: w.pushUrl.replace('http://', 'ws://') + '/subscribe',
      ...(w.media ? { media: w.media } : {}),
      secret: w.secret,
      ...(w.turn ? { turn: w.turn } : {}),
      control: w.controls(),
      logsDir: dir,
      observed: () => w.watchdog.marks,
      containers: w,
      openInbox: () => cassandraInbox(w.cassandra, w.keyspace),
      stop: () => w.stop(),
    };
  },
};

/** Starts a world by name. */
export async function startWorld(kind: string, opts: WorldOptions): Promise<StartedWorld> {
  const make = worlds[kind];
  if (!make) throw new Error(`unknown world "${kind}": available here: ${Object.keys(worlds).join(', ')}`);
  return make(opts);
}

/** A short-lived session of the engine's own on the world's Cassandra (direct, not through any chaos proxy); `contactPoint` may list a ring's nodes, comma-separated. */
export async function cassandraInbox(contactPoint: string, keyspace: string): Promise<InboxAccess> {
  const session = await connectCassandra({ contactPoints: contactPoint.split(','), keyspace });
  return { inbox: new CassandraInbox({ session }), close: () => session.close() };
}
