import type { Clock, TimerHandle } from '../../system/clock/clock.ts';
import type { CallMedia, ClientFrame, TurnCredentials } from '../../system/protocol/frames.ts';
import type { CallMediaPlane, LegFigures } from './call-media.ts';

/** How a call ended, as its caller saw it. */
export type CallOutcome = 'answered' | 'rejected' | 'busy' | 'timeout' | 'failed' | 'skipped';

/** Why a callee's device stopped ringing. */
export type RingEnd =
  | 'answered' | 'answered_elsewhere' | 'rejected' | 'rejected_elsewhere' | 'busy' | 'timeout'
  | 'hangup' | 'deadline' | 'offline' | 'stopped';

/**
 * What devices did with calls, told to the engine (shared by devices
 * built alike). Times are the device's clock (in the live engine, wall
 * time with sub-millisecond precision, one clock for every worker).
 */
export interface DeviceCalls {
  /** The load asked this device to call (counted whether or not it could). */
  asked(device: string): void;
  /** `call.placed` came back `ms` after the offer was written. */
  placed(device: string, call: string, media: CallMedia, ms: number): void;
  /** A callee's device rang: `ms` from the offer written to the offer here. */
  rang(device: string, call: string, ms: number): void;
  /** The caller heard that `user` took the call, `ms` after the offer was written. */
  answered(device: string, call: string, user: string, ms: number): void;
  /** The caller's first media packet from a peer, `ms` after the answer. */
  connected(device: string, call: string, ms: number, relayed: boolean): void;
  /** A call ended as its caller saw it (one per call placed or failed before it was placed). */
  outcome(device: string, call: string | undefined, outcome: CallOutcome, reason: string, atMs: number): void;
  /** The caller learnt how `user`'s ring was settled (the truth phantom rings are judged by). */
  settled(call: string, user: string, atMs: number): void;
  /** A callee's device stopped ringing (or never started: `lateMs` > 0 is an offer delivered after its ring timeout). */
  ring(call: string, user: string, device: string, startMs: number, stopMs: number, end: RingEnd, lateMs: number): void;
  /** One leg of a call closed, with what it measured. */
  leg(device: string, call: string, media: CallMedia, relayed: boolean, figures: LegFigures): void;
  /** A leg could not open (TURN refused, unreachable, …) or a call frame was refused. */
  failed(device: string, code: string): void;
}

/** How a device behaves in calls (`behaviour.calls`), and what it needs to carry media. */
export interface DeviceCallOptions {
  hooks: DeviceCalls;
  plane: CallMediaPlane;
  /** Share of calls a callee user takes (the rest are declined or left to ring out). */
  answerShare: number;
  /** Share of calls a callee user declines. */
  rejectShare: number;
  /** How long a user takes to pick up or decline, ms. */
  pickUpMs: { min: number; max: number };
  /** Share of users behind a symmetric NAT: a call between two of them goes through a relay. */
  symmetricNatShare: number;
  /** Nothing heard from the peer for this long ends the call as `media_lost`. */
  silenceMs: number;
  /** Seed of the per-call decisions (the same in every world). */
  seed: number;
}

type Frame = Record<string, unknown>;

/** Call cids are `ca<n>`: never a message's (base-36 digits only) or a story's (`st`). */
const PREFIX = 'ca';
/** A `call.placed` that does not come back in this time fails the call (`unplaced`). */
const PLACE_TIMEOUT_MS = 10_000;
/** An offer that reaches a device later than its `ringUntil` by more than this is a late ring (transit time allowed). */
const LATE_RING_TOLERANCE_MS = 250;
/** The caller ends a call it placed this long after `ringUntil` when the node said nothing (its node died). */
const CALLER_DEADLINE_SLACK_MS = 2000;
/** Rings a device keeps at once (more offers are declined busy). */
const MAX_RINGS = 8;

