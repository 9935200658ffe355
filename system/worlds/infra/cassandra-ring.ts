import cassandra from 'cassandra-driver';
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { peerPort } from '../../drivers/cassandra-client.ts';
import { startCassandra, type CassandraServer } from './cassandra-server.ts';
import { freePorts, isPortFree } from './tcp-ports.ts';
import { requireProvisioned } from './provisioning.ts';

export interface CassandraRingOptions {
  /** Each node's folder is `<dir>/cassandra-<n>` (n from 1). */
  dir: string;
  /** How many nodes, on 127.0.0.1 … 127.0.0.<nodes>. Default 3. */
  nodes?: number;
  /**
   * JVM heap per node (Xms = Xmx), MB. Default 512: three nodes beside the
   * chat nodes, Redis and the driver on a small machine (see RING_HEAP_MB).
   */
  heapMb?: number;
  clusterName?: string;
  /** Wait at most this long for the ring (every node up, answering CQL, seeing all its peers). Default 180 s. */
  readyTimeoutMs?: number;
}

/** A local Cassandra ring started by chatlab (see `startCassandraRing`). */
export interface CassandraRing {
  /** The nodes; `nodes[0]` is `cassandra-1` on 127.0.0.1. */
  readonly nodes: readonly CassandraServer[];
  /** Every node's `address:port`, for cassandra-driver's contactPoints (CHATLAB_CASSANDRA). */
  readonly contactPoints: readonly string[];
  /** CQL port, the same on every node's address. */
  readonly nativePort: number;
  readonly localDataCenter: string;
  /** True while any node runs. */
  readonly running: boolean;
  /** Graceful stop of every node (in parallel); resolves once all are gone. */
  stop(): Promise<void>;
}

/**
 * Heap per ring node. Measured on a 2-core, 24 GB machine with 512 MB:
 * RSS 890-960 MB per node at the end of the cassandra-ring-node-failure drill
 * (JVM metaspace, code cache, thread stacks and off-heap buffers come on top
 * of the heap), so the three take under 3 GB beside the chat nodes and Redis.
 */
export const RING_HEAP_MB = 512;

/**
 * Murmur3 tokens spread evenly over the ring (-2^63 … 2^63-1): with one
 * token per node, each owns an equal share and, with replication factor 3
 * on three nodes, each holds every row.
 */
export function ringTokens(count: number): string[] {
  const span = 2n ** 64n / BigInt(count);
  return Array.from({ length: count }, (_, i) => String(-(2n ** 63n) + BigInt(i) * span));
}

/**
 * Starts a ring of `nodes` real Cassandra nodes on loopback: node n listens
 * on 127.0.0.n (the whole 127.0.0.0/8 is loopback on Linux), all with the
 * same CQL and storage ports (a port free on every address), each with its
 * own JMX port. Every node is a seed and has its evenly spaced token; a
 * fresh, empty cluster, so all start at once without bootstrapping
 * (`auto_bootstrap: false`) and without the waits a node joining a live
 * cluster needs: gossip settling is skipped and RING_DELAY shortened.
 *
 * Ready when every node answers CQL, each lists all its peers in
 * `system.peers_v2`, and a driver connected to the ring sees every node up.
 * Each node's folder is emptied first; from then on it is kept, so
 * `nodes[i].restart()` brings a node back with its data and token,
 * rejoining the ring.
 *
 * Times measured here (2 cores, 3 × 512 MB heap, C1 only): 11 s from spawn
 * to a ready ring on an idle machine, 20 s with load average ~15 from other
 * work (38-50 s there before the nodes were limited to C1); a graceful stop of
 * one node 4.6 s, its restart 5.5 s idle and ~15 s in a drill; stopping the
 * whole ring ~12 s (each node announces its shutdown to the others).
 */
