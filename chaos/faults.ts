import type { ChaosEntry } from './entry.ts';
import type { World } from '../system/worlds/world.ts';
import { networkFaults } from './network-faults.ts';

const LINKS = ['device-gateway', 'node-node', 'node-store', 'push'] as const;
const STORES = ['redis', 'cassandra', 'push'] as const;

/**
 * Fault kinds: each is a small unit with a target selector, applied at a
 * point of the run and (with a duration) reverted afterwards. A fault names
 * the world controls it needs, so a schedule that cannot apply in the chosen
 * world is an error before the run starts, never a silent no-op.
 */
export interface FaultKind {
  description: string;
  /** World controls this fault uses. */
  needs: (keyof World['control'])[];
  /** Applies the fault; returns the revert (undefined when the fault has no end). */
  apply(world: World, target: number, entry: ChaosEntry): Promise<(() => Promise<void>) | undefined>;
  /** Whether the fault needs a duration (a revert) to make sense. */
  durationRequired?: boolean;
  /** False for faults not aimed at one node (a store, a link class): applied once. Default true. */
  nodeTarget?: boolean;
  /** Checks the entry's own options (and targets, against the world) before the run; throws naming `where`. */
  validate?(entry: ChaosEntry, where: string, world: Pick<World, 'control' | 'nodes'>): void;
  /** Says which world can apply it, when the chosen one cannot. */
  hint?: string;
  /** Goes through network proxies: the local world starts Toxiproxy when a schedule has one. */
  network?: boolean;
  /** What the report names as the target, when it is not the node. */
  label?(entry: ChaosEntry, world: World, target: number): string;
}

function oneOf<T extends string>(v: unknown, allowed: readonly T[], where: string, name: string): T {
  if (!allowed.includes(v as T)) throw new Error(`${where}: ${name} must be one of ${allowed.join(', ')}, got ${String(v)}`);
  return v as T;
}

function sync(revert: () => void): () => Promise<void> {
  return async () => revert();
}

export const faultKinds: Record<string, FaultKind> = {
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
      const peer = String(entry.peer ?? 'devices');
      if (!/^(devices|redis|cassandra|node-\d+)$/.test(peer)) throw new Error(`${where}: peer must be devices, redis, cassandra or node-<n>, got ${peer}`);
      const links = world.control.network?.links();
      if (links && !links.some((l) => l.endsWith(`:${peer}`))) {
        throw new Error(`${where}: this world can cut a node only from ${[...new Set(links.map((l) => l.split(':')[1]))].join(', ')} (nodes talk to each other only through Redis)`);
      }
    },
    async apply(world, target, entry) {
      const heal = await world.control.partition!(world.nodes[target]!.id, String(entry.peer ?? 'devices'));
      return async () => void (await heal());
    },
    label: (entry, world, target) => `${world.nodes[target]!.id}|${String(entry.peer ?? 'devices')}`,
  },
  'link-latency': {
    description: 'add `ms` of latency to every hop of a link class (`link`: device-gateway, node-node, node-store, push) for the duration (sim world)',
    needs: ['addLatency'],
    hint: 'a simulated link class or store: --world sim',
    durationRequired: true,
    nodeTarget: false,
    validate(entry, where) {
      oneOf(entry.link, LINKS, where, 'link');
      if (!(typeof entry.ms === 'number' && entry.ms >= 0)) throw new Error(`${where}: ms must be a number >= 0`);
    },
    async apply(world, _t, entry) {
      return sync(world.control.addLatency!(entry.link as (typeof LINKS)[number], entry.ms as number));
    },
    label: (entry) => `${String(entry.link)}+${String(entry.ms)}ms`,
  },
  'link-loss': {
    description: 'lose a share `p` of the units on a link class (`link`) for the duration: TCP retransmits, the bus drops, store calls time out (sim world)',
    needs: ['setLoss'],
    hint: 'a simulated link class or store: --world sim',
    durationRequired: true,
    nodeTarget: false,
    validate(entry, where) {
      oneOf(entry.link, LINKS, where, 'link');
      if (!(typeof entry.p === 'number' && entry.p >= 0 && entry.p <= 1)) throw new Error(`${where}: p must be a number in [0, 1]`);
    },
    async apply(world, _t, entry) {
      return sync(world.control.setLoss!(entry.link as (typeof LINKS)[number], entry.p as number));
    },
    label: (entry) => `${String(entry.link)} loss ${String(entry.p)}`,
  },
  'store-outage': {
    description: "take a store away (`store`: redis, cassandra, push): every call fails after the store timeout until the duration ends (sim world)",
    needs: ['storeOutage'],
    hint: 'a simulated link class or store: --world sim',
    durationRequired: true,
    nodeTarget: false,
    validate(entry, where) {
      oneOf(entry.store, STORES, where, 'store');
    },
    async apply(world, _t, entry) {
      return sync(world.control.storeOutage!(entry.store as (typeof STORES)[number]));
    },
    label: (entry) => String(entry.store),
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
    hint: 'needs a Cassandra the world started itself: --world local without --cassandra',
    async apply(world) {
      await world.control.stopCassandra!();
      return () => world.control.startCassandra!();
    },
    label: () => 'cassandra',
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

/** Whether a schedule has faults that go through network proxies (the local world then starts Toxiproxy). */
export function needsProxies(entries: readonly ChaosEntry[]): boolean {
  return entries.some((e) => faultKinds[e.fault]?.network === true);
}
