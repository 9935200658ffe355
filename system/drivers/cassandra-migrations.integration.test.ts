import assert from 'node:assert/strict';
import { connectCassandra } from './cassandra-client.ts';
import { loadMigrations, migrate } from './cassandra-migrations.ts';
import { sharedCassandra } from '../testing/shared-cassandra.ts';

describe('Cassandra schema on a real Cassandra', function () {
  this.timeout(240_000);

  it('creates the keyspace, applies every migration once and records it in schema_migrations', async () => {
    const { contactPoint, localDataCenter } = await sharedCassandra();
    const keyspace = `chatlab_mig_${process.pid}`;
    const first = await connectCassandra({ contactPoints: [contactPoint], localDataCenter, keyspace });
    try {
      assert.equal(first.consistency, 'one', 'a single node is read and written at ONE');
      const rows = (await first.client.execute('SELECT version, name, applied_at FROM schema_migrations')).rows;
      assert.deepEqual(
        rows.map((r) => [r.get('version'), r.get('name')]).sort(),
        loadMigrations().map((m) => [m.version, m.name]),
      );
      assert.ok(rows.every((r) => r.get('applied_at') instanceof Date));
      assert.deepEqual(await migrate(first.client, keyspace), [], 'nothing left to apply');
      const again = await connectCassandra({ contactPoints: [contactPoint], localDataCenter, keyspace });
      await again.close();
      const tables = await first.client.execute('SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?', [keyspace]);
      assert.ok(tables.rows.some((r) => r.get('table_name') === 'inbox'));
    } finally {
      await first.client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
      await first.close();
    }
  });
});
