import { ChatError, type ErrorCode } from '../protocol/errors.ts';
import type { CallMedia } from '../protocol/frames.ts';
import type { DeviceId, UserId } from '../protocol/ids.ts';
import { DEFAULT_PREFIX, guard, script, type RedisAdapterOptions, type RedisClient, type ScriptFn } from '../drivers/redis-client.ts';
import { ENDED_KEEP_MS, type Callee, type CalleeState, type CallRecord, type Calls, type Hangup, type NewCall, type UserCalls } from './calls.ts';

export interface RedisCallsOptions extends RedisAdapterOptions {
  /** How long a call over is kept. Default ENDED_KEEP_MS. */
  endedKeepMs?: number;
}

/**
 * What every script shares. ARGV[1] is the key prefix with the `{calls}`
 * hash tag, ARGV[2] the caller's `now` (whole ms), ARGV[3] endedKeepMs;
 * KEYS[1], when given, the call's hash. The helpers mirror `rings`,
 * `callOver` and `inCall` of calls.ts.
 * A refusal is returned as a status string (an error code), a record as an
 * array: an info string, then the hash's fields and values.
 */
const PRELUDE = `
local P, now, keep = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local function callKey(id) return P .. 'call:' .. id end
local function markKey(u) return P .. 'call-user:' .. u end
local function ringKey(u) return P .. 'call-ring:' .. u end
local function users(k)
  local out = {}
  for u in string.gmatch(redis.call('HGET', k, 'callees') or '', '[^,]+') do out[#out + 1] = u end
  return out
end
local function alive(k)
  local e = redis.call('HGET', k, 'expiresAt')
  return e and now < tonumber(e)
end
local function rings(k, u)
  local h = redis.call('HMGET', k, 's:' .. u, 'endedAt', 'ringUntil')
  return h[1] == 'ringing' and not h[2] and now < tonumber(h[3])
end
local function over(k)
  if not alive(k) or redis.call('HEXISTS', k, 'endedAt') == 1 then return true end
  for _, u in ipairs(users(k)) do
    if redis.call('HGET', k, 's:' .. u) == 'answered' or rings(k, u) then return false end
  end
  return true
end
local function inCall(k, u)
  if over(k) then return false end
  return redis.call('HGET', k, 'caller') == u or redis.call('HGET', k, 's:' .. u) == 'answered'
end
local function activeOf(u)
  local id = redis.call('GET', markKey(u))
  if id and inCall(callKey(id), u) then return id end
  return false
end
local function mark(u, id, k)
  redis.call('SET', markKey(u), id)
  redis.call('PEXPIREAT', markKey(u), redis.call('HGET', k, 'expiresAt'))
end
local function unmark(u, id)
  if redis.call('GET', markKey(u)) == id then redis.call('DEL', markKey(u)) end
end
local function finish(k, id)
  redis.call('HSET', k, 'endedAt', ARGV[2])
  unmark(redis.call('HGET', k, 'caller'), id)
  for _, u in ipairs(users(k)) do
    unmark(u, id)
    redis.call('ZREM', ringKey(u), id)
  end
  local e = string.format('%d', math.min(tonumber(redis.call('HGET', k, 'expiresAt')), now + keep))
  redis.call('HSET', k, 'expiresAt', e)
  redis.call('PEXPIREAT', k, e)
end
local function record(k, info)
  local out = {info}
  for _, v in ipairs(redis.call('HGETALL', k)) do out[#out + 1] = v end
  return out
end
`;