/** A device's side of one peer of a call: its leg and the peer's endpoint. */
interface Peer {
  user: string;
  device: string;
  key: string;
  open: boolean;
  endpoint?: string;
  started: boolean;
  connectedSeen: boolean;
  answeredAt: number;
  /** The leg went through a relay (known once it opened). */
  relayed?: boolean;
}

interface Outgoing {
  cid: string;
  call?: string;
  media: CallMedia;
  users: string[];
  durationMs: number;
  writtenAt: number;
  turn?: TurnCredentials;
  ringUntil?: number;
  /** Callees whose ring is settled (answered, declined, busy, timed out). */
  settled: Map<string, 'answered' | 'rejected' | 'busy' | 'timeout' | 'left'>;
  peers: Map<string, Peer>;
  /** Candidates that came before their device's answer (the node relays the two independently), by device. */
  early: Map<string, string>;
  timer?: TimerHandle;
  endTimer?: TimerHandle;
}

interface Ring {
  call: string;
  from: string;
  device: string;
  media: CallMedia;
  startMs: number;
  relay: boolean;
  turn: TurnCredentials;
  timer?: TimerHandle;
  answerTimer?: TimerHandle;
}

interface Incoming {
  call: string;
  from: string;
  device: string;
  media: CallMedia;
  relay: boolean;
  peer: Peer;
}

/**
 * A device's side of calls (docs/protocol.md, Calls): places calls and
 * hangs up after their duration; rings for offers, says it rings, and
 * picks up, declines or lets ring out as its user's seeded decision says
 * (every device of a user decides alike, so one device answers and the
 * others hear it was answered elsewhere); exchanges one candidate each way
 * and carries media through the host's plane, relayed when both ends sit
 * behind a symmetric NAT. A device is in one call at a time.
 *
 * Signalling lost while a call rings ends it for the caller
 * (`disconnected`) and stops the callee's ringing: a ring never outlives
 * what the device knows. A hangup the device could not write is written
 * when it is back online.
 */
export class CallClient {
  private next = 0;
  private out?: Outgoing;
  private inCall?: Incoming;
  private readonly rings = new Map<string, Ring>();
  /** Calls offered on this connection (the node may offer one twice around a sign-in); a new connection may ring again. */
  private readonly offered = new Set<string>();
  private readonly owedHangups: string[] = [];
  private readonly user: string;
  private readonly symmetric: boolean;

  constructor(
    private readonly device: string,
    private readonly opts: DeviceCallOptions,
    private readonly write: (f: ClientFrame) => boolean,
    private readonly clock: Pick<Clock, 'setTimeout' | 'clear'> & { now(): number },
  ) {
    this.user = device.slice(0, device.lastIndexOf('.'));
    this.symmetric = unit(`${opts.seed}:nat:${this.user}`) < opts.symmetricNatShare;
  }

  static owns(cid: unknown): boolean {
    return typeof cid === 'string' && cid.startsWith(PREFIX);
  }

  get busy(): boolean {
    return this.out !== undefined || this.inCall !== undefined;
  }

  /**
   * Calls `users` (one: a 1:1 call) for `durationMs` from the first
   * answer. False, and nothing counted, when this device is already in a
   * call (the load counts a dropped iteration, as for a sender it cannot
   * find).
   */
  place(users: string[], media: CallMedia, durationMs: number, online: boolean): boolean {
    if (this.busy) return false;
    const h = this.opts.hooks;
    h.asked(this.device);
    if (!online) {
      h.outcome(this.device, undefined, 'failed', 'offline', this.now());
      return true;
    }
    const cid = `${PREFIX}${(this.next++).toString(36)}`;
    const writtenAt = this.now();
    const o: Outgoing = { cid, media, users, durationMs, writtenAt, settled: new Map(), peers: new Map(), early: new Map() };
    this.out = o;
    if (!this.write({ t: 'call.offer', cid, to: users, media, sdp: sdp({ nat: this.nat, t: writtenAt }) })) {
      this.endOut('failed', 'offline');
      return true;
    }
    o.timer = this.clock.setTimeout(() => {
      if (this.out === o && o.call === undefined) this.endOut('failed', 'unplaced');
    }, PLACE_TIMEOUT_MS);
    return true;
  }

