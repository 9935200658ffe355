import type { Redis } from 'ioredis';
import { ChatError } from '../protocol/errors.ts';
import type { UserId } from '../protocol/ids.ts';
import { DEFAULT_PREFIX, execAll, guard, script, type RedisAdapterOptions, type ScriptFn } from '../drivers/redis-client.ts';
import { LIVE_STORIES_MAX, VIEWERS_LISTED, type Stories, type Story, type StoryViews, type ViewResult } from './stories.ts';

export interface RedisStoriesOptions extends RedisAdapterOptions {
  /** Unexpired stories per poster at most. Default LIVE_STORIES_MAX. */
  maxLive?: number;
}

/**
 * Stores a story (KEYS[1] its hash, KEYS[2] its poster's index) unless the
 * sid is held already. ARGV: sid, at, expiresAt, maxLive, user, device,
 * body, audience ('' for anyone, else ",a,b,"; "," for nobody but the
 * poster). Returns 1 when stored or already held, 0 when the poster has
 * maxLive stories alive at `at`.
 */
const POST = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 1 end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[2])
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[4]) then return 0 end
redis.call('HSET', KEYS[1], 'user', ARGV[5], 'device', ARGV[6], 'at', ARGV[2], 'expiresAt', ARGV[3], 'body', ARGV[7])
if ARGV[8] ~= '' then redis.call('HSET', KEYS[1], 'aud', ARGV[8]) end
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[2], string.format('%d', tonumber(last[2])))
return 1`;

/**
 * The stories of a poster (KEYS[1] its index) unexpired at ARGV[1] that
 * viewer ARGV[2] may see; ARGV[3] is the prefix of story hashes, ARGV[4]
 * the poster. Returns sid, device, at, expiresAt, audience, body per story.
 */
const LIST = `
local out = {}
for _, sid in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf')) do
  local h = redis.call('HMGET', ARGV[3] .. sid, 'device', 'at', 'expiresAt', 'aud', 'body')
  if h[1] and (not h[4] or ARGV[2] == ARGV[4] or string.find(h[4], ',' .. ARGV[2] .. ',', 1, true)) then
    for _, v in ipairs({sid, h[1], h[2], h[3], h[4] or '', h[5]}) do out[#out + 1] = v end
  end
end
return out`;

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
 * Stories in Redis, shared by every node process. Keys (under the prefix):
 * - `story:<sid>` -> hash user, device, at, expiresAt, body and, for a
 *   story with an audience, `aud` (",alice,bob,"); expires at the story's
 *   expiry (PEXPIREAT), so Redis itself drops it;
 * - `story:<sid>:views` -> sorted set viewer -> first view time, expiring
 *   with the story; made by the first view;
 * - `stories:<user>` -> sorted set sid -> expiry: the poster's index,
 *   trimmed of expired sids at each post and expiring with its last story.
 *
 * A post is one script (one round trip, one story hash and one index
 * entry); so are `list` (the visible stories and nothing else travel back)
 * and `view`. Expiry is measured against the `now`/`at` the node passes,
 * and Redis drops keys by its own clock: both are wall clocks, so a story
 * may linger in memory as long as they differ, never be served.
 */
export class RedisStories implements Stories {
  private readonly client: Redis;
  private readonly prefix: string;
  private readonly maxLive: number;
  private readonly postScript: ScriptFn;
  private readonly listScript: ScriptFn;
  private readonly viewScript: ScriptFn;

  constructor(options: RedisStoriesOptions) {
    this.client = options.client;
    this.prefix = options.prefix ?? DEFAULT_PREFIX;
    this.maxLive = options.maxLive ?? LIVE_STORIES_MAX;
    this.postScript = script(this.client, 'stories_post', 2, POST);
    this.listScript = script(this.client, 'stories_list', 1, LIST);
    this.viewScript = script(this.client, 'stories_view', 2, VIEW);
  }

  post(s: Story): Promise<void> {
    return guard('stories', async () => {
      const audience = s.audience === null ? '' : `,${s.audience.join(',')},`;
      const stored = await this.postScript(
        this.storyKey(s.sid), this.posterKey(s.user),
        s.sid, whole(s.at), whole(s.expiresAt), this.maxLive, s.user, s.device, s.body, audience,
      );
      if (stored === 0) throw new ChatError('too_large', `a user has at most ${this.maxLive} stories alive`);
    });
  }

  list(poster: UserId, viewer: UserId, now: number): Promise<Story[]> {
    return guard('stories', async () => {
      const flat = (await this.listScript(this.posterKey(poster), Math.floor(now), viewer, `${this.prefix}story:`, poster)) as string[];
      const stories: Story[] = [];
      for (let i = 0; i < flat.length; i += 6) {
        const [sid, device, at, expiresAt, aud, body] = flat.slice(i, i + 6) as [string, string, string, string, string, string];
        stories.push({ sid, user: poster, device, at: Number(at), expiresAt: Number(expiresAt), audience: audienceOf(aud), body });
      }
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
    return `${this.prefix}story:${sid}`;
  }

  private viewsKey(sid: string): string {
    return `${this.prefix}story:${sid}:views`;
  }

  private posterKey(user: UserId): string {
    return `${this.prefix}stories:${user}`;
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