/** ARGV[4..]: id, caller, device, media, sdp, startedAt, ringUntil, expiresAt, callees (comma-separated). */
const PLACE = `${PRELUDE}
local k, id, caller = KEYS[1], ARGV[4], ARGV[5]
if redis.call('EXISTS', k) == 1 then return record(k, '') end
if activeOf(caller) then return 'in_call' end
redis.call('HSET', k, 'id', id, 'caller', caller, 'device', ARGV[6], 'media', ARGV[7], 'sdp', ARGV[8],
  'startedAt', ARGV[9], 'ringUntil', ARGV[10], 'expiresAt', ARGV[11], 'callees', ARGV[12])
redis.call('PEXPIREAT', k, ARGV[11])
local ringing = {}
for _, u in ipairs(users(k)) do
  if activeOf(u) then redis.call('HSET', k, 's:' .. u, 'busy')
  else
    redis.call('HSET', k, 's:' .. u, 'ringing')
    ringing[#ringing + 1] = u
  end
end
if #ringing == 0 then
  finish(k, id)
  return record(k, '')
end
mark(caller, id, k)
for _, u in ipairs(ringing) do
  redis.call('ZADD', ringKey(u), ARGV[10], id)
  local last = redis.call('ZRANGE', ringKey(u), -1, -1, 'WITHSCORES')
  redis.call('PEXPIREAT', ringKey(u), string.format('%d', tonumber(last[2])))
end
return record(k, '')`;

/** ARGV[4]: the user (KEYS: their mark and ring set). Returns {active record or {}, ringing records...}. */
const OF_USER = `${PRELUDE}
local u = ARGV[4]
local id = activeOf(u)
local out = {id and record(callKey(id), '') or {}}
redis.call('ZREMRANGEBYSCORE', ringKey(u), '-inf', ARGV[2])
for _, rid in ipairs(redis.call('ZRANGEBYSCORE', ringKey(u), '(' .. ARGV[2], '+inf')) do
  local k = callKey(rid)
  if alive(k) and rings(k, u) then out[#out + 1] = record(k, '') end
end
return out`;

/** ARGV[4..]: id, user, device. */
const ANSWER = `${PRELUDE}
local k, id, u = KEYS[1], ARGV[4], ARGV[5]
if not alive(k) or not redis.call('HGET', k, 's:' .. u) then return 'unknown_call' end
if over(k) or not rings(k, u) then return 'call_over' end
local other = activeOf(u)
if other and other ~= id then return 'in_call' end
redis.call('HSET', k, 's:' .. u, 'answered', 'd:' .. u, ARGV[6])
mark(u, id, k)
redis.call('ZREM', ringKey(u), id)
return record(k, '')`;

/** ARGV[4..]: id, user, 'rejected' or 'busy'. */
const SETTLE = `${PRELUDE}
local k, id, u = KEYS[1], ARGV[4], ARGV[5]
if not alive(k) or not redis.call('HGET', k, 's:' .. u) then return 'unknown_call' end
if over(k) or not rings(k, u) then return 'call_over' end
redis.call('HSET', k, 's:' .. u, ARGV[6])
redis.call('ZREM', ringKey(u), id)
if over(k) then finish(k, id) end
return record(k, '')`;

/** ARGV[4]: id. The record's info is the users settled, comma-separated. */
const TIMEOUT = `${PRELUDE}
local k, id = KEYS[1], ARGV[4]
if not alive(k) then return 'unknown_call' end
local done = {}
if redis.call('HEXISTS', k, 'endedAt') == 0 and now >= tonumber(redis.call('HGET', k, 'ringUntil')) then
  for _, u in ipairs(users(k)) do
    if redis.call('HGET', k, 's:' .. u) == 'ringing' then
      redis.call('HSET', k, 's:' .. u, 'timeout')
      redis.call('ZREM', ringKey(u), id)
      done[#done + 1] = u
    end
  end
  if over(k) then finish(k, id) end
end
return record(k, table.concat(done, ','))`;

/** ARGV[4..]: id, user, device. The record's info is what the hang-up was. */
const HANGUP = `${PRELUDE}
local k, id, u, d = KEYS[1], ARGV[4], ARGV[5], ARGV[6]
if not alive(k) then return 'unknown_call' end
local h = redis.call('HMGET', k, 'caller', 'device')
if u == h[1] then
  if d ~= h[2] then return 'unknown_call' end
  if over(k) then return 'call_over' end
  finish(k, id)
  return record(k, 'caller')
end
local s = redis.call('HGET', k, 's:' .. u)
if not s then return 'unknown_call' end
if s == 'answered' or s == 'left' then
  if redis.call('HGET', k, 'd:' .. u) ~= d then return 'unknown_call' end
  if s == 'left' or over(k) then return 'call_over' end
  redis.call('HSET', k, 's:' .. u, 'left')
  unmark(u, id)
  if over(k) then finish(k, id) end
  return record(k, 'answered')
end
if not rings(k, u) then return 'call_over' end
redis.call('HSET', k, 's:' .. u, 'rejected')
redis.call('ZREM', ringKey(u), id)
if over(k) then finish(k, id) end
return record(k, 'ringing')`;

