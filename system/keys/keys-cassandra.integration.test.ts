import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
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

  // The window the conformance suite's racing republish aims at, opened on
  // purpose: a fetch read a key, another took it, the device published again,
  // and only then does the first fetch's claim arrive.
  it('refuses a claim that arrives after the device published again, on a key another fetch was handed', async () => {
    const keys = new CassandraKeys({ session: cassandra.session });
    const claim = (keys as unknown as { claim(d: string, k: { id: number; key: string }): Promise<boolean> }).claim.bind(keys);
    const user = `claim-${randomUUID()}`;
    const device = `${user}.1`;
    const upload = (ids: number[]) => ({
      identityKey: 'aWQ', signedPreKey: { id: 1, key: 'c3Br', signature: 'c2ln' },
      oneTimePreKeys: ids.map((id) => ({ id, key: `k${id}` })),
    });
    await keys.publish(device, upload([100]));
    const [handed] = await keys.fetch(user);
    assert.deepEqual(handed!.oneTimePreKey, { id: 100, key: 'k100' });
    await keys.publish(device, upload([200, 201]));
    assert.equal(await claim(device, { id: 100, key: 'k100' }), false, 'the key went to the first fetch; its row is gone with the old upload');
    assert.equal(await keys.remaining(device), 2, 'the refused claim wrote nothing back');
    const ids = [(await keys.fetch(user))[0]!.oneTimePreKey?.id, (await keys.fetch(user))[0]!.oneTimePreKey?.id].sort();
    assert.deepEqual(ids, [200, 201]);
  });
});
