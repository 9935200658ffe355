import assert from 'node:assert/strict';
import { unique } from '../testing/harness.ts';
import { useSharedCassandra } from '../testing/shared-cassandra.ts';
import { CassandraMessageLog } from './message-log-cassandra.ts';
import { runMessageLogSuite } from './message-log.suite.ts';
import type { StoredMessage } from './message-log.ts';

describe('CassandraMessageLog on a real Cassandra', () => {
  const cassandra = useSharedCassandra();

  runMessageLogSuite('cassandra', async () => ({
    ...cassandra.harness(),
    log: new CassandraMessageLog({ session: cassandra.session }),
  }));

  it('pages across partition buckets, skipping empty ones', async () => {
    const log = new CassandraMessageLog({ session: cassandra.session, bucketSize: 4 });
    const conv = `d:${unique(cassandra.harness(), 'bucket')}:x`;
    const seqs = [1, 2, 3, 5, 6, 7, 9, 30, 31];
    const msg = (seq: number): StoredMessage => ({ conv, seq, mid: `m${seq}`, from: 'a.1', frame: 'f', ts: seq });
    await Promise.all(seqs.map((s) => log.append(msg(s))));
    assert.deepEqual((await log.page(conv, 0, 100)).map((m) => m.seq), seqs);
    assert.deepEqual((await log.page(conv, 6, 3)).map((m) => m.seq), [7, 9, 30]);
    assert.deepEqual((await log.page(conv, 9, 10)).map((m) => m.seq), [30, 31]);
    const other = new CassandraMessageLog({ session: cassandra.peerSession, bucketSize: 4 });
    assert.deepEqual((await other.page(conv, 2, 2)).map((m) => m.seq), [3, 5], 'another process reads the same buckets');
  });
});
