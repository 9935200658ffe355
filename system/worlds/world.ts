import type { Inbox } from '../inbox/inbox.ts';
import type { ToxicSpec } from './infra/toxiproxy.ts';
import type { ObservedMark } from './infra/watchdog.ts';

/** One chat node of a world, as devices reach it. */
export interface NodeRef {
  id: string;
  url: string;
  /** Snowflake node number: tells whether a message was stored by the recipient's own node. */
  number: number;
}

/** A world's inbox store for the end-of-run question, and how to let go of it. */
export interface InboxAccess {
  inbox: Inbox;
  close(): Promise<void>;
}

/** What a world can do to its nodes, by index; each resolves once it has been applied. */
export interface NodeControls {
  /** A crash: connections cut, in-flight work abandoned. */
  killNode?(index: number): Promise<void>;
  /** A graceful stop: devices are told to go and reconnect elsewhere. */
  stopNode?(index: number): Promise<void>;
  /** Back on the same address with a fresh core (memory state gone, the stores kept). */
  restartNode?(index: number): Promise<void>;
  /** Frozen: connections stay open and nothing answers. */
  pauseNode?(index: number): Promise<void>;
  resumeNode?(index: number): Promise<void>;
}

/** Link classes the sim world can slow down or make lossy. */
export type LinkKind = 'device-gateway' | 'node-node' | 'node-store' | 'push';

/** What a world can do to the links between its parts. Every fault returns its revert. */
export interface NetworkControls {
  /**
   * Cut `a` from `b` ('node-2', 'devices', 'redis', 'cassandra'); returns the heal.
   * sim: any pair; local (with proxies): a node from redis, cassandra or its devices.
   */
  partition?(a: string, b: string): (() => unknown) | Promise<() => Promise<unknown>>;
  /** sim: extra latency on a link class; returns the revert. */
  addLatency?(link: LinkKind, ms: number): () => void;
  /** sim: loss on a link class; returns the revert. */
  setLoss?(link: LinkKind, p: number): () => void;
  /** local with proxies: Toxiproxy links between each node and its peers. */
  network?: NetworkControl;
}

/** Per-link network faults (Toxiproxy): links are named `node-N:redis`, `node-N:cassandra`, `node-N:devices`. */
export interface NetworkControl {
  links(): string[];
  /** Adds a toxic to one link; resolves to its removal. */
  addToxic(link: string, toxic: ToxicSpec): Promise<() => Promise<void>>;
  /** Cuts one link (connections closed, new ones refused); resolves to the heal. */
  cut(link: string): Promise<() => Promise<void>>;
}

/** What a world can do to the stores its nodes depend on. Offered only for stores the world started itself. */
export interface DependencyControls {
  /** sim: a store stops answering; returns the revert. */
  storeOutage?(store: 'redis' | 'cassandra' | 'push'): () => void;
  /** local: stop the Redis server (graceful, AOF kept) / start it again on the same port. */
  stopRedis?(): Promise<void>;
  startRedis?(): Promise<void>;
  /** local: stop the Cassandra node (graceful) / start it again on the same ports and data (~12 s). */
  stopCassandra?(): Promise<void>;
  startCassandra?(): Promise<void>;
  /** local with a Cassandra ring (`--cassandra-nodes 3`): how many nodes the ring has. */
  cassandraNodes?(): number;
  /** local with a Cassandra ring: stop node `n` (from 1) gracefully ('stop', default) or with SIGKILL ('kill') / start it again on its data (~15 s). */
  stopCassandraNode?(n: number, how?: 'stop' | 'kill'): Promise<void>;
  startCassandraNode?(n: number): Promise<void>;
  /**
   * embedded, local: the TURN relay dies, every allocation with it (relayed
   * calls go silent) / comes back on the same port, empty (devices must
   * allocate again). Offered only when the world runs a relay (`turn`).
   */
  stopTurn?(): Promise<void>;
  startTurn?(): Promise<void>;
  /** embedded and local, with a lossy link in front of the relay (`relayLoss`): the share of relay packets dropped each way (0 restores it). */
  setRelayLoss?(share: number): void;
}

/**
 * The chaos controls a world offers, bound to it. A control that is absent is
 * not supported: the chaos schedule checks for it before a run and refuses
 * the fault, so a run never starts with a fault it cannot apply.
 */
export type WorldControls = NodeControls & NetworkControls & DependencyControls;

/**
 * A running cluster as the engines and the chaos schedule see it: where to
 * connect, how to sign tokens, and the controls it offers. Each world class
 * (embedded, local, containers, sim) binds its own controls in `controls()`;
 * a cluster someone else runs offers none.
 */
export interface World {
  kind: string;
  nodes: NodeRef[];
  pushUrl?: string;
  /** The media service and its CDN edges (HTTP base URLs), when the world runs them. */
  media?: { service: string; edges: string[] };
  secret: string;
  /**
   * The TURN relay devices use in calls, when the world runs one: its
   * `turn:` URLs and the secret its nodes mint credentials with (see
   * system/calls/turn-credentials.ts).
   */
  turn?: { urls: string[]; secret: string };
  control: WorldControls;
  /**
   * Faults nobody scheduled that the world noticed (a process that exited or
   * stopped answering), epoch times; the live engine puts those overlapping
   * its load in the report. Local world only: an embedded node shares the
   * engine's process, so nothing outside can kill it alone.
   */
  observed?(): readonly ObservedMark[];
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

/** The five node controls of a world whose nodes are processes or containers, bound to it. */
export function bindNodeControls(w: Record<keyof NodeControls, (index: number) => Promise<void>>): NodeControls {
  return {
    killNode: (i) => w.killNode(i),
    stopNode: (i) => w.stopNode(i),
    restartNode: (i) => w.restartNode(i),
    pauseNode: (i) => w.pauseNode(i),
    resumeNode: (i) => w.resumeNode(i),
  };
}
