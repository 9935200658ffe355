import { useSharedCassandra } from '../testing/shared-cassandra.ts';
import { CassandraAccounts } from './accounts-cassandra.ts';
import { runAccountsSuite } from './accounts.suite.ts';

describe('CassandraAccounts on a real Cassandra', () => {
  const cassandra = useSharedCassandra();

  runAccountsSuite('cassandra', async () => ({
    ...cassandra.harness(),
    accounts: new CassandraAccounts({ session: cassandra.session }),
    peer: async () => new CassandraAccounts({ session: cassandra.peerSession }),
  }));
});
