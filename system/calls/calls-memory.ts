import type { Clock } from '../clock/clock.ts';
import type { FaultSwitch } from '../faults/port-faults.ts';
import { ChatError } from '../protocol/errors.ts';
import type { DeviceId, UserId } from '../protocol/ids.ts';
import { callOver, ENDED_KEEP_MS, inCall, rings, type Callee, type CallRecord, type Calls, type Hangup, type NewCall, type UserCalls } from './calls.ts';
import { ExpiryHeap } from '../clock/expiry-heap.ts';

export interface MemoryCallsOptions {
  /** Decides when expired records are dropped. */
  clock: Clock;
  /** How long a call over is kept. Default ENDED_KEEP_MS. */
  endedKeepMs?: number;
  /** Test hook: arm failures per method name ('place', 'get', 'ofUser', 'answer', 'settle', 'timeout', 'hangup'). */
  faults?: FaultSwitch;
}

/**
 * Calls in one process, shared by every node of it. Each operation runs to
 * its end without awaiting, so it is atomic as the port asks. Every call
 * first drops the records the clock says expired (a heap by expiry), with
 * the users' marks and ring entries that name them.
 */
export class MemoryCalls implements Calls {
  private readonly clock: Clock;
  private readonly endedKeepMs: number;
  private readonly faults?: FaultSwitch;
  private readonly calls = new Map<string, CallRecord>();
  /** The call each user was last marked in (placed or answered); `inCall` decides whether they still are. */
  private readonly marks = new Map<UserId, string>();
  /** The calls ringing each user (entries leave when the ring settles or the call ends). */
  private readonly ringing = new Map<UserId, Set<string>>();
  private readonly expiring = new ExpiryHeap();

  constructor(options: MemoryCallsOptions) {
    this.clock = options.clock;
    this.endedKeepMs = options.endedKeepMs ?? ENDED_KEEP_MS;
    this.faults = options.faults;
  }

  /** Records held (calls alive, and over ones not yet dropped). */
  get size(): number {
    return this.calls.size;
  }

  async place(call: NewCall, now: number): Promise<CallRecord> {
    this.begin('place');
    const held = this.calls.get(call.id);
    if (held) return copy(held);
    if (this.activeOf(call.caller, now)) throw new ChatError('in_call', 'you are in a call: hang it up first');
    const callees: Callee[] = call.callees.map((user) => ({ user, state: this.activeOf(user, now) ? 'busy' : 'ringing' }));
    const rec: CallRecord = { ...call, callees };
    this.calls.set(rec.id, rec);
    this.expiring.push(rec.expiresAt, rec.id);
    if (!callees.some((c) => c.state === 'ringing')) {
      this.end(rec, now);
      return copy(rec);
    }
    this.marks.set(rec.caller, rec.id);
    for (const c of callees) if (c.state === 'ringing') this.ringSet(c.user).add(rec.id);
    return copy(rec);
  }

  async get(id: string, now: number): Promise<CallRecord | undefined> {
    this.begin('get');
    const rec = this.alive(id, now);
    return rec && copy(rec);
  }

