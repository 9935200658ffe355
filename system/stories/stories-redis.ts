import { ChatError } from '../protocol/errors.ts';
import type { UserId } from '../protocol/ids.ts';
import { DEFAULT_PREFIX, execAll, guard, pipelined, script, type Cmd, type RedisAdapterOptions, type RedisClient, type ScriptFn } from '../drivers/redis-client.ts';
import { LIVE_STORIES_MAX, VIEWERS_LISTED, type Stories, type Story, type StoryViews, type ViewResult } from './stories.ts';

export interface RedisStoriesOptions extends RedisAdapterOptions {
  /** Unexpired stories per poster at most. Default LIVE_STORIES_MAX. */
  maxLive?: number;
}

/**
 * Enters sid ARGV[1] in its poster's index (KEYS[1]) unless it is there
 * already, after trimming the sids expired at ARGV[2]. ARGV[3] is its
 * expiry, ARGV[4] maxLive. Returns 1 when entered or already there, 0 when
 * the poster has maxLive stories alive at `at`.
 */
const ENTER = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 1 end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], string.format('%d', tonumber(last[2])))
return 1`;

/**
 * Stores a story's hash (KEYS[1]) unless it is held already. ARGV: at,
 * expiresAt, user, device, body, audience ('' for anyone, else ",a,b,";
 * "," for nobody but the poster).
 */
const STORE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'user', ARGV[3], 'device', ARGV[4], 'at', ARGV[1], 'expiresAt', ARGV[2], 'body', ARGV[5])
if ARGV[6] ~= '' then redis.call('HSET', KEYS[1], 'aud', ARGV[6]) end
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return 1`;

/**
 * A view of story KEYS[1] (views in KEYS[2]) by ARGV[1] at ARGV[2].
 * Returns {} when there is no such story alive that the viewer may see,
 * else {poster, 1} for a first view (recorded) or {poster, 0}.
 */
const VIEW = `
local h = redis.call('HMGET', KEYS[1], 'user', 'expiresAt', 'aud')
if not h[1] or tonumber(h[2]) <= tonumber(ARGV[2]) then return {} end
if h[1] == ARGV[1] then return {h[1], 0} end
if h[3] and not string.find(h[3], ',' .. ARGV[1] .. ',', 1, true) then return {} end
if redis.call('ZADD', KEYS[2], 'NX', ARGV[2], ARGV[1]) == 0 then return {h[1], 0} end
redis.call('PEXPIREAT', KEYS[2], h[2])
return {h[1], 1}`;

/**
 * Stories in Redis, shared by every node process. Keys (under the prefix),
 * hash-tagged by story, and by poster for the index, so they spread over a
 * Redis Cluster's masters:
 * - `story:{<sid>}` -> hash user, device, at, expiresAt, body and, for a
 *   story with an audience, `aud` (",alice,bob,"); expires at the story's
 *   expiry (PEXPIREAT), so Redis itself drops it;
 * - `story:{<sid>}:views` -> sorted set viewer -> first view time, expiring
 *   with the story; made by the first view (same slot as the story, so a
 *   view is one atomic script);
 * - `stories:{<user>}` -> sorted set sid -> expiry: the poster's index,
 *   trimmed of expired sids at each post and expiring with its last story.
 *
 * A post is two scripts, index first (the limit is checked and the sid
 * entered atomically), then the story hash: a post that fails in between
 * leaves a sid without a story, which `list` skips and the retried post
 * (same sid) completes. `list` is two round trips (the index, then the
 * hashes of its sids), `view` one script. Expiry is measured against the `now`/`at` the node passes,
 * and Redis drops keys by its own clock: both are wall clocks, so a story
 * may linger in memory as long as they differ, never be served.
 */
export class RedisStories implements Stories {
  private readonly client: RedisClient;
  private readonly prefix: string;
  private readonly maxLive: number;
  private readonly enterScript: ScriptFn;
  private readonly storeScript: ScriptFn;
  private readonly viewScript: ScriptFn;

