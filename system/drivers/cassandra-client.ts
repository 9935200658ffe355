import cassandra from 'cassandra-driver';
import { PortError } from '../protocol/errors.ts';
import { migrate } from './cassandra-migrations.ts';

const { consistencies } = cassandra.types;

/** 30 days: how long history, inbox entries and receipts are kept by default. */
export const DEFAULT_TTL_SECONDS = 30 * 24 * 3600;

export interface CassandraConnectOptions {
  /** `host:port` of one or more nodes. */
  contactPoints: readonly string[];
  /** SimpleSnitch's is 'datacenter1'. */
  localDataCenter?: string;
  /** Default 'chatlab'. Created if missing, then migrated. */
  keyspace?: string;
  /**
   * Replication of a keyspace this call creates. Default
   * `{ class: 'SimpleStrategy', replication_factor: 1 }` for one node; a
   * ring wants NetworkTopologyStrategy with 3 per data center.
   */
  replication?: Record<string, string | number>;
  /**
   * 'one' when the cluster has a single node (ONE and LOCAL_QUORUM are the
   * same there); 'local_quorum' on a ring, so a write acknowledged by a
   * majority of the local replicas is seen by every later LOCAL_QUORUM read
   * and survives one replica down (RF 3). Default: chosen from the number of
   * nodes the driver sees when it connects.
   */
  consistency?: 'one' | 'local_quorum';
  /**
   * Addresses the cluster announces (`rpc_address:port`, in system.peers and
   * in status events) mapped to where this client must connect instead: a
   * proxy in front of each node (Toxiproxy in chaos drills). The driver
   * discovers peers by their rpc_address and would otherwise bypass the proxy.
   */
  addressMap?: Record<string, string>;
}

/** A connected, migrated session the Cassandra adapters share (one per node process). */
export interface CassandraSession {
  client: cassandra.Client;
  keyspace: string;
  consistency: 'one' | 'local_quorum';
  close(): Promise<void>;
}

/**
 * Connects to Cassandra, creates the keyspace if needed, applies pending
 * migrations, and returns a session whose every query is prepared (the
 * driver prepares each statement once per connection and caches it) and
 * runs at the chosen consistency; lightweight transactions use LOCAL_SERIAL.
 */
export async function connectCassandra(options: CassandraConnectOptions): Promise<CassandraSession> {
  const keyspace = options.keyspace ?? 'chatlab';
  if (!/^[a-z][a-z0-9_]{0,47}$/.test(keyspace)) throw new Error(`invalid keyspace name ${keyspace}`);
  const base = {
    contactPoints: [...options.contactPoints],
    localDataCenter: options.localDataCenter ?? 'datacenter1',
    ...peerPort(options.contactPoints),
    socketOptions: { connectTimeout: 5000, readTimeout: 12_000 },
    policies: {
      // The driver's default waits 1 s doubling to 10 min between attempts: after a 15 s restart it could stay
      // away for another 16 s. A node back is used within ~2 s.
      reconnection: new cassandra.policies.reconnection.ExponentialReconnectionPolicy(200, 2000, false),
      ...(options.addressMap ? { addressResolution: mappedAddresses(options.addressMap) } : {}),
    },
  };
  const admin = new cassandra.Client(base);
  let consistency: 'one' | 'local_quorum';
  try {
    await admin.connect();
    consistency = options.consistency ?? (admin.hosts.length > 1 ? 'local_quorum' : 'one');
    const replication = options.replication ?? { class: 'SimpleStrategy', replication_factor: 1 };
    await admin.execute(`CREATE KEYSPACE IF NOT EXISTS ${keyspace} WITH replication = ${cqlMap(replication)}`);
  } catch (error) {
    throw new PortError('cassandra', error);
  } finally {
    await admin.shutdown().catch(() => {});
  }
  const client = new cassandra.Client({
    ...base,
    keyspace,
    queryOptions: {
      prepare: true,
      consistency: consistency === 'one' ? consistencies.one : consistencies.localQuorum,
      serialConsistency: consistencies.localSerial,
    },
  });
  try {
    await client.connect();
    await migrate(client, keyspace);
  } catch (error) {
    await client.shutdown().catch(() => {});
    throw new PortError('cassandra', error);
  }
  return { client, keyspace, consistency, close: () => client.shutdown() };
}

/**
 * The driver reaches the nodes it discovers (system.peers) on
 * `protocolOptions.port`, 9042 unless told: when every contact point names
 * the same port (a ring whose nodes each have their own address and share
 * the port, as the local world's), that is the port of the peers too.
 */
export function peerPort(contactPoints: readonly string[]): { protocolOptions?: { port: number } } {
  const ports = new Set(contactPoints.map((c) => Number(/:(\d+)$/.exec(c)?.[1] ?? 9042)));
  return ports.size === 1 ? { protocolOptions: { port: [...ports][0]! } } : {};
}

type Translator = cassandra.policies.addressResolution.AddressTranslator;

/** Translates announced node addresses through a fixed map (unmapped ones pass through). The driver checks `instanceof`. */
function mappedAddresses(map: Record<string, string>): Translator {
  // The typings declare AddressTranslator as an interface; at run time it is the base class the driver checks.
  const Base = (cassandra.policies.addressResolution as unknown as { AddressTranslator: new () => Translator }).AddressTranslator;
  const translator = new Base();
  translator.translate = (address: string, port: number, callback: (endpoint: string) => void) => callback(map[`${address}:${port}`] ?? `${address}:${port}`);
  return translator;
}

/** Parses `from=to,from=to` (as CHATLAB_CASSANDRA_ADDRESS_MAP carries it) into an address map. */
export function parseAddressMap(text: string | undefined): Record<string, string> | undefined {
  if (!text) return undefined;
  const map: Record<string, string> = {};
  for (const pair of text.split(',').filter(Boolean)) {
    const [from, to] = pair.split('=');
    if (!from || !to) throw new Error(`address map entry "${pair}" must be host:port=host:port`);
    map[from] = to;
  }
  return map;
}

function cqlMap(map: Record<string, string | number>): string {
  const entries = Object.entries(map).map(([k, v]) => `'${k}': ${typeof v === 'number' ? v : `'${v}'`}`);
  return `{${entries.join(', ')}}`;
}

/** Runs a store operation, turning any failure into a PortError of `port` (outcome unknown). */
export { guardPort as guard } from '../protocol/errors.ts';

/** A bigint/int/counter column as a JS number (the driver returns Long for bigint). */
export function num(value: unknown): number {
  if (value === null || value === undefined) return 0;
  if (typeof value === 'number') return value;
  return Number((value as { toString(): string }).toString());
}

/**
 * A TTL in whole seconds (Cassandra's unit) that keeps a row at least `ms`.
 * Cassandra expires a row at `floor(write time in s) + ttl`, so a row written
 * late in a second lives up to a second less than its TTL: one second is
 * added, and rows live between `ms` and `ms` + 2 s.
 */
export function ttlSeconds(ms: number): number {
  return Math.ceil(ms / 1000) + 1;
}

/** Runs `fn` over `items` with at most `limit` in flight; resolves when all are done. */
export async function inParallel<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
