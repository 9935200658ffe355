import { EmbeddedCluster } from '../../system/worlds/embedded.ts';
import { LocalWorld } from '../../system/worlds/local.ts';
import { ContainersWorld } from '../../system/worlds/containers.ts';
import { join } from 'node:path';
import type { NodeRef } from './config.ts';
import type { ToxicSpec } from '../../system/worlds/infra/toxiproxy.ts';
import { connectCassandra } from '../../system/drivers/cassandra-client.ts';
import { CassandraInbox } from '../../system/inbox/inbox-cassandra.ts';
import type { InboxAccess } from './classify.ts';
import type { ObservedMark } from '../../system/worlds/infra/watchdog.ts';

/** A running cluster as the engine sees it: where to connect, how to sign tokens, and the chaos controls it offers. */
export interface World {
  kind: string;
  nodes: NodeRef[];
  pushUrl?: string;
  secret: string;
  /** Chaos controls the world supports (the chaos schedule checks these before a run). */
  control: {
    killNode?(index: number): Promise<void>;
    stopNode?(index: number): Promise<void>;
    restartNode?(index: number): Promise<void>;
    pauseNode?(index: number): Promise<void>;
    resumeNode?(index: number): Promise<void>;
    /**
     * Cut `a` from `b` ('node-2', 'devices', 'redis', 'cassandra'); returns the heal.
     * sim: any pair; local (with proxies): a node from redis, cassandra or its devices.
     */
    partition?(a: string, b: string): (() => unknown) | Promise<() => Promise<unknown>>;
    /** sim: extra latency on a link class; returns the revert. */
    addLatency?(link: 'device-gateway' | 'node-node' | 'node-store' | 'push', ms: number): () => void;
    /** sim: loss on a link class; returns the revert. */
    setLoss?(link: 'device-gateway' | 'node-node' | 'node-store' | 'push', p: number): () => void;
    /** sim: a store stops answering; returns the revert. */
    storeOutage?(store: 'redis' | 'cassandra' | 'push'): () => void;
    /** local: stop the Redis server (graceful, AOF kept) / start it again on the same port. */
    stopRedis?(): Promise<void>;
    startRedis?(): Promise<void>;
    /** local: stop the Cassandra node (graceful) / start it again on the same ports and data (~12 s). */
    stopCassandra?(): Promise<void>;
    startCassandra?(): Promise<void>;
    /** local with proxies: Toxiproxy links between each node and its peers. */
    network?: NetworkControl;
  };
  /**
   * Faults nobody scheduled that the world noticed (a process that exited or
   * stopped answering), epoch times; the live engine puts those overlapping
   * its load in the report. Local world only: an embedded node shares the
   * engine's process, so nothing outside can kill it alone.
   */
  observed?(): readonly ObservedMark[];
  /** The in-process cluster, when the world is embedded (tests reach its fault hooks through it). */
  embedded?: EmbeddedCluster;
  /** The local world's processes and servers. */
  local?: LocalWorld;
  /** The containers world's containers. */
  containers?: ContainersWorld;
  /** Where server-side logs were written, if any. */
  logsDir?: string;
  /**
   * The world's own inbox store, for the end-of-run question "late or lost?";
   * absent when chatlab has no access to the cluster's stores (`--target`, a
   * cluster started by `chatlab up`).
   */
  openInbox?(): Promise<InboxAccess>;
  stop(): Promise<void>;
}

/** Per-link network faults (Toxiproxy): links are named `node-N:redis`, `node-N:cassandra`, `node-N:devices`. */
export interface NetworkControl {
  links(): string[];
  /** Adds a toxic to one link; resolves to its removal. */
  addToxic(link: string, toxic: ToxicSpec): Promise<() => Promise<void>>;
  /** Cuts one link (connections closed, new ones refused); resolves to the heal. */
  cut(link: string): Promise<() => Promise<void>>;
}

export interface WorldOptions {
  nodes: number;
  seed: number;
  outDir: string;
  /** local world: servers the user already runs. */
  redisUrl?: string;
  cassandra?: string;
  /** local: route node and device traffic through Toxiproxy (the chaos schedule has network faults). */
  proxies?: boolean;
}

export type WorldFactory = (o: WorldOptions) => Promise<World>;