  /** A call frame from the node; false when it is not one. */
  onFrame(f: Frame): boolean {
    const call = f.call;
    if (typeof call !== 'string') return false;
    switch (f.t) {
      case 'call.placed': return this.onPlaced(f, call), true;
      case 'call.offer': return this.onOffer(f, call), true;
      case 'call.ringing': return true;
      case 'call.answer': return this.onAnswer(f, call), true;
      case 'call.candidate': return this.onCandidate(f, call), true;
      case 'call.answered-elsewhere': return this.stopRing(call, 'answered_elsewhere'), true;
      case 'call.reject': return this.onSettle(call, f.user, 'rejected'), true;
      case 'call.busy': return this.onSettle(call, f.user, 'busy'), true;
      case 'call.timeout': return this.onTimeout(call, f.users), true;
      case 'call.hangup': return this.onHangup(call, f.user), true;
      default: return false;
    }
  }

  /** An error frame about a call frame: with this client's cid (the offer), or a call error without one. */
  onError(cid: unknown, code: string): boolean {
    if (CallClient.owns(cid)) {
      const o = this.out;
      // The caller's user is in a call on another of its devices: nothing was placed (the load's iteration is void, not a failure).
      if (o && o.cid === cid && o.call === undefined) this.endOut(code === 'in_call' ? 'skipped' : 'failed', code === 'in_call' ? 'caller_in_call' : `refused:${code}`);
      else this.opts.hooks.failed(this.device, code);
      return true;
    }
    if (code !== 'unknown_call' && code !== 'call_over' && code !== 'in_call') return false;
    this.opts.hooks.failed(this.device, code);
    // An answer that lost (another device was first, or the ring was over): this device is not in the call.
    if (this.inCall && code === 'call_over' && !this.inCall.peer.started) this.endIn('answer_lost');
    return true;
  }

  /** The device is signed in again: hangups it owes are written now. */
  online(): void {
    while (this.owedHangups.length > 0) {
      const call = this.owedHangups.shift()!;
      this.write({ t: 'call.hangup', call });
    }
  }

  /** The signalling connection ended: a ringing call is over for this device; one with media goes on. */
  disconnected(): void {
    const o = this.out;
    if (o && o.peers.size === 0) {
      if (o.call) this.owedHangups.push(o.call);
      this.endOut('failed', 'disconnected');
    }
    for (const call of [...this.rings.keys()]) this.stopRing(call, 'offline');
    this.offered.clear();
  }

  /** The device stops for good: everything ends. */
  stop(): void {
    if (this.out) this.endOut('failed', 'stopped');
    if (this.inCall) this.endIn('stopped');
    for (const call of [...this.rings.keys()]) this.stopRing(call, 'stopped');
  }

  private get nat(): string {
    return this.symmetric ? 'symmetric' : 'open';
  }

  private now(): number {
    return this.clock.now();
  }

  // Caller side.

  private onPlaced(f: Frame, call: string): void {
    const o = this.out;
    if (!o || o.cid !== f.cid || o.call !== undefined) return;
    o.call = call;
    o.turn = f.turn as TurnCredentials;
    o.ringUntil = typeof f.ringUntil === 'number' ? f.ringUntil : this.now();
    this.opts.hooks.placed(this.device, call, o.media, this.now() - o.writtenAt);
    if (o.timer) this.clock.clear(o.timer);
    // The node's ring timer tells the outcome; if its node died, the caller ends the call by itself a little later.
    o.timer = this.clock.setTimeout(() => {
      if (this.out === o && o.peers.size === 0) {
        this.write({ t: 'call.hangup', call });
        this.endOut('timeout', 'no_answer_local');
      }
    }, Math.max(0, o.ringUntil - this.now()) + CALLER_DEADLINE_SLACK_MS);
  }

