import cassandra from 'cassandra-driver';
import { DEFAULT_TTL_SECONDS, guard, inParallel, num, ttlSeconds, type CassandraSession } from '../drivers/cassandra-client.ts';
import type { Inbox, InboxEntry } from './inbox.ts';

const { unset } = cassandra.types;

export interface CassandraInboxOptions {
  session: CassandraSession;
  /** How long an unacked entry is kept. Default 30 days (Cassandra TTLs are whole seconds). */
  retentionMs?: number;
  /** Devices written at once by one put (one statement or batch each). Default 32. */
  putConcurrency?: number;
}

/** Ids per DELETE ... IN (and SELECT ... IN), so one ack or question never becomes a huge statement. */
const ACK_CHUNK = 100;

const INSERT =
  'INSERT INTO inbox (device, id, kind, frame, sender, conv, seq) VALUES (?, ?, ?, ?, ?, ?, ?) USING TTL ?';

/**
 * The Inbox in Cassandra (table `inbox`, one partition per device, rows
 * clustered by id: time-ordered snowflakes, so a page is one slice of one
 * partition in id order).
 *
 * Durable once `put` resolves (the write reached the commit log of as many
 * replicas as the session's consistency asks). A put writes each device's
 * entries as one single-partition UNLOGGED batch (applied atomically on its
 * replica, no batchlog) and devices in parallel; a re-put of an existing
 * (device, id) overwrites it with the same content: one copy.
 *
 * Long inboxes are bounded by the retention TTL (entries of a device that
 * never comes back expire) and by draining: acks delete rows, and the
 * tombstones they leave sit ahead of the live rows until compaction after
 * gc_grace_seconds (3 h); a device that pages from its last acked id reads
 * past none of them. Optional fields are written as `unset`, never null,
 * so they create no tombstones either.
 */
export class CassandraInbox implements Inbox {
  private readonly client: cassandra.Client;
  private readonly ttl: number;
  private readonly putConcurrency: number;

  constructor(options: CassandraInboxOptions) {
    this.client = options.session.client;
    this.ttl = options.retentionMs === undefined ? DEFAULT_TTL_SECONDS : ttlSeconds(options.retentionMs);
    this.putConcurrency = options.putConcurrency ?? 32;
  }

  put(entries: readonly InboxEntry[]): Promise<void> {
    return guard('inbox', async () => {
      const byDevice = new Map<string, InboxEntry[]>();
      for (const e of entries) {
        let list = byDevice.get(e.device);
        if (!list) byDevice.set(e.device, (list = []));
        list.push(e);
      }
      await inParallel([...byDevice.values()], this.putConcurrency, async (list) => {
        const queries = list.map((e) => ({ query: INSERT, params: this.row(e) }));
        if (queries.length === 1) await this.client.execute(INSERT, queries[0]!.params);
        else await this.client.batch(queries, { logged: false });
      });
    });
  }

  page(device: string, after: string | null, limit: number): Promise<InboxEntry[]> {
    return guard('inbox', async () => {
      if (limit <= 0) return [];
      const columns = 'SELECT device, id, kind, frame, sender, conv, seq FROM inbox';
      const rs =
        after === null
          ? await this.client.execute(`${columns} WHERE device = ? LIMIT ?`, [device, limit])
          : await this.client.execute(`${columns} WHERE device = ? AND id > ? LIMIT ?`, [device, after, limit]);
      return rs.rows.map(toEntry);
    });
  }

  ack(device: string, ids: readonly string[]): Promise<void> {
    return guard('inbox', async () => {
      const unique = [...new Set(ids)];
      const chunks: string[][] = [];
      for (let i = 0; i < unique.length; i += ACK_CHUNK) chunks.push(unique.slice(i, i + ACK_CHUNK));
      await Promise.all(chunks.map((chunk) => this.client.execute('DELETE FROM inbox WHERE device = ? AND id IN ?', [device, chunk])));
    });
  }

  count(device: string): Promise<number> {
    return guard('inbox', async () => {
      const rs = await this.client.execute('SELECT COUNT(*) AS n FROM inbox WHERE device = ?', [device]);
      return num(rs.first()?.get('n'));
    });
  }

  /** One single-partition `id IN (...)` read per ACK_CHUNK ids: bounded however many are asked. */
  has(device: string, ids: readonly string[]): Promise<boolean[]> {
    return guard('inbox', async () => {
      const unique = [...new Set(ids)];
      const held = new Set<string>();
      for (let i = 0; i < unique.length; i += ACK_CHUNK) {
        const rs = await this.client.execute('SELECT id FROM inbox WHERE device = ? AND id IN ?', [device, unique.slice(i, i + ACK_CHUNK)]);
        for (const r of rs.rows) held.add(r.get('id'));
      }
      return ids.map((id) => held.has(id));
    });
  }

  private row(e: InboxEntry): unknown[] {
    return [e.device, e.id, e.kind, e.frame, e.from ?? unset, e.conv ?? unset, e.seq ?? unset, this.ttl];
  }
}

function toEntry(r: cassandra.types.Row): InboxEntry {
  const entry: InboxEntry = { device: r.get('device'), id: r.get('id'), kind: r.get('kind'), frame: r.get('frame') };
  const [from, conv, seq] = [r.get('sender'), r.get('conv'), r.get('seq')];
  if (from != null) entry.from = from;
  if (conv != null) entry.conv = conv;
  if (seq != null) entry.seq = num(seq);
  return entry;
}
