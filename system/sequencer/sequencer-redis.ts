import { DEFAULT_PREFIX, guard, type RedisAdapterOptions, type RedisClient } from '../drivers/redis-client.ts';
import type { Sequencer } from './sequencer.ts';

/**
 * Per-conversation sequence numbers with Redis INCR (`<prefix>seq:<conv>`).
 *
 * INCR is atomic on the Redis every node shares (on a cluster, on the one
 * master owning the counter's slot), so numbers are distinct and increasing
 * across nodes. A `next` whose reply was lost (the
 * connection dropped) may still have incremented: that seq is burnt, which
 * the port allows (devices skip gaps after a bounded wait).
 *
 * The counters must survive a Redis restart, or seqs would be handed out
 * again and the MessageLog (which keeps the first copy of a seq) would drop
 * the new messages. So this adapter needs a Redis with persistence: the
 * local world's launcher runs redis-server with AOF (fsync every second);
 * a crash can still lose up to a second of increments, which a Redis
 * deployment with `appendfsync always` (or a seq floor taken from the
 * MessageLog on restart) closes. Counters have no TTL: one key per
 * conversation ever written to.
 */
export class RedisSequencer implements Sequencer {
  private readonly client: RedisClient;
  private readonly prefix: string;

  constructor(options: RedisAdapterOptions) {
    this.client = options.client;
    this.prefix = options.prefix ?? DEFAULT_PREFIX;
  }

  next(conversation: string): Promise<number> {
    return guard('sequencer', () => this.client.incr(this.key(conversation)));
  }

  current(conversation: string): Promise<number> {
    return guard('sequencer', async () => Number((await this.client.get(this.key(conversation))) ?? 0));
  }

  private key(conversation: string): string {
    return `${this.prefix}seq:${conversation}`;
  }
}