  private onAnswer(f: Frame, call: string): void {
    const o = this.out;
    if (!o || o.call !== call || typeof f.user !== 'string' || typeof f.device !== 'string') return;
    const now = this.now();
    o.settled.set(f.user, 'answered');
    this.opts.hooks.settled(call, f.user, now);
    this.opts.hooks.answered(this.device, call, f.user, now - o.writtenAt);
    const relay = this.symmetric && parseSdp(f.sdp).nat === 'symmetric';
    const peer: Peer = { user: f.user, device: f.device, key: pairKey(call, this.device, f.device), open: false, started: false, connectedSeen: false, answeredAt: now };
    o.peers.set(f.device, peer);
    peer.endpoint = o.early.get(f.device);
    o.early.delete(f.device);
    if (!o.endTimer) {
      if (o.timer) this.clock.clear(o.timer);
      o.endTimer = this.clock.setTimeout(() => {
        if (this.out !== o) return;
        this.write({ t: 'call.hangup', call }) || this.owedHangups.push(call);
        this.endOut('answered', 'completed');
      }, o.durationMs);
    }
    this.openLeg(peer, call, relay ? o.turn : undefined, o.media);
  }

  private onSettle(call: string, user: unknown, how: 'rejected' | 'busy'): void {
    const o = this.out;
    if (o && o.call === call && typeof user === 'string') {
      if (!o.settled.has(user)) this.opts.hooks.settled(call, user, this.now());
      o.settled.set(user, how);
      return this.maybeOver(o);
    }
    // To a callee's other devices: their user declined (or said busy) elsewhere.
    this.stopRing(call, how === 'rejected' ? 'rejected_elsewhere' : 'busy');
  }

  private onTimeout(call: string, users: unknown): void {
    const o = this.out;
    if (o && o.call === call) {
      for (const u of Array.isArray(users) ? users : []) {
        if (typeof u !== 'string' || o.settled.has(u)) continue;
        o.settled.set(u, 'timeout');
        this.opts.hooks.settled(call, u, this.now());
      }
      // Whoever the node did not name is settled too: nobody rings any more.
      for (const u of o.users) if (!o.settled.has(u)) o.settled.set(u, 'timeout');
      return this.maybeOver(o);
    }
    this.stopRing(call, 'timeout');
  }

  private onHangup(call: string, user: unknown): void {
    const o = this.out;
    if (o && o.call === call && typeof user === 'string') {
      const hadAnswered = o.settled.get(user) === 'answered';
      if (!o.settled.has(user)) this.opts.hooks.settled(call, user, this.now());
      o.settled.set(user, hadAnswered ? 'left' : 'rejected');
      for (const [d, p] of o.peers) {
        if (p.user !== user) continue;
        this.closeLeg(p, o.media);
        o.peers.delete(d);
      }
      return this.maybeOver(o);
    }
    if (this.inCall?.call === call) return this.endIn('hangup');
    this.stopRing(call, 'hangup');
  }

  /** A call nobody is in or rings for any more is over: answered if anyone took it, else as the callees settled. */
  private maybeOver(o: Outgoing): void {
    if (o.peers.size > 0 || o.settled.size < o.users.length) return;
    const how = [...o.settled.values()];
    if (how.includes('answered') || how.includes('left')) return this.endOut('answered', 'callee_hung_up');
    const outcome: CallOutcome = how.every((h) => h === 'busy') ? 'busy' : how.includes('timeout') ? 'timeout' : how.includes('rejected') ? 'rejected' : 'busy';
    this.endOut(outcome, outcome);
  }

  private endOut(outcome: CallOutcome, reason: string): void {
    const o = this.out;
    if (!o) return;
    this.out = undefined;
    if (o.timer) this.clock.clear(o.timer);
    if (o.endTimer) this.clock.clear(o.endTimer);
    for (const p of o.peers.values()) this.closeLeg(p, o.media);
    this.opts.hooks.outcome(this.device, o.call, outcome, reason, this.now());
  }

