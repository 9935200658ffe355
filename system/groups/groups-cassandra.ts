import type cassandra from 'cassandra-driver';
import { ChatError } from '../protocol/errors.ts';
import type { UserId } from '../protocol/ids.ts';
import { DEFAULT_TTL_SECONDS, guard, num, type CassandraSession } from '../drivers/cassandra-client.ts';
import type { GroupInfo, GroupReceipts, Groups } from './groups.ts';

export interface CassandraGroupsOptions {
  session: CassandraSession;
  /** How long receipts of a message are kept. Default 30 days. */
  receiptTtlSeconds?: number;
}

/** Users per `IN (...)` read. */
const IN_CHUNK = 100;
/** Compare-and-set attempts to reserve slots before giving up (only under heavy contention on one group). */
const CAS_ATTEMPTS = 50;

/**
 * Groups in Cassandra (tables groups, group_member_slots, user_groups,
 * group_cursors, group_receipts; see migrations/001-init.cql).
 *
 * Slots (a member's bit in receipt bitmaps, and the join order) come from
 * `groups.next_slot`, reserved in blocks by a lightweight transaction
 * (`UPDATE ... IF next_slot = ?`), and each member's slot is claimed with
 * `INSERT ... IF NOT EXISTS` in one conditional batch (one partition: the
 * group). So two nodes adding members concurrently never share a slot, and a
 * user added twice keeps the first one; a slot reserved for a user someone
 * else added meanwhile stays unused (a 0 bit, like a departed member's).
 *
 * Partitions stay bounded: membership is one partition per group (one row
 * per member, the node caps group size); receipts are one partition per
 * (group, message) with at most two rows per member, expiring with the
 * message; a cursor is one partition per (group, device) holding about one
 * live row (see advanceCursor).
 */
export class CassandraGroups implements Groups {
  private readonly client: cassandra.Client;
  private readonly receiptTtl: number;

  constructor(options: CassandraGroupsOptions) {
    this.client = options.session.client;
    this.receiptTtl = options.receiptTtlSeconds ?? DEFAULT_TTL_SECONDS;
  }

  /** Creating a group that exists keeps its info and adds the members it lacks (a retried create). */
  create(group: GroupInfo, members: readonly UserId[]): Promise<void> {
    return guard('groups', async () => {
      await this.client.execute(
        'INSERT INTO groups (id, name, owner, created_ms, fanout, next_slot) VALUES (?, ?, ?, ?, ?, 0) IF NOT EXISTS',
        [group.id, group.name, group.owner, group.createdMs, group.fanout],
      );
      await this.join(group.id, members);
    });
  }

  get(group: string): Promise<GroupInfo | undefined> {
    return guard('groups', async () => {
      const r = (await this.client.execute('SELECT id, name, owner, created_ms, fanout FROM groups WHERE id = ?', [group])).first();
      if (!r) return undefined;
      return { id: r.get('id'), name: r.get('name'), owner: r.get('owner'), createdMs: num(r.get('created_ms')), fanout: r.get('fanout') };
    });
  }

  /** Adds users at the end, in the order given; members already in keep their place. */
  add(group: string, users: readonly UserId[]): Promise<void> {
    return guard('groups', async () => {
      await this.mustExist(group);
      await this.join(group, users);
    });
  }

  remove(group: string, users: readonly UserId[]): Promise<void> {
    return guard('groups', async () => {
      await this.mustExist(group);
      const slots = await this.slotsOf(group, users);
      if (slots.size === 0) return;
      // Logged: both views of the membership change together, even across a coordinator crash.
      const queries = [...slots.keys()].flatMap((user) => [
        { query: 'DELETE FROM group_member_slots WHERE group_id = ? AND user_id = ?', params: [group, user] },
        { query: 'DELETE FROM user_groups WHERE user_id = ? AND group_id = ?', params: [user, group] },
      ]);
      await this.client.batch(queries, { logged: true });
    });
  }

  /** Members in join (slot) order; the partition is read in pages of 5000. */
  members(group: string): Promise<UserId[]> {
    return guard('groups', async () => {
      const rows: { user: UserId; slot: number }[] = [];
      const rs = await this.client.execute('SELECT user_id, slot FROM group_member_slots WHERE group_id = ?', [group], { fetchSize: 5000 });
      for await (const r of rs) rows.push({ user: r.get('user_id'), slot: r.get('slot') });
      return rows.sort((a, b) => a.slot - b.slot).map((r) => r.user);
    });
  }

  groupsOf(user: UserId): Promise<string[]> {
    return guard('groups', async () => {
      const rs = await this.client.execute('SELECT group_id FROM user_groups WHERE user_id = ?', [user], { fetchSize: 5000 });
      const out: string[] = [];
      for await (const r of rs) out.push(r.get('group_id'));
      return out;
    });
  }

  cursor(group: string, device: string): Promise<number> {
    return guard('groups', async () => {
      const r = (await this.client.execute('SELECT seq FROM group_cursors WHERE group_id = ? AND device = ? LIMIT 1', [group, device])).first();
      return r ? num(r.get('seq')) : 0;
    });
  }

  /**
   * Inserts `seq` and range-deletes the seqs below it, in one single-partition
   * batch; the cursor is the highest row. No read and no transaction, yet
   * concurrent advances end at the highest whatever order they land in: a
   * delete only removes seqs below its own, so it never removes a higher one.
   */
  advanceCursor(group: string, device: string, seq: number): Promise<void> {
    return guard('groups', async () => {
      await this.client.batch(
        [
          { query: 'INSERT INTO group_cursors (group_id, device, seq) VALUES (?, ?, ?)', params: [group, device, seq] },
          { query: 'DELETE FROM group_cursors WHERE group_id = ? AND device = ? AND seq < ?', params: [group, device, seq] },
        ],
        { logged: false },
      );
    });
  }

