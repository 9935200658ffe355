import { CassandraAccounts } from '../accounts/accounts-cassandra.ts';
import { RedisBus } from '../bus/bus-redis.ts';
import { RedisCalls } from '../calls/calls-redis.ts';
import type { Clock } from '../clock/clock.ts';
import { RedisDedup } from '../dedup/dedup-redis.ts';
import { CassandraGroups } from '../groups/groups-cassandra.ts';
import { CassandraInbox } from '../inbox/inbox-cassandra.ts';
import { CassandraKeys } from '../keys/keys-cassandra.ts';
import { CassandraMessageLog } from '../log/message-log-cassandra.ts';
import type { Ports } from '../node/ports.ts';
import { RedisPresence } from '../presence/presence-redis.ts';
import { HttpPush } from '../push/push-http.ts';
import type { Random } from '../random/random.ts';
import { RedisRegistry } from '../registry/registry-redis.ts';
import { RedisSequencer } from '../sequencer/sequencer-redis.ts';
import { RedisStories } from '../stories/stories-redis.ts';
import { connectCassandra, type CassandraSession } from '../drivers/cassandra-client.ts';
import { connectRedis } from '../drivers/redis-client.ts';

export interface RealPortsOptions {
  /** A single Redis (`redis://`) or a Redis Cluster (`redis-cluster://host:port,…`): the adapters work on both. */
  redisUrl: string;
  /** host:port of Cassandra contact points. */
  cassandra: string[];
  /** Announced Cassandra addresses mapped to proxies in front of them (see CassandraConnectOptions.addressMap). */
  cassandraAddressMap?: Record<string, string>;
  keyspace?: string;
  /** Replication factor of a keyspace created here (NetworkTopologyStrategy in the local data center); default 1 (SimpleStrategy). */
  cassandraReplicationFactor?: number;
  /** Consistency of every Cassandra query; default chosen by the driver from the nodes it sees (CassandraConnectOptions.consistency). */
  cassandraConsistency?: 'one' | 'local_quorum';
  pushUrl: string;
  /** Shown in Redis CLIENT LIST. */
  name: string;
  /** Message and inbox retention. Default 30 days. */
  retentionMs?: number;
}

/**
 * The ports over real servers: Redis for the fast shared state (registry,
 * bus, sequencer, dedup, presence), for stories (they expire within a
 * day, and Redis drops them by itself) and for call signalling state (live
 * for a call's length, atomic by Lua script), Cassandra for what must survive (log,
 * inbox, groups, keys, accounts), the push service over HTTP.
 */
export async function realPorts(clock: Clock, random: Random, o: RealPortsOptions): Promise<{ ports: Ports; close(): Promise<void>; cassandraConsistency: 'one' | 'local_quorum' }> {
  const client = await connectRedis(o.redisUrl, { name: o.name });
  let session: CassandraSession;
  try {
    const rf = o.cassandraReplicationFactor;
    session = await connectCassandra({
      contactPoints: o.cassandra, keyspace: o.keyspace, addressMap: o.cassandraAddressMap,
      ...(rf && rf > 1 ? { replication: { class: 'NetworkTopologyStrategy', datacenter1: rf } } : {}),
      ...(o.cassandraConsistency ? { consistency: o.cassandraConsistency } : {}),
    });
  } catch (err) {
    client.disconnect();
    throw err;
  }
  const bus = new RedisBus({ client });
  const ports: Ports = {
    clock,
    random,
    registry: new RedisRegistry({ client }),
    bus,
    sequencer: new RedisSequencer({ client }),
    dedup: new RedisDedup({ client }),
    presence: new RedisPresence({ client, clock }),
    stories: new RedisStories({ client }),
    calls: new RedisCalls({ client }),
    log: new CassandraMessageLog({ session, ttlSeconds: o.retentionMs ? Math.ceil(o.retentionMs / 1000) : undefined }),
    inbox: new CassandraInbox({ session, retentionMs: o.retentionMs }),
    groups: new CassandraGroups({ session }),
    keys: new CassandraKeys({ session }),
    accounts: new CassandraAccounts({ session }),
    push: new HttpPush({ url: o.pushUrl }),
  };
  return {
    ports,
    cassandraConsistency: session.consistency,
    async close() {
      await bus.close().catch(() => {});
      client.disconnect();
      await session.close().catch(() => {});
    },
  };
}
