import type { World } from '../system/worlds/world.ts';
import { CASSANDRA_NODE_TARGET, type ChaosEntry, type ChaosEntryInput, type EntryOf, type FaultName } from './fault-schema.ts';
import { networkFaults } from './network-faults.ts';

/**
 * Fault kinds: each is a small unit with a target selector, applied at a
 * point of the run and (with a duration) reverted afterwards. A fault names
 * the world controls it needs, so a schedule that cannot apply in the chosen
 * world is an error before the run starts, never a silent no-op.
 */
export interface FaultKind<E extends ChaosEntry = ChaosEntry> {
  description: string;
  /** World controls this fault uses. */
  needs: (keyof World['control'])[];
  /** Applies the fault; returns the revert (undefined when the fault has no end). */
  apply(world: World, target: number, entry: E): Promise<(() => Promise<void>) | undefined>;
  /** Whether the fault needs a duration (a revert) to make sense. */
  durationRequired?: boolean;
  /** False for faults not aimed at one node (a store, a link class): applied once. Default true. */
  nodeTarget?: boolean;
  /** Checks the entry against the world (its links, its nodes) before the run; throws naming `where`. Its own fields are `chaosEntrySchema`'s. */
  validate?(entry: E, where: string, world: Pick<World, 'control' | 'nodes'>): void;
  /** Says which world can apply it, when the chosen one cannot. */
  hint?: string;
  /** Goes through network proxies: the local world starts Toxiproxy when a schedule has one. */
  network?: boolean;
  /** Needs a Cassandra ring: the local world starts three Cassandra nodes when a schedule has one (see `needsCassandraRing`). */
  cassandraRing?: boolean;
  /** What the report names as the target, when it is not the node. */
  label?(entry: E, world: World, target: number): string;
}

/** One fault kind per fault name of `chaosEntrySchema`, each seeing its own entry type. */
type FaultKinds = { [K in FaultName]: FaultKind<EntryOf<K>> };

function sync(revert: () => void): () => Promise<void> {
  return async () => revert();
}

