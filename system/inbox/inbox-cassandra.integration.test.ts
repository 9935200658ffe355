import assert from 'node:assert/strict';
import { unique } from '../testing/harness.ts';
import { useSharedCassandra } from '../testing/shared-cassandra.ts';
import { CassandraInbox } from './inbox-cassandra.ts';
import { runInboxSuite } from './inbox.suite.ts';

describe('CassandraInbox on a real Cassandra', () => {
  const cassandra = useSharedCassandra();

  runInboxSuite('cassandra', async () => {
    const retentionMs = 1000;
    return { ...cassandra.harness(), inbox: new CassandraInbox({ session: cassandra.session, retentionMs }), retentionMs };
  });

  it('shows entries put on one node to another node, and their acks', async () => {
    const [a, b] = [new CassandraInbox({ session: cassandra.session }), new CassandraInbox({ session: cassandra.peerSession })];
    const device = `${unique(cassandra.harness(), 'peer')}.1`;
    await a.put([{ device, id: '01', kind: 'receipt', frame: 'r' }]);
    assert.equal(await b.count(device), 1);
    await b.ack(device, ['01']);
    assert.equal(await a.count(device), 0);
  });

  it('puts a fan-out to many devices and a long inbox for one device in one call', async () => {
    const inbox = new CassandraInbox({ session: cassandra.session });
    const tag = unique(cassandra.harness(), 'put');
    const id = (n: number) => n.toString(16).padStart(16, '0');
    const fanout = Array.from({ length: 200 }, (_, i) => ({ device: `fan${i}-${tag}.1`, id: id(1), kind: 'msg' as const, frame: 'f' }));
    const long = Array.from({ length: 500 }, (_, i) => ({ device: `long-${tag}.1`, id: id(i + 1), kind: 'msg' as const, frame: 'f'.repeat(200) }));
    await inbox.put([...fanout, ...long]);
    assert.equal(await inbox.count(`fan199-${tag}.1`), 1);
    assert.equal(await inbox.count(`long-${tag}.1`), 500);
    await inbox.ack(`long-${tag}.1`, long.slice(0, 250).map((e) => e.id));
    assert.equal((await inbox.page(`long-${tag}.1`, null, 1))[0]!.id, id(251));
  });
});
