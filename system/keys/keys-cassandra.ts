import cassandra from 'cassandra-driver';
import { randomInt, randomUUID } from 'node:crypto';
import { type DeviceId, type UserId, userOf } from '../protocol/ids.ts';
import { guard, num, type CassandraSession } from '../drivers/cassandra-client.ts';
import type { FetchedBundle, Keys, PublishedBundle } from './keys.ts';

const { Uuid } = cassandra.types;
const { consistencies, responseErrorCodes } = cassandra.types;

export interface CassandraKeysOptions {
  session: CassandraSession;
}

/** Free keys tried per read, in random order, so concurrent fetches mostly aim at different rows. */
const CANDIDATES = 8;
/** Re-reads of a device's keys before a fetch gives up on a one-time key (only under extreme contention). */
const ROUNDS = 30;

/**
 * A claim names the key it read as well as its id. `IF claimed_by = null`
 * alone also holds on a row that is gone (Cassandra reads a missing row's
 * columns as null): a publish deletes the partition, claimed rows with it,
 * and a fetch that read the old keys before would then claim one already
 * handed out and write it back. `pub_key = ?` fails on a deleted row.
 */
const CLAIM = 'UPDATE prekeys_one_time SET claimed_by = ? WHERE device = ? AND key_id = ? IF pub_key = ? AND claimed_by = null';

/**
 * Pre-key bundles in Cassandra (tables prekey_bundles, one partition per
 * user; prekeys_one_time, one partition per device).
 *
 * At most once, across nodes: a one-time key is handed out by a lightweight
 * transaction that sets `claimed_by` to a fresh token only while it is null
 * and the row still holds the key that was read (see CLAIM).
 * A transaction that times out may still have been applied, so the claim is
 * then read back at SERIAL consistency: the token says whether it was ours,
 * and a key is never lost to an unknown outcome. Claimed rows stay until the
 * device uploads again (a publish replaces its whole partition), which keeps
 * the partition at most one upload long (~100 rows).
 */
export class CassandraKeys implements Keys {
  private readonly client: cassandra.Client;

  constructor(options: CassandraKeysOptions) {
    this.client = options.session.client;
  }

  /** Replaces the device's whole bundle, one-time keys included (as Signal's key upload does). */
  publish(device: DeviceId, bundle: PublishedBundle): Promise<void> {
    return guard('keys', async () => {
      const { identityKey, signedPreKey: s } = bundle;
      await this.client.execute(
        'INSERT INTO prekey_bundles (user_id, device, identity_key, signed_id, signed_key, signed_signature) VALUES (?, ?, ?, ?, ?, ?)',
        [userOf(device), device, identityKey, s.id, s.key, s.signature],
      );
      // The driver's timestamps are monotonic, so the new keys are newer than this partition delete.
      await this.client.execute('DELETE FROM prekeys_one_time WHERE device = ?', [device]);
      if (bundle.oneTimePreKeys.length === 0) return;
      const insert = 'INSERT INTO prekeys_one_time (device, key_id, pub_key) VALUES (?, ?, ?)';
      await this.client.batch(
        bundle.oneTimePreKeys.map((k) => ({ query: insert, params: [device, k.id, k.key] })),
        { logged: false },
      );
    });
  }

  identities(devices: readonly DeviceId[]): Promise<Map<DeviceId, string>> {
    return guard('keys', async () => {
      const byUser = new Map<UserId, DeviceId[]>();
      for (const d of devices) {
        const u = userOf(d);
        const list = byUser.get(u);
        if (list) list.push(d);
        else byUser.set(u, [d]);
      }
      const found = new Map<DeviceId, string>();
      await Promise.all(
        [...byUser].map(async ([user, ds]) => {
          const rs = await this.client.execute('SELECT device, identity_key FROM prekey_bundles WHERE user_id = ? AND device IN ?', [user, ds], { prepare: true });
          for (const r of rs.rows) found.set(r.get('device'), r.get('identity_key'));
        }),
      );
      return found;
    });
  }

