import { drill } from './drill.ts';

/**
 * The node-failure drill for Cassandra: the local world runs a 3-node
 * Cassandra ring (a schedule with `cassandra-node-stop` starts one; keyspace
 * replication factor 3, every query at LOCAL_QUORUM, lightweight
 * transactions at LOCAL_SERIAL), and cassandra-2 is killed (SIGKILL) at 30%
 * of the run and started again at 60%, on its data. Two of the three
 * replicas still make every quorum, so sends keep being acked through the
 * outage; hints and read repair bring the restarted node up to date. The
 * base thresholds hold: nothing acked is lost, nobody sees a message twice.
 */
export const cassandraRingNodeFailure = drill(
  'cassandra-ring-node-failure',
  'steady chat on 3 nodes over a 3-node Cassandra ring (RF 3, LOCAL_QUORUM); cassandra-2 killed at 30% of the run, back at 60%',
  [{ fault: 'cassandra-node-stop', target: 'cassandra-2', how: 'kill', at: '30%', duration: '30%' }],
  // A restarted Cassandra node takes ~15 s to answer again on an idle machine, much longer on a busy one.
  { graceMs: 60_000 },
);
