import type cassandra from 'cassandra-driver';
import { DEFAULT_TTL_SECONDS, guard, num, type CassandraSession } from '../drivers/cassandra-client.ts';
import type { MessageLog, StoredMessage } from './message-log.ts';

const DAY_MS = 24 * 3600 * 1000;

export interface CassandraMessageLogOptions {
  session: CassandraSession;
  /** How long a message is kept. Default 30 days. */
  ttlSeconds?: number;
  /** Seqs per partition. Default 4096; fixed for a keyspace's life (changing it hides old messages). */
  bucketSize?: number;
  /** Bucket rows remembered as written, so only the first append of a bucket writes one. Default 100,000. */
  knownBucketsMax?: number;
}

/**
 * The MessageLog in Cassandra (table `messages`, see migrations/001-init.cql).
 *
 * Partitions are bounded: a conversation's log is cut into buckets of
 * `bucketSize` seqs, `(conv, bucket)` being the partition, so the longest
 * chat or the busiest large group never makes a partition bigger than
 * bucketSize messages. `message_buckets` lists the buckets that exist, so a
 * page walks exactly the buckets holding messages. A bucket row lives a day
 * longer than the messages' TTL and is rewritten (once per process per day,
 * remembered in a bounded map) while its bucket gets appends, so it outlives
 * every message in it and then expires with them.
 *
 * Appends are upserts: a retry carries the same mid and frame, so writing
 * it again leaves one identical copy, as the port asks. (Two different
 * messages under one seq would be a Sequencer bug; the memory log keeps the
 * first, this one the last.)
 */
export class CassandraMessageLog implements MessageLog {
  private readonly client: cassandra.Client;
  private readonly ttlSeconds: number;
  private readonly bucketSize: number;
  private readonly knownMax: number;
  /** `bucket:conv` -> when this process last wrote its bucket row. */
  private readonly knownBuckets = new Map<string, number>();

  constructor(options: CassandraMessageLogOptions) {
    this.client = options.session.client;
    this.ttlSeconds = options.ttlSeconds ?? DEFAULT_TTL_SECONDS;
    this.bucketSize = options.bucketSize ?? 4096;
    this.knownMax = options.knownBucketsMax ?? 100_000;
  }

  append(message: StoredMessage): Promise<void> {
    return guard('messagelog', async () => {
      const bucket = this.bucketOf(message.seq);
      const writes: Promise<unknown>[] = [
        this.client.execute(
          'INSERT INTO messages (conv, bucket, seq, mid, sender, frame, ts) VALUES (?, ?, ?, ?, ?, ?, ?) USING TTL ?',
          [message.conv, bucket, message.seq, message.mid, message.from, message.frame, message.ts, this.ttlSeconds],
        ),
      ];
      const known = `${bucket}:${message.conv}`;
      const now = Date.now();
      const fresh = now - (this.knownBuckets.get(known) ?? -Infinity) < DAY_MS;
      if (!fresh) {
        writes.push(
          this.client.execute('INSERT INTO message_buckets (conv, bucket) VALUES (?, ?) USING TTL ?', [
            message.conv,
            bucket,
            this.ttlSeconds + DAY_MS / 1000,
          ]),
        );
      }
      await Promise.all(writes);
      if (!fresh) this.remember(known, now);
    });
  }

  page(conversation: string, afterSeq: number, limit: number): Promise<StoredMessage[]> {
    return guard('messagelog', async () => {
      if (limit <= 0) return [];
      const from = Math.max(0, afterSeq + 1);
      const buckets = await this.client.execute(
        'SELECT bucket FROM message_buckets WHERE conv = ? AND bucket >= ?',
        [conversation, this.bucketOf(from)],
      );
      const out: StoredMessage[] = [];
      for (const row of buckets.rows) {
        const rs = await this.client.execute(
          'SELECT seq, mid, sender, frame, ts FROM messages WHERE conv = ? AND bucket = ? AND seq >= ? LIMIT ?',
          [conversation, row.get('bucket'), from, limit - out.length],
        );
        for (const r of rs.rows) {
          out.push({ conv: conversation, seq: num(r.get('seq')), mid: r.get('mid'), from: r.get('sender'), frame: r.get('frame'), ts: num(r.get('ts')) });
        }
        if (out.length >= limit) break;
      }
      return out;
    });
  }

  private bucketOf(seq: number): number {
    return Math.floor(seq / this.bucketSize);
  }

  private remember(known: string, now: number): void {
    if (this.knownBuckets.size >= this.knownMax) this.knownBuckets.clear();
    this.knownBuckets.set(known, now);
  }
}
