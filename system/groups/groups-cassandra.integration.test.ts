import assert from 'node:assert/strict';
import { unique } from '../testing/harness.ts';
import { useSharedCassandra } from '../testing/shared-cassandra.ts';
import { CassandraGroups } from './groups-cassandra.ts';
import { runGroupsSuite } from './groups.suite.ts';

describe('CassandraGroups on a real Cassandra', () => {
  const cassandra = useSharedCassandra();

  runGroupsSuite('cassandra', async () => ({
    ...cassandra.harness(),
    groups: new CassandraGroups({ session: cassandra.session }),
  }));

  it('gives members added concurrently on two nodes distinct slots, each user once', async () => {
    const [a, b] = [new CassandraGroups({ session: cassandra.session }), new CassandraGroups({ session: cassandra.peerSession })];
    const tag = unique(cassandra.harness(), 'race');
    const id = `race-${tag}`;
    await a.create({ id, name: 'race', owner: 'o', createdMs: 0, fanout: 'write' }, ['o']);
    const users = Array.from({ length: 20 }, (_, i) => `u${i}-${tag}`);
    await Promise.all([a.add(id, users.slice(0, 12)), b.add(id, users.slice(8)), a.add(id, users.slice(5, 10))]);
    const members = await b.members(id);
    assert.equal(members.length, 21);
    assert.equal(new Set(members).size, 21);
    for (const u of members) await a.markReceipt(id, 1, u, 'read');
    const r = await a.receipts(id, 1);
    assert.equal(r.read, 21, 'every member has a bit of its own');
  });

  it('refuses to add to a group that does not exist', async () => {
    const g = new CassandraGroups({ session: cassandra.session });
    await assert.rejects(g.add(unique(cassandra.harness(), 'nope'), ['a']), { code: 'not_found' });
  });
});