  constructor(options: RedisStoriesOptions) {
    this.client = options.client;
    this.prefix = options.prefix ?? DEFAULT_PREFIX;
    this.maxLive = options.maxLive ?? LIVE_STORIES_MAX;
    this.enterScript = script(this.client, 'stories_enter', 1, ENTER);
    this.storeScript = script(this.client, 'stories_store', 1, STORE);
    this.viewScript = script(this.client, 'stories_view', 2, VIEW);
  }

  post(s: Story): Promise<void> {
    return guard('stories', async () => {
      const audience = s.audience === null ? '' : `,${s.audience.join(',')},`;
      const entered = await this.enterScript(this.posterKey(s.user), s.sid, whole(s.at), whole(s.expiresAt), this.maxLive);
      if (entered === 0) throw new ChatError('too_large', `a user has at most ${this.maxLive} stories alive`);
      await this.storeScript(this.storyKey(s.sid), whole(s.at), whole(s.expiresAt), s.user, s.device, s.body, audience);
    });
  }

  list(poster: UserId, viewer: UserId, now: number): Promise<Story[]> {
    return guard('stories', async () => {
      const live = await this.client.zrangebyscore(this.posterKey(poster), `(${Math.floor(now)}`, '+inf');
      const hashes = (await pipelined(
        this.client,
        live.map((sid): Cmd => ['hmget', this.storyKey(sid), 'device', 'at', 'expiresAt', 'aud', 'body']),
      )) as (string | null)[][];
      const stories: Story[] = [];
      live.forEach((sid, i) => {
        const [device, at, expiresAt, aud, body] = hashes[i]!;
        if (device == null) return; // expired, or a post not completed
        if (aud != null && viewer !== poster && !aud.includes(`,${viewer},`)) return;
        stories.push({ sid, user: poster, device, at: Number(at), expiresAt: Number(expiresAt), audience: audienceOf(aud ?? ''), body: body ?? '' });
      });
      return stories.sort((a, b) => (a.sid < b.sid ? -1 : a.sid > b.sid ? 1 : 0));
    });
  }

  view(sid: string, viewer: UserId, at: number): Promise<ViewResult | undefined> {
    return guard('stories', async () => {
      const r = (await this.viewScript(this.storyKey(sid), this.viewsKey(sid), viewer, whole(at))) as [string, number] | [];
      return r.length === 0 ? undefined : { user: r[0]!, first: r[1] === 1 };
    });
  }

  views(sid: string, now: number): Promise<StoryViews | undefined> {
    return guard('stories', async () => {
      const [head, count, range] = (await execAll(
        this.client
          .pipeline()
          .hmget(this.storyKey(sid), 'user', 'expiresAt')
          .zcard(this.viewsKey(sid))
          .zrevrange(this.viewsKey(sid), 0, VIEWERS_LISTED - 1, 'WITHSCORES'),
      )) as [(string | null)[], number, string[]];
      const [user, expiresAt] = head;
      if (!user || Number(expiresAt) <= now) return undefined;
      const viewers: StoryViews['viewers'] = [];
      for (let i = 0; i < range.length; i += 2) viewers.push({ user: range[i]!, at: Number(range[i + 1]) });
      return { user, count, viewers };
    });
  }

  private storyKey(sid: string): string {
    return `${this.prefix}story:{${sid}}`;
  }

  private viewsKey(sid: string): string {
    return `${this.prefix}story:{${sid}}:views`;
  }

  private posterKey(user: UserId): string {
    return `${this.prefix}stories:{${user}}`;
  }
}

/** Times travel as whole milliseconds (PEXPIREAT and the scripts' comparisons). */
function whole(ms: number): number {
  return Math.floor(ms);
}

/** The audience as the hash keeps it: '' (anyone) or ",a,b," (those users; "," for nobody but the poster). */
function audienceOf(aud: string): UserId[] | null {
  return aud === '' ? null : aud.split(',').filter((u) => u !== '');
}
