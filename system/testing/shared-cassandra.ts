import { rmSync } from 'node:fs';
import { wallHarness, type Harness } from './harness.ts';
import { connectCassandra, type CassandraSession } from '../drivers/cassandra-client.ts';
import { startCassandra } from '../worlds/infra/cassandra-server.ts';
import { scratchDir } from '../worlds/infra/provisioning.ts';

export interface CassandraEndpoint {
  contactPoint: string;
  localDataCenter: string;
}

let shared: Promise<CassandraEndpoint> | undefined;

/**
 * One Cassandra for every test file of this process: started by the first
 * caller (~12 s), reused by the rest, killed when the process exits (the
 * launcher's exit cleanup), its folder removed then. `CHATLAB_CASSANDRA=host:port`
 * uses a server you already run instead. Not provisioned: rejects with
 * what to install (tests fail, never skip).
 */
export function sharedCassandra(): Promise<CassandraEndpoint> {
  shared ??= startShared().catch((error) => {
    shared = undefined;
    throw error;
  });
  return shared;
}

async function startShared(): Promise<CassandraEndpoint> {
  const external = process.env.CHATLAB_CASSANDRA;
  if (external) return { contactPoint: external, localDataCenter: process.env.CHATLAB_CASSANDRA_DC ?? 'datacenter1' };
  const dir = scratchDir('cassandra-shared');
  const server = await startCassandra({ dir });
  process.once('exit', () => {
    // The launcher's own exit hook (registered first) has SIGKILLed the JVM by now.
    rmSync(dir, { recursive: true, force: true });
  });
  return { contactPoint: server.contactPoint, localDataCenter: server.localDataCenter };
}

export interface CassandraForTests {
  /** The session adapters under test use. */
  readonly session: CassandraSession;
  /** A second session, as another node process would hold. */
  readonly peerSession: CassandraSession;
  /** A wall-clock harness; Cassandra's TTLs are whole seconds (see ttlSeconds), hence 2 s of slack. */
  harness(): Harness;
}

/**
 * Inside a `describe`: connects two sessions to the shared Cassandra (keyspace
 * `chatlab_test`, migrated) in `before` and closes them in `after`. Test
 * names are unique (harness `unique`), so files share the keyspace freely.
 */
export function useSharedCassandra(keyspace = 'chatlab_test'): CassandraForTests {
  let session: CassandraSession | undefined;
  let peerSession: CassandraSession | undefined;

  before(async function () {
    this.timeout(240_000);
    const { contactPoint, localDataCenter } = await sharedCassandra();
    session = await connectCassandra({ contactPoints: [contactPoint], localDataCenter, keyspace });
    peerSession = await connectCassandra({ contactPoints: [contactPoint], localDataCenter, keyspace });
  });

  after(async () => {
    await session?.close();
    await peerSession?.close();
  });

  const must = (s: CassandraSession | undefined) => {
    if (!s) throw new Error('Cassandra session not connected: use it inside tests, after before()');
    return s;
  };
  return {
    get session() {
      return must(session);
    },
    get peerSession() {
      return must(peerSession);
    },
    harness: () => wallHarness(2000),
  };
}
