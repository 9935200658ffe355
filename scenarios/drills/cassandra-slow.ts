import { drill, lasting } from './drill.ts';

/**
 * 200 ms added to every Cassandra round trip (every node's link, responses)
 * for 30 s of a 50 s load (20%-80%; scales with --duration). An ack waits for
 * the durable writes, so ack latency rises by about one round trip per write
 * step; nothing may be lost or shown twice.
 */
export const cassandraSlow = lasting(
  drill('cassandra-slow', 'steady chat on 3 nodes; 200 ms added to every Cassandra round trip for 30 s (20%-80% of the run)', [
    { fault: 'latency', target: 'cassandra', ms: 200, at: '20%', duration: '60%' },
  ], { graceMs: 60_000 }),
  '50s',
);