  // Callee side.

  private onOffer(f: Frame, call: string): void {
    const now = this.now();
    const ringUntil = typeof f.ringUntil === 'number' ? f.ringUntil : now;
    const from = typeof f.from === 'string' ? f.from : '';
    if (this.offered.has(call) || this.inCall?.call === call) return;
    if (this.offered.size >= 256) this.offered.clear();
    this.offered.add(call);
    const late = now - ringUntil;
    if (late > LATE_RING_TOLERANCE_MS) return this.opts.hooks.ring(call, this.user, this.device, now, now, 'deadline', late);
    if (this.busy || this.rings.size >= MAX_RINGS) {
      this.write({ t: 'call.busy', call });
      return this.opts.hooks.ring(call, this.user, this.device, now, now, 'busy', 0);
    }
    const offer = parseSdp(f.sdp);
    if (typeof offer.t === 'number') this.opts.hooks.rang(this.device, call, Math.max(0, now - offer.t));
    const ring: Ring = {
      call, from, device: typeof f.device === 'string' ? f.device : '', media: f.media === 'video' ? 'video' : 'audio', startMs: now,
      relay: this.symmetric && offer.nat === 'symmetric', turn: f.turn as TurnCredentials,
    };
    this.rings.set(call, ring);
    this.write({ t: 'call.ringing', call });
    ring.timer = this.clock.setTimeout(() => this.stopRing(call, 'deadline'), Math.max(0, ringUntil - now));
    const { answerShare, rejectShare, pickUpMs, seed } = this.opts;
    // One decision per user and call, so every device of the user decides alike.
    const u = unit(`${seed}:${call}:${this.user}`);
    const delay = pickUpMs.min + unit(`${seed}:${call}:${this.device}:delay`) * Math.max(0, pickUpMs.max - pickUpMs.min);
    if (u < answerShare) ring.answerTimer = this.clock.setTimeout(() => this.answer(ring), delay);
    else if (u < answerShare + rejectShare) {
      ring.answerTimer = this.clock.setTimeout(() => {
        if (this.rings.get(call) !== ring) return;
        this.write({ t: 'call.reject', call });
        this.stopRing(call, 'rejected');
      }, delay);
    }
  }

  private answer(ring: Ring): void {
    if (this.rings.get(ring.call) !== ring) return;
    if (this.busy) {
      this.write({ t: 'call.busy', call: ring.call });
      return this.stopRing(ring.call, 'busy');
    }
    if (!this.write({ t: 'call.answer', call: ring.call, sdp: sdp({ nat: this.nat }) })) return this.stopRing(ring.call, 'offline');
    this.stopRing(ring.call, 'answered');
    const peer: Peer = { user: ring.from, device: ring.device, key: pairKey(ring.call, this.device, ring.device), open: false, started: false, connectedSeen: false, answeredAt: this.now() };
    this.inCall = { call: ring.call, from: ring.from, device: ring.device, media: ring.media, relay: ring.relay, peer };
    this.openLeg(peer, ring.call, ring.relay ? ring.turn : undefined, ring.media);
  }

  private stopRing(call: string, end: RingEnd): void {
    const ring = this.rings.get(call);
    if (!ring) return;
    this.rings.delete(call);
    if (ring.timer) this.clock.clear(ring.timer);
    if (ring.answerTimer) this.clock.clear(ring.answerTimer);
    this.opts.hooks.ring(call, this.user, this.device, ring.startMs, this.now(), end, 0);
  }

  private endIn(reason: string): void {
    const c = this.inCall;
    if (!c) return;
    this.inCall = undefined;
    this.closeLeg(c.peer, c.media);
    if (reason !== 'hangup' && reason !== 'answer_lost' && reason !== 'stopped') this.opts.hooks.failed(this.device, reason);
  }