  /** Ignored for users who are not members (a late receipt after leaving). Idempotent: one row per (kind, slot). */
  markReceipt(group: string, seq: number, user: UserId, kind: 'delivered' | 'read'): Promise<void> {
    return guard('groups', async () => {
      const slot = (await this.slotsOf(group, [user])).get(user);
      if (slot === undefined) return;
      await this.client.execute('INSERT INTO group_receipts (group_id, seq, kind, slot) VALUES (?, ?, ?, ?) USING TTL ?', [
        group, seq, kind, slot, this.receiptTtl,
      ]);
    });
  }

  receipts(group: string, seq: number): Promise<GroupReceipts> {
    return guard('groups', async () => {
      const [g, count, marks] = await Promise.all([
        this.client.execute('SELECT next_slot FROM groups WHERE id = ?', [group]),
        this.client.execute('SELECT COUNT(*) AS n FROM group_member_slots WHERE group_id = ?', [group]),
        this.client.execute('SELECT kind, slot FROM group_receipts WHERE group_id = ? AND seq = ?', [group, seq], { fetchSize: 5000 }),
      ]);
      const bytes = Math.ceil(num(g.first()?.get('next_slot')) / 8);
      const out: GroupReceipts = {
        members: num(count.first()?.get('n')),
        delivered: 0,
        read: 0,
        deliveredBitmap: new Uint8Array(bytes),
        readBitmap: new Uint8Array(bytes),
      };
      for await (const r of marks) {
        const slot: number = r.get('slot');
        if (slot >> 3 >= bytes) continue;
        if (r.get('kind') === 'delivered') {
          out.delivered++;
          out.deliveredBitmap[slot >> 3]! |= 1 << (slot & 7);
        } else {
          out.read++;
          out.readBitmap[slot >> 3]! |= 1 << (slot & 7);
        }
      }
      return out;
    });
  }

  /** Gives each user not yet a member the next slot; keeps members where they are. */
  private async join(group: string, users: readonly UserId[]): Promise<void> {
    const wanted = [...new Set(users)];
    if (wanted.length === 0) return;
    const existing = await this.slotsOf(group, wanted);
    const fresh = wanted.filter((u) => !existing.has(u));
    let joined: UserId[] = [];
    if (fresh.length > 0) {
      const base = await this.reserveSlots(group, fresh.length);
      joined = await this.claimSlots(group, fresh.map((user, i) => ({ user, slot: base + i })));
    }
    // Re-written for members found already in too: a retry after a failure between the two writes repairs the view.
    const toIndex = [...existing.keys(), ...joined];
    await Promise.all(
      toIndex.map((user) => this.client.execute('INSERT INTO user_groups (user_id, group_id) VALUES (?, ?)', [user, group])),
    );
  }

  /** Reserves `n` consecutive slots by compare-and-set on next_slot; returns the first. */
  private async reserveSlots(group: string, n: number): Promise<number> {
    const r = (await this.client.execute('SELECT next_slot FROM groups WHERE id = ?', [group])).first();
    let current = num(r?.get('next_slot'));
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const rs = await this.client.execute('UPDATE groups SET next_slot = ? WHERE id = ? IF next_slot = ?', [current + n, group, current]);
      if (rs.wasApplied()) return current;
      current = num(rs.first()?.get('next_slot'));
    }
    throw new Error(`could not reserve slots in group ${group} after ${CAS_ATTEMPTS} attempts (contention)`);
  }

  /** Claims each user's slot unless the user got one meanwhile; returns the users claimed. */
  private async claimSlots(group: string, claims: { user: UserId; slot: number }[]): Promise<UserId[]> {
    const insert = 'INSERT INTO group_member_slots (group_id, user_id, slot) VALUES (?, ?, ?) IF NOT EXISTS';
    const all = await this.client.batch(claims.map((c) => ({ query: insert, params: [group, c.user, c.slot] })));
    if (all.wasApplied()) return claims.map((c) => c.user);
    // Someone added one of these users concurrently: claim one by one, skipping theirs.
    const won: UserId[] = [];
    for (const c of claims) {
      if ((await this.client.execute(insert, [group, c.user, c.slot])).wasApplied()) won.push(c.user);
    }
    return won;
  }

  /** user -> slot for those of `users` who are members. */
  private async slotsOf(group: string, users: readonly UserId[]): Promise<Map<UserId, number>> {
    const out = new Map<UserId, number>();
    const chunks: UserId[][] = [];
    for (let i = 0; i < users.length; i += IN_CHUNK) chunks.push(users.slice(i, i + IN_CHUNK));
    const results = await Promise.all(
      chunks.map((chunk) =>
        this.client.execute('SELECT user_id, slot FROM group_member_slots WHERE group_id = ? AND user_id IN ?', [group, chunk]),
      ),
    );
    for (const rs of results) for (const r of rs.rows) out.set(r.get('user_id'), r.get('slot'));
    return out;
  }

  private async mustExist(group: string): Promise<void> {
    const rs = await this.client.execute('SELECT id FROM groups WHERE id = ?', [group]);
    if (rs.rowLength === 0) throw new ChatError('not_found', `no group ${group}`);
  }
}
