import { drill, lasting } from './drill.ts';

/**
 * node-2 cut off from Redis for 20 s of a 40 s load (25%-75%; scales with
 * --duration); Cassandra and its devices still reach it. Sends through it
 * are rejected with a retryable error, deliveries to its devices wait in
 * their inboxes; once the link heals nothing acked may be lost or shown twice.
 */
export const partition = lasting(
  drill('partition', 'steady chat on 3 nodes; node-2 cut off from Redis for 20 s (25%-75% of the run)', [
    { fault: 'partition', target: 'node-2', peer: 'redis', at: '25%', duration: '50%' },
  ], { graceMs: 60_000 }),
  '40s',
);