/**
 * Calls in Redis, shared by every node process. Keys (under the prefix and
 * the hash tag `{calls}`):
 * - `call:<id>` -> hash id, caller, device, media, sdp, startedAt,
 *   ringUntil, expiresAt, callees ("a,b"), endedAt once ended, and per
 *   callee `s:<user>` (its state) and `d:<user>` (the device that
 *   answered); expires at `expiresAt` (PEXPIREAT), moved earlier when the
 *   call ends;
 * - `call-user:<user>` -> the id of the call the user was last marked in
 *   (placed or answered), deleted when they leave it or it ends, expiring
 *   with the call: whether they are still in it is decided against the
 *   call itself, so a call over by its ring deadline frees its caller
 *   without a write;
 * - `call-ring:<user>` -> sorted set call id -> ringUntil: the calls
 *   ringing the user, trimmed at each read and expiring with its last
 *   deadline.
 *
 * Each operation is one Lua script (one round trip, atomic); `get` is one
 * HGETALL. Times are the `now` the node passes; Redis drops keys by its
 * own clock, both wall clocks.
 *
 * Why one hash tag for every call: a script follows a user's mark to the
 * call it names and the callees listed in a call to their marks and rings,
 * keys it only learns while it runs, and placing or answering must check
 * "not in another call" atomically with marking. So on a Redis Cluster they
 * all live in one slot (one master), where a script may reach keys it did
 * not name; each script names its entry keys (the call, or the user's
 * mark and ring set) so the cluster client routes it there. The cost is
 * that call signalling does not spread over the masters; at call rates (a
 * few per user per day) one master is far from its limit.
 */
export class RedisCalls implements Calls {
  private readonly client: RedisClient;
  private readonly prefix: string;
  private readonly endedKeepMs: number;
  private readonly placeScript: ScriptFn;
  private readonly ofUserScript: ScriptFn;
  private readonly answerScript: ScriptFn;
  private readonly settleScript: ScriptFn;
  private readonly timeoutScript: ScriptFn;
  private readonly hangupScript: ScriptFn;

  constructor(options: RedisCallsOptions) {
    this.client = options.client;
    this.prefix = options.prefix ?? DEFAULT_PREFIX;
    this.endedKeepMs = options.endedKeepMs ?? ENDED_KEEP_MS;
    this.placeScript = script(this.client, 'calls_place', 1, PLACE);
    this.ofUserScript = script(this.client, 'calls_of_user', 2, OF_USER);
    this.answerScript = script(this.client, 'calls_answer', 1, ANSWER);
    this.settleScript = script(this.client, 'calls_settle', 1, SETTLE);
    this.timeoutScript = script(this.client, 'calls_timeout', 1, TIMEOUT);
    this.hangupScript = script(this.client, 'calls_hangup', 1, HANGUP);
  }

  place(call: NewCall, now: number): Promise<CallRecord> {
    return guard('calls', async () => {
      const r = await this.placeScript(
        this.callKey(call.id), ...this.common(now),
        call.id, call.caller, call.device, call.media, call.sdp, whole(call.startedAt), whole(call.ringUntil), whole(call.expiresAt), call.callees.join(','),
      );
      return decode(outcome(r));
    });
  }

  get(id: string, now: number): Promise<CallRecord | undefined> {
    return guard('calls', async () => {
      const flat = await this.client.hgetall(this.callKey(id));
      if (flat.expiresAt === undefined || Number(flat.expiresAt) <= now) return undefined;
      return decode(['', ...Object.entries(flat).flat()]);
    });
  }