  fetch(user: UserId, except?: DeviceId): Promise<FetchedBundle[]> {
    return guard('keys', async () => {
      const rs = await this.client.execute(
        'SELECT device, identity_key, signed_id, signed_key, signed_signature FROM prekey_bundles WHERE user_id = ?',
        [user],
      );
      return Promise.all(
        rs.rows.filter((r) => r.get('device') !== except).map(async (r) => {
          const device: DeviceId = r.get('device');
          const bundle: FetchedBundle = {
            device,
            identityKey: r.get('identity_key'),
            signedPreKey: { id: r.get('signed_id'), key: r.get('signed_key'), signature: r.get('signed_signature') },
          };
          const oneTime = await this.claimInTurn(device);
          if (oneTime) bundle.oneTimePreKey = oneTime;
          return bundle;
        }),
      );
    });
  }

  remaining(device: DeviceId): Promise<number> {
    return guard('keys', async () => (await this.freeKeys(device)).length);
  }

  private async freeKeys(device: DeviceId): Promise<{ id: number; key: string }[]> {
    const rs = await this.client.execute('SELECT key_id, pub_key, claimed_by FROM prekeys_one_time WHERE device = ?', [device], {
      fetchSize: 1000,
    });
    const free: { id: number; key: string }[] = [];
    for await (const r of rs) if (r.get('claimed_by') == null) free.push({ id: num(r.get('key_id')), key: r.get('pub_key') });
    return free;
  }

  /**
   * Claims of one device's keys from this process, one at a time. Paxos
   * orders the transactions of one partition anyway; run at once (many
   * devices opening sessions with the same device), they contend for it, and
   * on a ring at LOCAL_SERIAL the losers time out. Other processes' claims
   * can still meet them, and `claim` settles those.
   */
  private readonly claiming = new Map<DeviceId, Promise<unknown>>();

  private claimInTurn(device: DeviceId): Promise<{ id: number; key: string } | undefined> {
    const turn = (this.claiming.get(device) ?? Promise.resolve()).catch(() => {}).then(() => this.claimOne(device));
    this.claiming.set(device, turn);
    const forget = () => {
      if (this.claiming.get(device) === turn) this.claiming.delete(device);
    };
    turn.then(forget, forget);
    return turn;
  }

  /** Claims one free one-time key of `device`, or none if it has none left. */
  private async claimOne(device: DeviceId): Promise<{ id: number; key: string } | undefined> {
    for (let round = 0; round < ROUNDS; round++) {
      const free = await this.freeKeys(device);
      if (free.length === 0) return undefined;
      for (const candidate of shuffled(free.slice(0, CANDIDATES))) {
        if (await this.claim(device, candidate)) return candidate;
      }
    }
    throw new Error(`could not claim a one-time pre-key of ${device} after ${ROUNDS} rounds (contention)`);
  }

  private async claim(device: DeviceId, key: { id: number; key: string }): Promise<boolean> {
    const token = Uuid.fromString(randomUUID());
    const keyId = key.id;
    try {
      return (await this.client.execute(CLAIM, [token, device, keyId, key.key])).wasApplied();
    } catch (error) {
      const unknown =
        error instanceof cassandra.errors.OperationTimedOutError || (error as { code?: number }).code === responseErrorCodes.writeTimeout;
      if (!unknown) throw error;
      // Outcome unknown: a serial read sees every transaction that was accepted.
      const rs = await this.client.execute(
        'SELECT claimed_by FROM prekeys_one_time WHERE device = ? AND key_id = ?',
        [device, keyId],
        { consistency: consistencies.localSerial },
      );
      return String(rs.first()?.get('claimed_by')) === token.toString();
    }
  }
}

/** A random order (Fisher-Yates): spreads concurrent claims over different rows. */
function shuffled<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
