import type { Envelope } from '../../bus/envelope.ts';
import type { Bus } from '../../bus/bus.ts';
import type { Ports } from '../../node/ports.ts';
import { PortError } from '../../protocol/errors.ts';
import type { Random } from '../../random/random.ts';
import type { MemoryPorts, PortName } from '../memory-ports.ts';
import type { Calibration, StoreKind } from './calibration.ts';
import { sample, type Dist } from './distribution.ts';
import type { SimClock } from './sim-clock.ts';
import type { SimNetwork } from './sim-network.ts';
import type { ServiceQueue } from './sim-service.ts';

/** Which simulated store serves each port (the real world's split: Redis for the fast shared state, Cassandra for durable data). */
export const StoreOf: Record<PortName, StoreKind> = {
  registry: 'redis', bus: 'redis', sequencer: 'redis', dedup: 'redis', presence: 'redis', stories: 'redis', calls: 'redis',
  log: 'cassandra', inbox: 'cassandra', groups: 'cassandra', keys: 'cassandra', accounts: 'cassandra',
  push: 'push',
};

/** The methods of each port interface (what a node may call). */
const Methods: Record<Exclude<PortName, 'bus'>, string[]> = {
  registry: ['put', 'remove', 'lookup', 'heartbeat', 'retire', 'nodes', 'joinGroup', 'leaveGroup', 'groupNodes'],
  sequencer: ['next', 'current'],
  dedup: ['claim', 'complete', 'release', 'renew'],
  log: ['append', 'page'],
  inbox: ['put', 'page', 'ack', 'count', 'has'],
  groups: ['create', 'get', 'add', 'remove', 'members', 'groupsOf', 'cursor', 'advanceCursor', 'markReceipt', 'receipts'],
  presence: ['heartbeat', 'offline', 'get', 'subscribe', 'unsubscribeAll', 'subscribers'],
  push: ['wake'],
  keys: ['publish', 'fetch', 'remaining', 'identities'],
  accounts: ['addDevice', 'devices', 'devicesOf', 'bindPhone', 'userByPhone'],
  stories: ['post', 'list', 'view', 'views'],
  calls: ['place', 'get', 'ofUser', 'answer', 'settle', 'timeout', 'hangup'],
};

/** The shared state every node's view talks to. */
export interface SimStores {
  clock: SimClock;
  network: SimNetwork;
  shared: MemoryPorts;
  queues: Record<StoreKind, ServiceQueue>;
  calibration: Calibration;
  /** Service-time stream (separate from the network's, so one does not shift the other). */
  random: Random;
  /** Stores currently down (chaos `store-outage`). */
  down: Set<StoreKind>;
  /** A request to an unreachable store fails after this long (a driver timeout). */
  timeoutMs: number;
  /** Per (publisher, subscriber) time of the last bus delivery: pub/sub keeps order per pair. */
  busOrder: Map<string, number>;
  /** Envelopes lost on the bus (partition, loss, dead subscriber): counted for the report. */
  busLost: { count: number };
}

/**
 * One node's view of the stores: the shared memory adapters behind simulated
 * node↔store links and store service queues, so every call takes virtual
 * time (link there, wait, service, link back) and fails like a driver call
 * when the store is down or cut off. The effect is applied when the call is
 * made and the answer arrives after the simulated delay: a simplification
 * that keeps each call to one event.
 *
 * `deliver` runs an envelope handler on the node (the sim world charges the
 * node's CPU for it).
 */
export function simPorts(node: string, s: SimStores, deliver: (run: () => void) => void): Ports {
  const wrapped = {} as Record<PortName, unknown>;
  for (const port of Object.keys(Methods) as (keyof typeof Methods)[]) wrapped[port] = wrapPort(node, port, s);
  wrapped.bus = simBus(node, s, deliver);
  return { clock: s.clock, random: s.shared.random, ...(wrapped as Omit<Ports, 'clock' | 'random'>) };
}

function wrapPort(node: string, port: Exclude<PortName, 'bus'>, s: SimStores): unknown {
  const inner = s.shared[port] as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const store = StoreOf[port];
  const out: Record<string, unknown> = {};
  for (const m of Methods[port]) {
    const op = `${port}.${m}`;
    const dist = serviceDist(s.calibration, store, op);
    const fn = inner[m]!;
    out[m] = (...args: unknown[]) => call(node, store, op, dist, s, inner, fn, args);
  }
  return out;
}

function serviceDist(c: Calibration, store: StoreKind, op: string): Dist {
  const model = c.stores[store];
  return model.opMs[op] ?? model.opMs.default;
}

/**
 * One store request (`fn` of the shared adapter `inner`): its answer arrives
 * after link + queue + service + link, or it fails after the timeout.
 */
function call<T>(node: string, store: StoreKind, op: string, dist: Dist, s: SimStores, inner: unknown, fn: (...args: unknown[]) => Promise<T>, args: unknown[]): Promise<T> {
  const { clock, network } = s;
  if (s.down.has(store) || network.blocked(node, store) || network.lost('node-store')) {
    return new Promise((_, reject) => clock.setTimeout(() => reject(new PortError(op, new Error(`${store} unreachable from ${node} (simulated)`))), s.timeoutMs));
  }
  const now = clock.now();
  const done = s.queues[store].admit(now + network.exactDelay('node-store'), sample(dist, s.random));
  const at = network.arrival(now, done, 'node-store');
  return new Promise<T>((resolve, reject) => {
    fn.apply(inner, args).then(
      (v) => clock.callAt(at, resolve, v, undefined),
      (e) => clock.callAt(at, reject, e, undefined),
    );
  });
}

/**
 * The bus over simulated Redis pub/sub: a publish is a Redis request; the
 * envelope then reaches the subscriber's node after a node↔node hop, in
 * publish order per (publisher, subscriber), unless a partition or loss
 * drops it (at most once, like pub/sub).
 */
function simBus(node: string, s: SimStores, deliver: (run: () => void) => void): Bus {
  const inner = s.shared.bus;
  const dist = serviceDist(s.calibration, 'redis', 'bus.publish');
  return {
    publish(target, envelope: Envelope) {
      const { clock, network } = s;
      if (s.down.has('redis') || network.blocked(node, 'redis')) {
        return new Promise((_, reject) => clock.setTimeout(() => reject(new PortError('bus.publish', new Error('redis unreachable (simulated)'))), s.timeoutMs));
      }
      const now = clock.now();
      const done = s.queues.redis.admit(now + network.exactDelay('node-store'), sample(dist, s.random));
      const cut = network.blocked(node, target) || network.blocked(target, 'redis') || network.lost('node-node');
      if (cut) s.busLost.count++;
      else {
        const pair = `${node}>${target}`;
        const arrive = Math.max(network.arrival(now, done, 'node-node'), s.busOrder.get(pair) ?? 0);
        s.busOrder.set(pair, arrive);
        clock.at(arrive, () => void inner.publish(target, envelope));
      }
      const answered = network.arrival(now, done, 'node-store');
      return new Promise((resolve) => clock.at(answered, resolve));
    },
    subscribe(target, handler) {
      return inner.subscribe(target, (env) => deliver(() => handler(env)));
    },
    close: () => inner.close(),
  };
}
