import assert from 'node:assert/strict';
import { peerPort } from '../../drivers/cassandra-client.ts';
import { ringTokens } from './cassandra-ring.ts';

describe('Cassandra ring (unit)', () => {
  it('spreads one Murmur3 token per node evenly over the whole ring', () => {
    const tokens = ringTokens(3).map(BigInt);
    assert.deepEqual(tokens.map(String), ['-9223372036854775808', '-3074457345618258603', '3074457345618258602']);
    const span = 2n ** 64n;
    const shares = tokens.map((t, i) => ((tokens[(i + 1) % 3]! - t) % span + span) % span);
    for (const share of shares) assert.ok(share - span / 3n <= 1n && span / 3n - share <= 1n, `share ${share}`);
  });

  it('tells the driver the port of the nodes it discovers when every contact point shares one', () => {
    assert.deepEqual(peerPort(['127.0.0.1:41000', '127.0.0.2:41000', '127.0.0.3:41000']), { protocolOptions: { port: 41000 } });
    assert.deepEqual(peerPort(['127.0.0.1:41000']), { protocolOptions: { port: 41000 } });
    assert.deepEqual(peerPort(['127.0.0.1:41000', '127.0.0.1:41001']), {});
  });
});
