import cassandra from 'cassandra-driver';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { parseTap } from '../gateway/frame-tap.ts';

/**
 * Looking for a known plaintext where the cluster keeps or passes data: the
 * frames its nodes received and sent (the wire tap), every Redis key and
 * value, what went through Redis while it ran (pub/sub and every command),
 * every Cassandra row of a keyspace. Tests that prove the server only ever
 * sees ciphertext use it, with a plaintext control run proving it can see.
 */

/** What one source held: how many items were looked at, how many held the marker, and the first of those. */
export interface ScanCount {
  seen: number;
  hits: number;
  firstHit?: string;
}

/**
 * The texts a marker may show as: as is, in hex, and in base64 (standard and
 * URL-safe) at each of the 3 byte alignments, so a body base64-encoded and
 * not encrypted is found too.
 */
export function markerForms(marker: string): string[] {
  const bytes = Buffer.from(marker, 'utf8');
  const forms = new Set([marker, bytes.toString('hex')]);
  for (let pad = 0; pad < 3; pad++) {
    const b64 = Buffer.concat([Buffer.alloc(pad), bytes]).toString('base64');
    // Characters that mix padding or the following bytes with the marker's own are left out.
    const start = Math.ceil((pad * 4) / 3);
    const end = Math.floor(((pad + bytes.length) * 4) / 3);
    const core = b64.slice(start, end);
    forms.add(core);
    forms.add(core.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  return [...forms];
}

/** Counts the texts it is shown and those holding a form of the marker. */
export class MarkerFinder {
  private readonly forms: string[];

  constructor(readonly marker: string) {
    this.forms = markerForms(marker);
  }

  holds(text: string): boolean {
    return this.forms.some((f) => text.includes(f));
  }

  /** Looks at one item (`where` names it in `firstHit`). */
  look(count: ScanCount, where: string, text: string): void {
    count.seen++;
    if (!this.holds(text)) return;
    count.hits++;
    count.firstHit ??= `${where}: ${text.slice(0, 300)}`;
  }
}

const none = (): ScanCount => ({ seen: 0, hits: 0 });

/** Every frame of every `*.frames.jsonl` file the wire tap wrote under `dir` (seen: frames). */
export function scanTappedFrames(dir: string, finder: MarkerFinder): ScanCount & { files: number; in: number; out: number } {
  const count = { ...none(), files: 0, in: 0, out: 0 };
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.frames.jsonl')) : [];
  for (const file of files) {
    count.files++;
    for (const f of parseTap(readFileSync(join(dir, file), 'utf8'))) {
      count[f.dir]++;
      finder.look(count, `${file} ${f.dir} conn ${f.conn}`, f.frame);
    }
  }
  return count;
}

/** How each Redis type is read whole (every byte kept: latin1 keeps an ASCII marker as is whatever surrounds it). */
const READ_WHOLE: Record<string, (string | number)[]> = {
  string: ['GET'],
  hash: ['HGETALL'],
  list: ['LRANGE', 0, -1],
  set: ['SMEMBERS'],
  zset: ['ZRANGE', 0, -1, 'WITHSCORES'],
  stream: ['XRANGE', '-', '+'],
};

/** Every key and value of every database of the Redis at `url` (seen: keys). A type it cannot read fails the scan. */
export async function scanRedis(url: string, finder: MarkerFinder): Promise<ScanCount> {
  const count = none();
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await client.connect();
  try {
    const info = await client.info('keyspace');
    const dbs = [...info.matchAll(/^db(\d+):/gm)].map((m) => Number(m[1]));
    for (const db of dbs) {
      await client.select(db);
      let cursor = '0';
      do {
        const [next, keys] = await client.scanBuffer(cursor, 'COUNT', 500);
        cursor = String(next);
        for (const key of keys) {
          const type = await client.type(key);
          if (type === 'none') continue; // expired or deleted since the SCAN
          const read = READ_WHOLE[type];
          if (!read) throw new Error(`redis key ${key.toString('latin1')} has type ${type}, which this scan cannot read`);
          const [command, ...args] = read;
          const value = await client.callBuffer(String(command), [key, ...args]);
          finder.look(count, `redis db${db} ${type} ${key.toString('latin1')}`, `${key.toString('latin1')} ${flatText(value)}`);
        }
      } while (cursor !== '0');
    }
  } finally {
    client.disconnect();
  }
  return count;
}

/** What passes through a Redis while it runs: every pub/sub message (PSUBSCRIBE *) and every command (MONITOR). */
export interface RedisWatch {
  /** Seen: pub/sub messages. */
  pubsub: ScanCount;
  /** Seen: commands any client sent (their arguments: the values written, the messages published). */
  commands: ScanCount;
  /** Epoch ms when both were listening. */
  readyAt: number;
  stop(): Promise<void>;
}

/** Starts watching the Redis at `url`; resolves once it listens. Stop it before `scanRedis` (MONITOR would see the scan). */
export async function watchRedis(url: string, finder: MarkerFinder): Promise<RedisWatch> {
  const pubsub = none();
  const commands = none();
  const sub = new Redis(url, { lazyConnect: true });
  const mon = new Redis(url, { lazyConnect: true });
  for (const c of [sub, mon]) c.on('error', () => {});
  await Promise.all([sub.connect(), mon.connect()]);
  sub.on('pmessageBuffer', (_pattern: Buffer, channel: Buffer, message: Buffer) => finder.look(pubsub, `pub/sub ${channel.toString('latin1')}`, message.toString('latin1')));
  await sub.psubscribe('*');
  const monitor = await mon.monitor();
  monitor.on('monitor', (_time: string, args: string[]) => finder.look(commands, `redis command ${args[0]}`, args.join(' ')));
  return {
    pubsub, commands, readyAt: Date.now(),
    stop: async () => {
      monitor.disconnect();
      mon.disconnect();
      sub.disconnect();
    },
  };
}

/** Every row of every table of `keyspace` (seen: rows; `tables`: tables read). */
export async function scanCassandra(contactPoint: string, keyspace: string, finder: MarkerFinder, localDataCenter = 'datacenter1'): Promise<ScanCount & { tables: number }> {
  const count = { ...none(), tables: 0 };
  const client = new cassandra.Client({ contactPoints: [contactPoint], localDataCenter });
  await client.connect();
  try {
    const tables = await client.execute('SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?', [keyspace], { prepare: true });
    if (tables.rowLength === 0) throw new Error(`keyspace ${keyspace} has no tables`);
    for (const t of tables.rows) {
      const table = String(t.get('table_name'));
      count.tables++;
      const rows = await client.execute(`SELECT * FROM ${keyspace}."${table}"`, [], { prepare: false, fetchSize: 1000 });
      for await (const row of rows) {
        finder.look(count, `cassandra ${keyspace}.${table}`, row.keys().map((k) => `${k}=${flatText(row.get(k))}`).join(' '));
      }
    }
  } finally {
    await client.shutdown();
  }
  return count;
}

/** A stored value as text: buffers byte for byte (latin1), collections element by element, driver types (Long, Uuid, …) by their own toString. */
function flatText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (Buffer.isBuffer(v)) return v.toString('latin1');
  if (Array.isArray(v) || v instanceof Set) return [...v].map(flatText).join(' ');
  if (v instanceof Map) return [...v].map(([k, x]) => `${flatText(k)} ${flatText(x)}`).join(' ');
  if (typeof v === 'object' && v.toString === Object.prototype.toString) return Object.entries(v).map(([k, x]) => `${k} ${flatText(x)}`).join(' ');
  return String(v);
}