export async function startCassandraRing(options: CassandraRingOptions): Promise<CassandraRing> {
  requireProvisioned({ cassandra: true });
  const count = options.nodes ?? 3;
  if (!Number.isInteger(count) || count < 2 || count > 9) throw new Error(`a ring has 2 to 9 nodes, not ${count}`);
  const dir = resolve(options.dir);
  const addresses = Array.from({ length: count }, (_, i) => `127.0.0.${i + 1}`);
  // CQL and storage ports free on every address; one JMX port per node (JMX listens on 127.0.0.1).
  const [nativePort, storagePort, ...jmxPorts] = await portsFreeOn(addresses, 2, count);
  const seeds = addresses.map((a) => `${a}:${storagePort}`);
  const tokens = ringTokens(count);
  const readyTimeoutMs = options.readyTimeoutMs ?? 180_000;
  // A fresh cluster every time: a node's leftover data would remember other ports and peers.
  addresses.forEach((_, i) => rmSync(join(dir, `cassandra-${i + 1}`), { recursive: true, force: true }));
  const started = await Promise.allSettled(addresses.map((address, i) => startCassandra({
    dir: join(dir, `cassandra-${i + 1}`),
    address, seeds, nativePort, storagePort, jmxPort: jmxPorts[i]!,
    initialToken: tokens[i]!, autoBootstrap: false,
    heapMb: options.heapMb ?? RING_HEAP_MB, clusterName: options.clusterName ?? 'chatlab-ring',
    readyTimeoutMs,
    jvmOptions: [
      // A fresh cluster: nothing to wait for before serving. RING_DELAY (30 s by default) bounds
      // the startup's shadow gossip round with peers that are starting at the same moment.
      '-Dcassandra.ring_delay_ms=5000',
      '-Dcassandra.consistent.rangemovement=false',
      // Three JVMs starting at once on a small machine: the C1 compiler only. Startup and a
      // restart mid-drill spend much less CPU compiling; a ring here serves drills, not peak throughput.
      '-XX:TieredStopAtLevel=1',
    ],
    // Paxos v2 (Cassandra 4.1+): a lightweight transaction takes fewer round trips between the
    // replicas. Its state purging stays the default (legacy), an independent setting.
    settings: { paxos_variant: 'v2' },
  })));
  const nodes = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const stopAll = () => Promise.all(nodes.map((n) => n.stop())).then(() => {});
  const failed = started.find((r) => r.status === 'rejected');
  if (failed) {
    await stopAll();
    throw (failed as PromiseRejectedResult).reason;
  }
  const contactPoints = nodes.map((n) => n.contactPoint);
  try {
    await waitForRing(contactPoints, readyTimeoutMs);
  } catch (error) {
    await stopAll();
    throw error;
  }
  return {
    nodes,
    contactPoints,
    nativePort: nativePort!,
    localDataCenter: nodes[0]!.localDataCenter,
    get running() {
      return nodes.some((n) => n.running);
    },
    stop: stopAll,
  };
}

/**
 * `shared` ports free on every address (the same numbers on each), then
 * `more` ports free on the first, all distinct: picked together on the first
 * address, the shared ones checked on the others.
 */
async function portsFreeOn(addresses: string[], shared: number, more: number): Promise<number[]> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const ports = await freePorts(shared + more, addresses[0]);
    const free = await Promise.all(addresses.slice(1).flatMap((a) => ports.slice(0, shared).map((p) => isPortFree(p, a))));
    if (free.every(Boolean)) return ports;
  }
  throw new Error(`found no ${shared} ports free on every one of ${addresses.join(', ')}`);
}

/**
 * Waits until a driver sees every node up and each node lists all the others
 * in `system.peers_v2` (each node asked directly). Rejects with what it saw last.
 */
export async function waitForRing(contactPoints: readonly string[], timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let last = 'nothing yet';
  for (;;) {
    const client = new cassandra.Client({ contactPoints: [...contactPoints], localDataCenter: 'datacenter1', ...peerPort(contactPoints), socketOptions: { connectTimeout: 2000, readTimeout: 5000 } });
    try {
      await client.connect();
      const hosts = client.hosts.values();
      const up = hosts.filter((h) => h.isUp()).length;
      if (up === contactPoints.length) {
        const seen = await Promise.all(hosts.map(async (host) => {
          const rs = await client.execute('SELECT peer FROM system.peers_v2', [], { host });
          return rs.rowLength;
        }));
        if (seen.every((n) => n === contactPoints.length - 1)) return;
        last = `peers seen by each node: ${seen.join(', ')}`;
      } else {
        last = `${up} of ${contactPoints.length} nodes up to the driver`;
      }
    } catch (error) {
      last = (error as Error).message;
    } finally {
      await client.shutdown().catch(() => {});
    }
    if (performance.now() > deadline) throw new Error(`cassandra ring not formed after ${timeoutMs} ms: ${last}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** The replication factor of `keyspace` in the data center, as the ring's schema says (system_schema.keyspaces). */
export async function replicationFactor(contactPoints: readonly string[], keyspace: string, dataCenter = 'datacenter1'): Promise<number | undefined> {
  const client = new cassandra.Client({ contactPoints: [...contactPoints], localDataCenter: dataCenter, ...peerPort(contactPoints) });
  try {
    const rs = await client.execute('SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = ?', [keyspace]);
    const replication = rs.first()?.get('replication') as Record<string, string> | undefined;
    if (!replication) return undefined;
    return Number(replication[dataCenter] ?? replication.replication_factor);
  } finally {
    await client.shutdown();
  }
}