  ofUser(user: UserId, now: number): Promise<UserCalls> {
    return guard('calls', async () => {
      const [active, ...ringing] = (await this.ofUserScript(this.userKey('call-user', user), this.userKey('call-ring', user), ...this.common(now), user)) as string[][];
      const out: UserCalls = { ringing: ringing.map(decode).sort((a, b) => a.startedAt - b.startedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)) };
      if (active && active.length > 0) out.active = decode(active);
      return out;
    });
  }

  answer(id: string, user: UserId, device: DeviceId, now: number): Promise<CallRecord> {
    return guard('calls', async () => decode(outcome(await this.answerScript(this.callKey(id), ...this.common(now), id, user, device))));
  }

  settle(id: string, user: UserId, how: 'rejected' | 'busy', now: number): Promise<CallRecord> {
    return guard('calls', async () => decode(outcome(await this.settleScript(this.callKey(id), ...this.common(now), id, user, how))));
  }

  timeout(id: string, now: number): Promise<{ call: CallRecord; users: UserId[] } | undefined> {
    return guard('calls', async () => {
      const r = await this.timeoutScript(this.callKey(id), ...this.common(now), id);
      if (typeof r === 'string') return undefined;
      const flat = r as string[];
      return { call: decode(flat), users: flat[0] === '' ? [] : flat[0]!.split(',') };
    });
  }

  hangup(id: string, user: UserId, device: DeviceId, now: number): Promise<Hangup> {
    return guard('calls', async () => {
      const flat = outcome(await this.hangupScript(this.callKey(id), ...this.common(now), id, user, device));
      return { call: decode(flat), was: flat[0] as Hangup['was'] };
    });
  }

  /** ARGV[1..3] of every script. */
  private common(now: number): [string, number, number] {
    return [this.tagged(), whole(now), this.endedKeepMs];
  }

  private callKey(id: string): string {
    return `${this.tagged()}call:${id}`;
  }

  /** A user's mark (`call-user`) or ring set (`call-ring`), as the scripts' markKey and ringKey build them. */
  private userKey(kind: 'call-user' | 'call-ring', user: UserId): string {
    return `${this.tagged()}${kind}:${user}`;
  }

  /** The prefix of every calls key: one hash tag, one slot (see the class comment). */
  private tagged(): string {
    return `${this.prefix}{calls}:`;
  }
}

/** Times travel as whole milliseconds (PEXPIREAT and the scripts' comparisons). */
function whole(ms: number): number {
  return Math.floor(ms);
}

/** A script's answer: a refusal (an error code) thrown as a ChatError, a record passed on. */
function outcome(r: unknown): string[] {
  if (typeof r !== 'string') return r as string[];
  const code = r as ErrorCode;
  if (code === 'in_call') throw new ChatError(code, 'you are in a call: hang it up first');
  if (code === 'call_over') throw new ChatError(code, 'this call is over for you');
  throw new ChatError('unknown_call', 'no such call, or not one you are part of');
}

/** A record from a script's answer: an info string, then the hash's fields and values. */
function decode(flat: string[]): CallRecord {
  const h = new Map<string, string>();
  for (let i = 1; i + 1 < flat.length; i += 2) h.set(flat[i]!, flat[i + 1]!);
  const callees = (h.get('callees') ?? '').split(',').filter((u) => u !== '').map((user): Callee => {
    const c: Callee = { user, state: h.get(`s:${user}`) as CalleeState };
    const device = h.get(`d:${user}`);
    if (device !== undefined) c.device = device;
    return c;
  });
  const rec: CallRecord = {
    id: h.get('id')!, caller: h.get('caller')!, device: h.get('device')!, media: h.get('media') as CallMedia, sdp: h.get('sdp') ?? '',
    startedAt: Number(h.get('startedAt')), ringUntil: Number(h.get('ringUntil')), expiresAt: Number(h.get('expiresAt')), callees,
  };
  const ended = h.get('endedAt');
  if (ended !== undefined) rec.endedAt = Number(ended);
  return rec;
}