const kinds: FaultKinds = {
  'node-kill': {
    description: 'crash a chat node (SIGKILL; embedded: sockets cut, in-flight work dropped); restarted after the duration if one is given',
    needs: ['killNode', 'restartNode'],
    async apply(world, target) {
      await world.control.killNode!(target);
      return () => world.control.restartNode!(target);
    },
  },
  'node-stop': {
    description: 'graceful drain-and-restart: the node tells its devices to go (1001) and stops; restarted after the duration',
    needs: ['stopNode', 'restartNode'],
    async apply(world, target) {
      await world.control.stopNode!(target);
      return () => world.control.restartNode!(target);
    },
  },
  'node-pause': {
    description: 'freeze a node process (SIGSTOP, then SIGCONT after the duration)',
    needs: ['pauseNode', 'resumeNode'],
    hint: 'SIGSTOP needs node processes: --world local',
    durationRequired: true,
    async apply(world, target) {
      await world.control.pauseNode!(target);
      return () => world.control.resumeNode!(target);
    },
  },
  partition: {
    description: "cut a node off from a peer: 'devices' (its clients), 'redis', 'cassandra' or another node ('node-3'); healed after the duration (sim world; local world: redis, cassandra, devices, through Toxiproxy)",
    needs: ['partition'],
    durationRequired: true,
    network: true,
    hint: 'partitions need the sim world or the local world (Toxiproxy)',
    validate(entry, where, world) {
      const peer = entry.peer ?? 'devices';
      const links = world.control.network?.links();
      if (links && !links.some((l) => l.endsWith(`:${peer}`))) {
        throw new Error(`${where}: this world can cut a node only from ${[...new Set(links.map((l) => l.split(':')[1]))].join(', ')} (nodes talk to each other only through Redis)`);
      }
    },
    async apply(world, target, entry) {
      const heal = await world.control.partition!(world.nodes[target]!.id, entry.peer ?? 'devices');
      return async () => void (await heal());
    },
    label: (entry, world, target) => `${world.nodes[target]!.id}|${entry.peer ?? 'devices'}`,
  },
  'link-latency': {
    description: 'add `ms` of latency to every hop of a link class (`link`: device-gateway, node-node, node-store, push) for the duration (sim world)',
    needs: ['addLatency'],
    hint: 'a simulated link class or store: --world sim',
    durationRequired: true,
    nodeTarget: false,
    async apply(world, _t, entry) {
      return sync(world.control.addLatency!(entry.link, entry.ms));
    },
    label: (entry) => `${entry.link}+${entry.ms}ms`,
  },
  'link-loss': {
    description: 'lose a share `p` of the units on a link class (`link`) for the duration: TCP retransmits, the bus drops, store calls time out (sim world)',
    needs: ['setLoss'],
    hint: 'a simulated link class or store: --world sim',
    durationRequired: true,
    nodeTarget: false,
    async apply(world, _t, entry) {
      return sync(world.control.setLoss!(entry.link, entry.p));
    },
    label: (entry) => `${entry.link} loss ${entry.p}`,
  },
  'store-outage': {
    description: "take a store away (`store`: redis, cassandra, push): every call fails after the store timeout until the duration ends (sim world)",
    needs: ['storeOutage'],
    hint: 'a simulated link class or store: --world sim',
    durationRequired: true,
    nodeTarget: false,
    async apply(world, _t, entry) {
      return sync(world.control.storeOutage!(entry.store));
    },
    label: (entry) => entry.store,
  },
  'relay-stop': {
    description: 'kill the TURN relay (every allocation dies, relayed calls go silent and end media_lost) for the duration, then start it again on the same port and secret; new calls allocate again (embedded, local)',
    needs: ['stopTurn', 'startTurn'],
    durationRequired: true,
    nodeTarget: false,
    hint: 'needs a relay the world started: a scenario with calls, embedded or local world',
    async apply(world) {
      await world.control.stopTurn!();
      return () => world.control.startTurn!();
    },
    label: () => 'relay',
  },
  'relay-loss': {
    description: 'drop a share p of the packets between devices and the TURN relay, each way, for the duration (a lossy UDP link the world puts in front of its relay; embedded, local)',
    needs: ['setRelayLoss'],
    durationRequired: true,
    nodeTarget: false,
    hint: 'needs a relay the world started: a scenario with calls, embedded or local world',
    async apply(world, _target, entry) {
      world.control.setRelayLoss!(entry.p);
      return sync(() => world.control.setRelayLoss!(0));
    },
    label: (e) => `relay ${Math.round(e.p * 100)}% loss`,
  },
  'redis-stop': {
    description: 'stop the Redis server (graceful) for the duration, then start it again on the same port and data; sends meanwhile are rejected with a retryable error (local world)',
    needs: ['stopRedis', 'startRedis'],
    durationRequired: true,
    nodeTarget: false,
    hint: 'needs a Redis the world started itself: --world local without --redis',
    async apply(world) {
      await world.control.stopRedis!();
      return () => world.control.startRedis!();
    },
    label: () => 'redis',
  },
  'cassandra-stop': {
    description: 'stop the Cassandra node (graceful) for the duration, then start it again (~12 s until CQL answers); sends meanwhile are rejected with a retryable error (local world)',
    needs: ['stopCassandra', 'startCassandra'],
    durationRequired: true,
    nodeTarget: false,
    hint: 'needs a single Cassandra the world started itself: --world local without --cassandra (on a ring, --cassandra-nodes 3, stop one node with cassandra-node-stop)',
    async apply(world) {
      await world.control.stopCassandra!();
      return () => world.control.startCassandra!();
    },
    label: () => 'cassandra',
  },
  'cassandra-node-stop': {
    description: "stop one node of the Cassandra ring (`target` cassandra-N, default the last; `how`: 'stop' graceful, 'kill' SIGKILL) for the duration, then start it again on its data (~15 s until CQL answers); with replication factor 3 and LOCAL_QUORUM the other two keep serving (local world, --cassandra-nodes 3)",
    needs: ['cassandraNodes', 'stopCassandraNode', 'startCassandraNode'],
    durationRequired: true,
    nodeTarget: false,
    cassandraRing: true,
    hint: 'needs a Cassandra ring the world started itself: --world local --cassandra-nodes 3 (started by itself for a schedule with this fault), without --cassandra',
    validate(entry, where, world) {
      const count = world.control.cassandraNodes!();
      const n = cassandraNodeOf(entry.target, count);
      if (n < 1 || n > count) throw new Error(`${where}: target ${entry.target}: the ring has cassandra-1..cassandra-${count}`);
    },
    async apply(world, _target, entry) {
      const n = cassandraNodeOf(entry.target, world.control.cassandraNodes!());
      await world.control.stopCassandraNode!(n, entry.how ?? 'stop');
      return () => world.control.startCassandraNode!(n);
    },
    label: (entry, world) => `cassandra-${cassandraNodeOf(entry.target, world.control.cassandraNodes?.() ?? 3)}${entry.how === 'kill' ? ' (SIGKILL)' : ''}`,
  },
  ...networkFaults,
  'rolling-restart': {
    description: 'every node stopped gracefully and restarted, one after another, the duration spread over them',
    needs: ['stopNode', 'restartNode'],
    async apply() {
      return undefined;
    },
  },
};

/** Every fault kind by name; methods take any entry (the schema has matched entry and kind by `fault`). */
export const faultKinds: Readonly<Record<FaultName, FaultKind>> = kinds;

/** The fault kind `name` names (own entries only: '__proto__' is no fault), or undefined. */
export function faultKindOf(name: string): FaultKind | undefined {
  return Object.hasOwn(faultKinds, name) ? faultKinds[name as FaultName] : undefined;
}

/** The ring node (from 1) a `cassandra-node-stop` target names: 'cassandra-2' or '2'; omitted, the last of `count`. */
function cassandraNodeOf(target: string | undefined, count: number): number {
  if (target === undefined) return count;
  return Number(CASSANDRA_NODE_TARGET.exec(target)![1]);
}

/** Whether a schedule has faults that need a Cassandra ring (the local world then starts three Cassandra nodes). */
export function needsCassandraRing(entries: readonly ChaosEntryInput[]): boolean {
  return entries.some((e) => faultKindOf(e.fault)?.cassandraRing === true);
}

/** Whether a schedule has faults that go through network proxies (the local world then starts Toxiproxy). */
export function needsProxies(entries: readonly ChaosEntryInput[]): boolean {
  return entries.some((e) => faultKindOf(e.fault)?.network === true);
}