export const worlds: Record<string, WorldFactory> = {
  embedded: async ({ nodes, seed }) => {
    const c = await EmbeddedCluster.start({ nodes, seed });
    return {
      kind: 'embedded',
      nodes: c.nodes.map((n) => ({ id: n.id, url: n.url, number: n.index + 1 })),
      pushUrl: c.push.subscribeUrl,
      secret: c.secret,
      control: {
        killNode: (i) => c.killNode(i),
        stopNode: (i) => c.stopNode(i),
        restartNode: (i) => c.restartNode(i),
      },
      embedded: c,
      openInbox: async () => ({ inbox: c.ports.inbox, close: async () => {} }),
      stop: () => c.stop(),
    };
  },
  local: async ({ nodes, outDir, redisUrl, cassandra, proxies }) => {
    const dir = join(outDir, 'servers');
    const w = await LocalWorld.start({ nodes, dir, redisUrl, cassandra, proxies });
    return {
      kind: 'local',
      nodes: w.nodes.map((n, i) => ({ id: n.id, url: w.deviceUrl(i), number: n.number })),
      pushUrl: w.pushUrl.replace('http://', 'ws://') + '/subscribe',
      secret: w.secret,
      control: {
        ...nodeControls(w),
        ...localDependencyControls(w),
      },
      logsDir: dir,
      observed: () => w.watchdog.marks,
      local: w,
      openInbox: () => cassandraInbox(w.cassandra, w.keyspace),
      stop: () => w.stop(),
    };
  },
  /** Redis, Cassandra, push and the nodes in containers (Testcontainers); images from CHATLAB_*_IMAGE or the local ones. */
  containers: async ({ nodes, outDir, redisUrl, cassandra }) => {
    const dir = join(outDir, 'servers');
    const w = await ContainersWorld.start({ nodes, dir, redisUrl, cassandra });
    return {
      kind: 'containers',
      nodes: w.nodes.map((n) => ({ id: n.id, url: n.url, number: n.number })),
      pushUrl: w.pushUrl.replace('http://', 'ws://') + '/subscribe',
      secret: w.secret,
      control: {
        ...nodeControls(w),
      },
      logsDir: dir,
      observed: () => w.watchdog.marks,
      containers: w,
      openInbox: () => cassandraInbox(w.cassandra, w.keyspace),
      stop: () => w.stop(),
    };
  },
};

/** A short-lived session of the engine's own on the world's Cassandra (direct, not through any chaos proxy). */
export async function cassandraInbox(contactPoint: string, keyspace: string): Promise<InboxAccess> {
  const session = await connectCassandra({ contactPoints: [contactPoint], keyspace });
  return { inbox: new CassandraInbox({ session }), close: () => session.close() };
}

/** Dependency and network controls of a local world: only for servers it started, and links it proxies. */
function localDependencyControls(w: LocalWorld): World['control'] {
  const link = (name: string) => {
    const l = w.links.get(name);
    if (!l) throw new Error(`no network link ${name}; links: ${[...w.links.keys()].join(', ')}`);
    return l;
  };
  const network: NetworkControl | undefined = w.links.size === 0 ? undefined : {
    links: () => [...w.links.keys()],
    addToxic: (name, toxic) => link(name).addToxic(toxic),
    cut: (name) => link(name).cut(),
  };
  return {
    ...(w.redis ? { stopRedis: () => w.stopRedis(), startRedis: () => w.startRedis() } : {}),
    ...(w.cassandraServer ? { stopCassandra: () => w.stopCassandra(), startCassandra: () => w.startCassandra() } : {}),
    ...(network ? { network, partition: (a: string, b: string) => network.cut(`${a}:${b}`) } : {}),
  };
}

/** The node controls a world of node processes or containers offers, bound to it. */
function nodeControls(w: Record<'killNode' | 'stopNode' | 'restartNode' | 'pauseNode' | 'resumeNode', (i: number) => Promise<void>>): World['control'] {
  return {
    killNode: (i) => w.killNode(i),
    stopNode: (i) => w.stopNode(i),
    restartNode: (i) => w.restartNode(i),
    pauseNode: (i) => w.pauseNode(i),
    resumeNode: (i) => w.resumeNode(i),
  };
}

/** A cluster someone else runs: `--target ws://host:port/ws` (several comma-separated) with its token secret. */
export function targetWorld(target: string, secret: string | undefined, pushUrl?: string): World {
  const urls = target.split(',').map((u) => u.trim()).filter(Boolean);
  for (const u of urls) {
    const host = new URL(u).hostname;
    if (!/^(127\.\d+\.\d+\.\d+|localhost|\[::1\]|::1)$/.test(host)) {
      throw new Error(`--target ${u}: load runs target loopback only (127.0.0.0/8, ::1, localhost)`);
    }
  }
  if (!secret) throw new Error('--target needs --secret (the cluster token secret, CHATLAB_SECRET) so devices can sign in');
  return {
    kind: 'target',
    nodes: urls.map((url, i) => ({ id: `target-${i + 1}`, url, number: -1 })),
    pushUrl,
    secret,
    control: {},
    stop: async () => {},
  };
}
