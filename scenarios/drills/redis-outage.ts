import { drill, gated } from './drill.ts';

/**
 * Redis stopped for 15 s (50% of the 30 s load; scales with --duration), then
 * started again on the same port and data. While it is away no send can be
 * claimed, sequenced or routed: sends must be rejected with a retryable error
 * (`unavailable`), never acked, and nothing acked may be lost. A run in which
 * no send was rejected proves nothing about that, so it fails too.
 */
export const redisOutage = gated(
  drill('redis-outage', 'steady chat on 3 nodes; Redis stopped for 15 s (30%-80% of the run), then restarted', [
    { fault: 'redis-stop', at: '30%', duration: '50%' },
  ], { graceMs: 60_000 }),
  { 'errors{code:unavailable}': ['count>0'] },
);