  async ofUser(user: UserId, now: number): Promise<UserCalls> {
    this.begin('ofUser');
    const ringing: CallRecord[] = [];
    for (const id of this.ringing.get(user) ?? []) {
      const rec = this.alive(id, now);
      const c = rec?.callees.find((x) => x.user === user);
      if (rec && c && rings(rec, c, now)) ringing.push(copy(rec));
    }
    ringing.sort((a, b) => a.startedAt - b.startedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const active = this.activeOf(user, now);
    return active ? { ringing, active: copy(active) } : { ringing };
  }

  async answer(id: string, user: UserId, device: DeviceId, now: number): Promise<CallRecord> {
    this.begin('answer');
    const { rec, callee } = this.calleeOf(id, user, now);
    if (!rings(rec, callee, now)) throw over();
    const other = this.activeOf(user, now);
    if (other && other.id !== id) throw new ChatError('in_call', 'you are in another call: hang it up first');
    callee.state = 'answered';
    callee.device = device;
    this.marks.set(user, id);
    this.ringing.get(user)?.delete(id);
    return copy(rec);
  }

  async settle(id: string, user: UserId, how: 'rejected' | 'busy', now: number): Promise<CallRecord> {
    this.begin('settle');
    const { rec, callee } = this.calleeOf(id, user, now);
    if (!rings(rec, callee, now)) throw over();
    this.decline(rec, callee, how, now);
    return copy(rec);
  }

  async timeout(id: string, now: number): Promise<{ call: CallRecord; users: UserId[] } | undefined> {
    this.begin('timeout');
    const rec = this.alive(id, now);
    if (!rec) return undefined;
    const users: UserId[] = [];
    if (rec.endedAt === undefined && now >= rec.ringUntil) {
      for (const c of rec.callees) {
        if (c.state !== 'ringing') continue;
        c.state = 'timeout';
        this.ringing.get(c.user)?.delete(id);
        users.push(c.user);
      }
      if (callOver(rec, now)) this.end(rec, now);
    }
    return { call: copy(rec), users };
  }

  async hangup(id: string, user: UserId, device: DeviceId, now: number): Promise<Hangup> {
    this.begin('hangup');
    const rec = this.alive(id, now);
    if (!rec) throw unknown();
    if (user === rec.caller) {
      if (device !== rec.device) throw unknown();
      if (callOver(rec, now)) throw over();
      this.end(rec, now);
      return { call: copy(rec), was: 'caller' };
    }
    const callee = rec.callees.find((c) => c.user === user);
    if (!callee) throw unknown();
    if (callee.state === 'answered' || callee.state === 'left') {
      if (callee.device !== device) throw unknown();
      if (callee.state === 'left' || callOver(rec, now)) throw over();
      callee.state = 'left';
      if (this.marks.get(user) === id) this.marks.delete(user);
      if (callOver(rec, now)) this.end(rec, now);
      return { call: copy(rec), was: 'answered' };
    }
    if (!rings(rec, callee, now)) throw over();
    this.decline(rec, callee, 'rejected', now);
    return { call: copy(rec), was: 'ringing' };
  }

  /** Checks the fault switch for `op` and drops what expired. */
  private begin(op: string): void {
    this.faults?.check(op);
    this.sweep();
  }

  private alive(id: string, now: number): CallRecord | undefined {
    const rec = this.calls.get(id);
    return rec && now < rec.expiresAt ? rec : undefined;
  }

  /** The call `user` is in at `now`, if any. */
  private activeOf(user: UserId, now: number): CallRecord | undefined {
    const id = this.marks.get(user);
    const rec = id === undefined ? undefined : this.alive(id, now);
    return rec && inCall(rec, user, now) ? rec : undefined;
  }

  /** The call and `user`'s part in it; `unknown_call` when either is missing, `call_over` when the call is over. */
  private calleeOf(id: string, user: UserId, now: number): { rec: CallRecord; callee: Callee } {
    const rec = this.alive(id, now);
    const callee = rec?.callees.find((c) => c.user === user);
    if (!rec || !callee) throw unknown();
    if (callOver(rec, now)) throw over();
    return { rec, callee };
  }

  private decline(rec: CallRecord, callee: Callee, how: 'rejected' | 'busy', now: number): void {
    callee.state = how;
    this.ringing.get(callee.user)?.delete(rec.id);
    if (callOver(rec, now)) this.end(rec, now);
  }

  /** Ends `rec` at `now`: its users' marks and ring entries go, and it is kept `endedKeepMs` at most. */
  private end(rec: CallRecord, now: number): void {
    rec.endedAt = now;
    this.forget(rec);
    const until = Math.min(rec.expiresAt, now + this.endedKeepMs);
    if (until < rec.expiresAt) {
      rec.expiresAt = until;
      this.expiring.push(until, rec.id);
    }
  }

  /** Takes the marks and ring entries naming `rec` out. */
  private forget(rec: CallRecord): void {
    for (const user of [rec.caller, ...rec.callees.map((c) => c.user)]) {
      if (this.marks.get(user) === rec.id) this.marks.delete(user);
      const set = this.ringing.get(user);
      if (set?.delete(rec.id) && set.size === 0) this.ringing.delete(user);
    }
  }

  private ringSet(user: UserId): Set<string> {
    let set = this.ringing.get(user);
    if (!set) this.ringing.set(user, (set = new Set()));
    return set;
  }

  /** Drops every record whose expiry the clock has reached (a heap entry made stale by a shorter expiry is skipped). */
  private sweep(): void {
    const now = this.clock.now();
    for (let id = this.expiring.popDue(now); id !== undefined; id = this.expiring.popDue(now)) {
      const rec = this.calls.get(id);
      if (!rec || rec.expiresAt > now) continue;
      this.calls.delete(id);
      this.forget(rec);
    }
  }
}

function unknown(): ChatError {
  return new ChatError('unknown_call', 'no such call, or not one you are part of');
}

function over(): ChatError {
  return new ChatError('call_over', 'this call is over for you');
}

/** A record not shared with the caller, who may keep and change what it got. */
function copy(rec: CallRecord): CallRecord {
  return { ...rec, callees: rec.callees.map((c) => ({ ...c })) };
}
