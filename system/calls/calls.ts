import type { CallMedia } from '../protocol/frames.ts';
import type { DeviceId, UserId } from '../protocol/ids.ts';

/**
 * Call signalling state, shared by every node of the cluster: one record
 * per call (who calls whom, with what, how far each callee got) and, per
 * user, the call they are in. The media never passes here; nor do ICE
 * candidates (the node relays them without storing).
 *
 * Guarantees:
 * - **Atomic transitions.** Each operation reads and changes one call (and
 *   the marks of its users) in one step: of two devices answering at once
 *   exactly one wins; of two users calling each other at once, one call
 *   rings and the other finds its callee busy.
 * - **One call per user.** A user is in a call while they placed one that is
 *   not over, or answered one they have not left and that is not over. A
 *   caller in a call is refused (`in_call`); callees in a call come back
 *   `busy`; a callee in another call cannot answer (`in_call`).
 * - **The ring deadline holds by itself.** A callee rings only before the
 *   call's `ringUntil` (compared with the `now` the caller passes), whether
 *   or not anyone settled it `timeout`: a node that died with the timer
 *   leaves no one ringing, nor its caller in a call, past the deadline.
 * - **Over is final.** A call is over once its caller hung up, or once
 *   nobody is left in it or ringing for it (see `callOver`); nothing changes
 *   it after that, and every operation on it answers `call_over`.
 * - **Expiry.** A record is dropped at its `expiresAt` (placed: what the
 *   node set, its longest life; once over: at most `endedKeepMs`, an
 *   adapter option, after it ended), with every mark and index entry of
 *   it, so the store holds the calls alive and those just over.
 *
 * Refusals are ChatErrors: `unknown_call` (no such call alive, or a user or
 * device that is not part of it: the two answer alike), `call_over`,
 * `in_call`. A failed store is a PortError as for every port.
 */
export interface Calls {
  /**
   * Stores a new call. Callees in a call at `now` are `busy`, the others
   * `ringing`; when none rings the call is over at once (`endedAt` = now).
   * Throws `in_call` when the caller is in a call. Placing an id the store
   * holds changes nothing and returns the held record.
   */
  place(call: NewCall, now: number): Promise<CallRecord>;
  /** The call as stored, or undefined when there is none alive at `now`. Anyone's: the caller checks who asks. */
  get(id: string, now: number): Promise<CallRecord | undefined>;
  /** What a device signing in needs: the calls ringing `user` at `now`, and the call `user` is in. */
  ofUser(user: UserId, now: number): Promise<UserCalls>;
  /**
   * `device` of callee `user` takes the call: the first answer of the user
   * wins. `call_over` when the call is over or the user's ring is not
   * ringing any more (answered, declined, timed out, past `ringUntil`);
   * `in_call` when the user is in another call.
   */
  answer(id: string, user: UserId, device: DeviceId, now: number): Promise<CallRecord>;
  /** Callee `user` declines (`rejected`) or says busy (`busy`). `call_over` unless the user's ring is ringing at `now`. */
  settle(id: string, user: UserId, how: 'rejected' | 'busy', now: number): Promise<CallRecord>;
  /**
   * The ring deadline: at or after `ringUntil`, every callee still `ringing`
   * is settled `timeout` (the users so settled are returned; none before the
   * deadline or once the call ended). Undefined when there is no such call.
   */
  timeout(id: string, now: number): Promise<{ call: CallRecord; users: UserId[] } | undefined>;
  /**
   * `device` of `user` hangs up. The caller (from the calling device) ends
   * the call for everyone; a callee who answered (from the answering
   * device) leaves it; a callee still ringing declines (as `settle`
   * `rejected`). `was` says which. `unknown_call` from a device not in the
   * call (another device of the caller or of an answered callee).
   */
  hangup(id: string, user: UserId, device: DeviceId, now: number): Promise<Hangup>;
}

/** A call as the node places it. */
export interface NewCall {
  /** Unique, minted by the node. */
  id: string;
  caller: UserId;
  /** The calling device: the only one of the caller's in the call. */
  device: DeviceId;
  media: CallMedia;
  /** The caller's offer, kept so a device that signs in while it rings gets it. */
  sdp: string;
  /** Whole ms since the Unix epoch, like every time here. */
  startedAt: number;
  /** Callees ring until then (exclusive). */
  ringUntil: number;
  /** The record is dropped then at the latest, over or not. */
  expiresAt: number;
  /** The callees, distinct, without the caller, in the order the offer named them. */
  callees: UserId[];
}

/** How far a callee got: ringing until answered (on one device), declined, busy, timed out, or answered and left. */
export type CalleeState = 'ringing' | 'answered' | 'rejected' | 'busy' | 'timeout' | 'left';

export interface Callee {
  user: UserId;
  state: CalleeState;
  /** The device that answered (`answered`, and `left` after it). */
  device?: DeviceId;
}

/** A call as stored. */
export interface CallRecord extends Omit<NewCall, 'callees'> {
  callees: Callee[];
  /** When the call ended (its caller hung up, or nobody was left in it or ringing); absent while it is not ended. */
  endedAt?: number;
}

export interface UserCalls {
  /** Calls ringing the user now, oldest first. */
  ringing: CallRecord[];
  /** The call the user is in now (placed or answered, not left, not over). */
  active?: CallRecord;
}

export interface Hangup {
  /** The call after the hang-up. */
  call: CallRecord;
  /** What the hang-up was: the caller ending it, an answered callee leaving, or a ringing callee declining. */
  was: 'caller' | 'answered' | 'ringing';
}

/** Default `endedKeepMs`: how long a call over is kept, so late frames about it get `call_over` rather than `unknown_call`. */
export const ENDED_KEEP_MS = 60_000;

/** Whether callee `c` of `call` rings at `now`: still `ringing`, the call not ended, before `ringUntil`. */
export function rings(call: CallRecord, c: Callee, now: number): boolean {
  return c.state === 'ringing' && call.endedAt === undefined && now < call.ringUntil;
}

/** Whether `call` is over at `now`: ended, expired, or nobody in it (answered) nor ringing for it. */
export function callOver(call: CallRecord, now: number): boolean {
  if (call.endedAt !== undefined || now >= call.expiresAt) return true;
  return !call.callees.some((c) => c.state === 'answered' || rings(call, c, now));
}

/** Whether `user` is in `call` at `now`: its caller, or a callee who answered and has not left, while it is not over. */
export function inCall(call: CallRecord, user: UserId, now: number): boolean {
  if (callOver(call, now)) return false;
  return call.caller === user || call.callees.some((c) => c.user === user && c.state === 'answered');
}
