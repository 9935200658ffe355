import { useSharedCassandra } from '../testing/shared-cassandra.ts';
import { CassandraKeys } from './keys-cassandra.ts';
import { runKeysSuite } from './keys.suite.ts';

describe('CassandraKeys on a real Cassandra', () => {
  const cassandra = useSharedCassandra();

  runKeysSuite('cassandra', async () => ({
    ...cassandra.harness(),
    keys: new CassandraKeys({ session: cassandra.session }),
    peer: async () => new CassandraKeys({ session: cassandra.peerSession }),
  }));
});
