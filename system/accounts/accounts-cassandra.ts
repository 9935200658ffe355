import type cassandra from 'cassandra-driver';
import type { DeviceId, UserId } from '../protocol/ids.ts';
import { guard, num, type CassandraSession } from '../drivers/cassandra-client.ts';
import type { Accounts } from './accounts.ts';

export interface CassandraAccountsOptions {
  session: CassandraSession;
}

/** Users per `IN (...)` read: one partition each, read by the coordinator in parallel. */
const IN_CHUNK = 100;

/**
 * Accounts in Cassandra (tables user_devices, one partition per user; phones).
 *
 * A device is added with `INSERT ... IF NOT EXISTS`, so adding it again
 * changes nothing, and the write time of its `added` cell (the transaction's
 * ballot, unique and increasing within the user's partition) is when it was
 * first added: devices are listed in that order. Visible to every node once
 * `addDevice` resolves: the transaction commits before it returns. A phone is
 * a plain upsert: the last bind wins.
 */
export class CassandraAccounts implements Accounts {
  private readonly client: cassandra.Client;

  constructor(options: CassandraAccountsOptions) {
    this.client = options.session.client;
  }

  addDevice(user: UserId, device: DeviceId): Promise<void> {
    return guard('accounts', async () => {
      await this.client.execute('INSERT INTO user_devices (user_id, device, added) VALUES (?, ?, true) IF NOT EXISTS', [user, device]);
    });
  }

  devices(user: UserId): Promise<DeviceId[]> {
    return guard('accounts', async () => (await this.devicesOfChunk([user])).get(user) ?? []);
  }

  /** Every user asked for is in the result; unknown users map to no devices. One query per 100 users, all in flight at once. */
  devicesOf(users: readonly UserId[]): Promise<Map<UserId, DeviceId[]>> {
    return guard('accounts', async () => {
      const distinct = [...new Set(users)];
      const chunks: UserId[][] = [];
      for (let i = 0; i < distinct.length; i += IN_CHUNK) chunks.push(distinct.slice(i, i + IN_CHUNK));
      const found = await Promise.all(chunks.map((chunk) => this.devicesOfChunk(chunk)));
      const out = new Map<UserId, DeviceId[]>();
      for (const user of distinct) out.set(user, found.find((m) => m.has(user))?.get(user) ?? []);
      return out;
    });
  }

  bindPhone(phone: string, user: UserId): Promise<void> {
    return guard('accounts', async () => {
      await this.client.execute('INSERT INTO phones (phone, user_id) VALUES (?, ?)', [phone, user]);
    });
  }

  userByPhone(phone: string): Promise<UserId | undefined> {
    return guard('accounts', async () => {
      const r = (await this.client.execute('SELECT user_id FROM phones WHERE phone = ?', [phone])).first();
      return r ? (r.get('user_id') as UserId) : undefined;
    });
  }

  private async devicesOfChunk(users: readonly UserId[]): Promise<Map<UserId, DeviceId[]>> {
    const rs = await this.client.execute(
      'SELECT user_id, device, WRITETIME(added) AS added_us FROM user_devices WHERE user_id IN ?',
      [users],
      { fetchSize: 5000 },
    );
    const byUser = new Map<UserId, { device: DeviceId; at: number }[]>();
    for await (const r of rs) {
      const user: UserId = r.get('user_id');
      let list = byUser.get(user);
      if (!list) byUser.set(user, (list = []));
      list.push({ device: r.get('device'), at: num(r.get('added_us')) });
    }
    const out = new Map<UserId, DeviceId[]>();
    for (const [user, list] of byUser) {
      out.set(user, list.sort((a, b) => a.at - b.at || (a.device < b.device ? -1 : 1)).map((d) => d.device));
    }
    return out;
  }
}
