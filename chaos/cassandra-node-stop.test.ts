import assert from 'node:assert/strict';
import { planChaos, runChaos, type FaultMark } from './schedule.ts';
import { needsCassandraRing } from './faults.ts';
import type { World } from '../system/worlds/world.ts';

describe('cassandra-node-stop', () => {
  it('needs a ring, stops the node its target names with the chosen signal, starts it again, marks it', async () => {
    const calls: string[] = [];
    const nodes = [1, 2, 3].map((n) => ({ id: `node-${n}`, url: `ws://127.0.0.1:${9000 + n}/ws`, number: n }));
    const noRing: World = { kind: 'local', secret: 's', nodes, control: { stopCassandra: async () => {}, startCassandra: async () => {} }, stop: async () => {} };
    assert.throws(() => planChaos([{ fault: 'cassandra-node-stop', target: 'cassandra-2', at: '1s', duration: '2s' }], noRing, 10_000), /no cassandraNodes, stopCassandraNode, startCassandraNode.*--cassandra-nodes 3/);
    const ring: World = {
      ...noRing,
      control: {
        cassandraNodes: () => 3,
        stopCassandraNode: async (n, how) => void calls.push(`stop ${n} ${how}`),
        startCassandraNode: async (n) => void calls.push(`start ${n}`),
      },
    };
    assert.throws(() => planChaos([{ fault: 'cassandra-node-stop', target: 'cassandra-4', at: '1s', duration: '2s' }], ring, 10_000), /the ring has cassandra-1..cassandra-3/);
    assert.throws(() => planChaos([{ fault: 'cassandra-node-stop', target: 'cassandra-2', at: '1s' }], ring, 10_000), /needs a duration/);
    const plan = planChaos([
      { fault: 'cassandra-node-stop', target: 'cassandra-2', how: 'kill', at: '0%', duration: '10%' },
      { fault: 'cassandra-node-stop', at: '20%', duration: '10%' },
    ], ring, 300);
    const marks: FaultMark[] = [];
    await runChaos(plan, ring, performance.timeOrigin + performance.now(), 300, (m) => marks.push(m));
    assert.deepEqual(calls, ['stop 2 kill', 'start 2', 'stop 3 stop', 'start 3']);
    assert.deepEqual(marks.map((m) => [m.kind, m.target]), [['cassandra-node-stop', 'cassandra-2 (SIGKILL)'], ['cassandra-node-stop', 'cassandra-3']]);
    assert.equal(needsCassandraRing(plan.map((p) => p.entry)), true);
    assert.equal(needsCassandraRing([{ fault: 'cassandra-stop', at: '1s', duration: '2s' }]), false);
  });
});