  // Media, both sides.

  private onCandidate(f: Frame, call: string): void {
    const ep = parseSdp(f.candidate).ep;
    if (typeof ep !== 'string' || typeof f.device !== 'string') return;
    const o = this.out?.call === call ? this.out : undefined;
    const peer = o ? o.peers.get(f.device) : this.inCall?.call === call ? this.inCall.peer : undefined;
    if (!peer && o && o.early.size < MAX_RINGS) o.early.set(f.device, ep);
    if (!peer || peer.device !== f.device) return;
    peer.endpoint = ep;
    this.startIfReady(peer, call);
  }

  private openLeg(peer: Peer, call: string, turn: TurnCredentials | undefined, media: CallMedia): void {
    const relayed = turn !== undefined;
    this.opts.plane.open(this.device, peer.key, turn, (endpoint, error) => {
      const current = this.out?.call === call ? this.out.peers.get(peer.device) : this.inCall?.peer;
      if (current !== peer) {
        // The call ended while the leg opened: free it at once.
        if (endpoint) this.opts.plane.close(this.device, peer.key);
        return;
      }
      if (!endpoint) {
        this.opts.hooks.failed(this.device, error ?? 'leg_failed');
        this.write({ t: 'call.hangup', call });
        if (this.out?.call === call) return this.endOut('failed', error ?? 'leg_failed');
        return this.endIn(error ?? 'leg_failed');
      }
      peer.open = true;
      peer.relayed = relayed;
      this.write({ t: 'call.candidate', call, to: peer.device, candidate: sdp({ ep: endpoint, relay: relayed }) });
      this.startIfReady(peer, call, media);
    });
  }

  private startIfReady(peer: Peer, call: string, media?: CallMedia): void {
    if (!peer.open || peer.endpoint === undefined || peer.started) return;
    peer.started = true;
    const m = media ?? (this.out?.call === call ? this.out.media : this.inCall?.media ?? 'audio');
    const caller = this.out?.call === call;
    this.opts.plane.start(this.device, peer.key, peer.endpoint, m, this.opts.silenceMs, () => {
      // Nothing from the peer: the relay or the path died. Whoever notices first ends the call.
      this.write({ t: 'call.hangup', call }) || this.owedHangups.push(call);
      if (this.out?.call === call) this.endOut('failed', 'media_lost');
      else if (this.inCall?.call === call) this.endIn('media_lost');
    });
    if (caller && !peer.connectedSeen) {
      peer.connectedSeen = true;
      this.opts.hooks.connected(this.device, call, this.now() - peer.answeredAt, peer.relayed === true);
    }
  }

  private closeLeg(peer: Peer, media: CallMedia): void {
    const figures = this.opts.plane.close(this.device, peer.key);
    if (figures) this.opts.hooks.leg(this.device, peer.key.slice(0, peer.key.indexOf('/')), media, peer.relayed === true, figures);
  }
}

/**
 * A call leg's name in the plane: the call and the two devices in one
 * order, the same at both ends (the plane tags packets with it, so each
 * end knows its peer's packets from another call's on a reused port).
 */
function pairKey(call: string, a: string, b: string): string {
  return a < b ? `${call}/${a}+${b}` : `${call}/${b}+${a}`;
}

/** The opaque `sdp` and `candidate` strings devices exchange: a small JSON object. */
function sdp(o: Record<string, unknown>): string {
  return JSON.stringify(o);
}

function parseSdp(v: unknown): Record<string, unknown> {
  if (typeof v !== 'string') return {};
  try {
    const o: unknown = JSON.parse(v);
    return typeof o === 'object' && o !== null ? (o as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** A string's FNV-1a hash as a number in [0, 1): the same decision in every world and every worker. */
export function unit(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  // One more mixing round: FNV's low bits alone are weak for similar strings.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return (h >>> 0) / 2 ** 32;
}
