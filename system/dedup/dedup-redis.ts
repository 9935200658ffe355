import { bySlot, DEFAULT_PREFIX, guard, script, type RedisAdapterOptions, type RedisClient, type ScriptFn } from '../drivers/redis-client.ts';
import type { ClaimResult, Dedup } from './dedup.ts';

/**
 * Claims a key: SET NX PX, and on a loss returns what holds the key, all in
 * one atomic step (a plain SET NX followed by a GET could find the key
 * expired in between and call a lost claim neither pending nor done).
 * Returns nil when claimed.
 */
const CLAIM = `
if redis.call('SET', KEYS[1], 'p', 'NX', 'PX', ARGV[1]) then return false end
return redis.call('GET', KEYS[1])`;

/** Deletes the key only while it is a pending claim: a completed key keeps answering with its result. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == 'p' then return redis.call('DEL', KEYS[1]) end
return 0`;

/**
 * Extends each key in KEYS that is still a pending claim to ARGV[1] ms; a
 * completed or lapsed key is left alone. Their number varies, so the call
 * passes it first (on a cluster, one call per slot).
 */
const RENEW = `
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == 'p' then redis.call('PEXPIRE', KEYS[i], ARGV[1]) end
end
return 0`;

/**
 * Dedup in Redis, one key per client message id: `<prefix>dedup:<key>` holds
 * `p` while the first attempt is in flight and `d:<result>` once it
 * completed, each with its own TTL (PX, so expiry is exact to the
 * millisecond). At most one claim wins within the TTL across all nodes,
 * because the claim is a single atomic script on the one key, on the Redis
 * they share (on a cluster, on the master owning the key's slot). Every
 * operation but `renew` is on one key, so keys need no hash tag.
 *
 * If Redis loses keys (a restart without persistence, eviction), a device's
 * retry of an already-acked message wins a new claim and is stored again
 * under a new mid, which devices cannot recognise as a duplicate. That is
 * one reason the local world runs Redis with AOF and no eviction policy.
 */
export class RedisDedup implements Dedup {
  private readonly client: RedisClient;
  private readonly prefix: string;
  private readonly claimScript: ScriptFn;
  private readonly releaseScript: ScriptFn;
  private readonly renewScript: ScriptFn;

  constructor(options: RedisAdapterOptions) {
    this.client = options.client;
    this.prefix = options.prefix ?? DEFAULT_PREFIX;
    this.claimScript = script(this.client, 'dedup_claim', 1, CLAIM);
    this.releaseScript = script(this.client, 'dedup_release', 1, RELEASE);
    this.renewScript = script(this.client, 'dedup_renew', undefined, RENEW);
  }

  claim(key: string, ttlMs: number): Promise<ClaimResult> {
    return guard('dedup', async () => {
      const held = (await this.claimScript(this.key(key), ttlPx(ttlMs))) as string | null;
      if (held === null) return { state: 'claimed' };
      if (held.startsWith('d:')) return { state: 'done', result: held.slice(2) };
      return { state: 'pending' };
    });
  }

  complete(key: string, result: string, ttlMs: number): Promise<void> {
    return guard('dedup', async () => {
      await this.client.set(this.key(key), `d:${result}`, 'PX', ttlPx(ttlMs));
    });
  }

  release(key: string): Promise<void> {
    return guard('dedup', async () => {
      await this.releaseScript(this.key(key));
    });
  }

  renew(keys: readonly string[], ttlMs: number): Promise<void> {
    if (keys.length === 0) return Promise.resolve();
    return guard('dedup', async () => {
      const ttl = ttlPx(ttlMs);
      const groups = bySlot(this.client, keys.map((k) => this.key(k)), (k) => k);
      await Promise.all(groups.map((group) => this.renewScript(group.length, ...group.map((e) => e.item), ttl)));
    });
  }

  private key(key: string): string {
    return `${this.prefix}dedup:${key}`;
  }
}

/** PX needs a positive integer. */
function ttlPx(ttlMs: number): number {
  return Math.max(1, Math.round(ttlMs));
}
