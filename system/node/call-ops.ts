import type { CallEnvelope } from '../bus/envelope.ts';
import { callOver, rings, type CallRecord, type Hangup } from '../calls/calls.ts';
import { mintTurnCredentials, TURN_TTL_S_DEFAULT, type TurnConfig } from '../calls/turn-credentials.ts';
import type { TimerHandle } from '../clock/clock.ts';
import { ChatError } from '../protocol/errors.ts';
import type { ClientFrame, ServerFrame, TurnCredentials } from '../protocol/frames.ts';
import type { DeviceId, NodeId, UserId } from '../protocol/ids.ts';
import type { SignedIn } from './connection.ts';
import type { NodeContext } from './node-context.ts';

type CallFrame = Extract<ClientFrame, { t: `call.${string}` }>;
type Offer = Extract<CallFrame, { t: 'call.offer' }>;

/** What a device gets for TURN when the node has no relay configured: no URLs (connect directly), nothing to present. */
const NO_RELAY: Readonly<TurnCredentials> = { urls: [], username: '', credential: '', ttl: 0 };

/**
 * Voice and video call signalling: the node rings devices and relays the
 * session descriptions and ICE candidates between them; the media flows
 * between the devices (directly, or through the TURN relays whose
 * credentials the node mints). The state of every call is in the Calls
 * port, so any node can take any frame of any call: the transitions
 * (answer, decline, hang up, time out) are atomic there, and the node tells
 * the devices concerned once its transition is stored.
 *
 * Frames to devices travel live only, as typing does (registry lookup, then
 * the socket here or the bus), but are never shed under load: an offer
 * also push-wakes its callees' offline devices, which get it at sign-in if
 * they connect before the ring deadline. No offer reaches a device at or
 * after the deadline: every hop checks it. A frame lost on the way (the bus
 * is at most once) is not sent again: the deadline ends a ring nobody
 * heard, and devices stop ringing at `ringUntil` by themselves.
 *
 * The node that placed a call times it out at `ringUntil`; if that node is
 * gone, the port still treats the ring as over at the deadline. A device in
 * a call that disconnects and is signed in nowhere `callDropMs` later is
 * hung up for.
 */
export class CallOps {
  private readonly turn?: TurnConfig;
  /** Ring deadlines armed here (by the node that placed each call), by call id. */
  private readonly ringTimers = new Map<string, TimerHandle>();
  /** The call each device connected here is in (the calling device, or one that answered): what its drop hangs up. */
  private readonly inCall = new Map<DeviceId, string>();
  private readonly dropTimers = new Set<TimerHandle>();

  constructor(private readonly ctx: NodeContext) {
    const t = ctx.opts.turn;
    if (t) this.turn = { secret: t.secret, urls: [...t.urls], ttlS: t.ttlS ?? TURN_TTL_S_DEFAULT };
  }

  /** Never rejects: a refusal or a failed store is answered to the device (with the cid for an offer). */
  async onFrame(c: SignedIn, f: CallFrame): Promise<void> {
    try {
      switch (f.t) {
        case 'call.offer':
          return await this.offer(c, f);
        case 'call.ringing':
          return await this.ringing(c, f.call);
        case 'call.answer':
          return await this.answer(c, f.call, f.sdp);
        case 'call.candidate':
          return await this.candidate(c, f.call, f.to, f.candidate);
        case 'call.reject':
          return await this.decline(c, f.call, 'rejected');
        case 'call.busy':
          return await this.decline(c, f.call, 'busy');
        case 'call.hangup':
          return await this.hangup(c, f.call);
      }
    } catch (err) {
      this.ctx.failed(c, err, f.t === 'call.offer' ? f.cid : undefined);
    }
  }

  /**
   * Places a call: stored first (refused `in_call` when the caller is in
   * one), answered `call.placed`, busy callees told to the caller, then the
   * others' devices rung (or woken) and the ring deadline armed. Refused
   * `overloaded` while the node sheds sends: a new call is new work, the
   * signalling of calls under way is not.
   */
  private async offer(c: SignedIn, f: Offer): Promise<void> {
    const { ctx } = this;
    if (f.to.includes(c.user)) throw new ChatError('bad_frame', 'call.offer: to must not name the caller');
    if (ctx.loadLevel() === 2) throw new ChatError('overloaded', 'node overloaded', ctx.opts.retryAfterMs * 4);
    const devices = await ctx.directory.devicesOf(f.to);
    const unknown = f.to.filter((u) => (devices.get(u) ?? []).length === 0);
    if (unknown.length > 0) throw new ChatError('not_found', `call.offer: no such user: ${unknown.join(', ')}`);
    const now = Math.floor(ctx.ports.clock.now());
    const ringUntil = now + Math.round(ctx.opts.callRingMs);
    const call = await ctx.ports.calls.place({
      id: ctx.ids.next(), caller: c.user, device: c.device, media: f.media, sdp: f.sdp,
      startedAt: now, ringUntil, expiresAt: now + Math.round(ctx.opts.callMaxMs), callees: f.to,
    }, now);
    ctx.metrics.calls.placed++;
    ctx.reply(c, { t: 'call.placed', cid: f.cid, call: call.id, ringUntil, turn: this.credentials(c.user, now) });
    for (const x of call.callees) {
      if (x.state !== 'busy') continue;
      ctx.metrics.calls.busy++;
      ctx.reply(c, { t: 'call.busy', call: call.id, user: x.user });
    }
    if (call.endedAt !== undefined) return;
    this.inCall.set(c.device, call.id);
    this.armRing(call.id, ringUntil - now);
    await Promise.all(call.callees.filter((x) => x.state === 'ringing').map((x) => this.ring(call, x.user, devices.get(x.user) ?? [], now)));
  }

  /** A callee's device rings: told to the calling device. */
  private async ringing(c: SignedIn, id: string): Promise<void> {
    const now = this.ctx.ports.clock.now();
    const call = await this.get(id, now);
    const me = call.callees.find((x) => x.user === c.user);
    if (!me) throw unknown();
    if (!rings(call, me, now)) throw over();
    await this.send([call.device], { t: 'call.ringing', call: id, user: c.user, device: c.device });
  }

  /** The first device of the user to answer takes the call; the caller gets its answer, the user's other devices stop ringing. */
  private async answer(c: SignedIn, id: string, sdp: string): Promise<void> {
    const { ctx } = this;
    const call = await ctx.ports.calls.answer(id, c.user, c.device, ctx.ports.clock.now());
    ctx.metrics.calls.answered++;
    this.inCall.set(c.device, id);
    // The caller's first, before any other read: its candidates for this device follow the answer closely.
    const told = this.send([call.device], { t: 'call.answer', call: id, user: c.user, device: c.device, sdp });
    const others = (await this.devicesOf([c.user])).get(c.user)?.filter((d) => d !== c.device) ?? [];
    await Promise.all([told, this.send(others, { t: 'call.answered-elsewhere', call: id, device: c.device })]);
  }

  /** An ICE candidate, relayed (never stored) between two devices in the call: the calling device and those that answered. */
  private async candidate(c: SignedIn, id: string, to: DeviceId, candidate: string): Promise<void> {
    const now = this.ctx.ports.clock.now();
    const call = await this.get(id, now);
    if (call.caller !== c.user && !call.callees.some((x) => x.user === c.user)) throw unknown();
    if (callOver(call, now)) throw over();
    const devices = inCallDevices(call);
    if (to === c.device || !devices.includes(c.device) || !devices.includes(to)) throw unknown();
    await this.send([to], { t: 'call.candidate', call: id, from: c.user, device: c.device, candidate });
  }

  /** A callee declines (`call.reject`) or says busy (`call.busy`) for all of its devices. */
  private async decline(c: SignedIn, id: string, how: 'rejected' | 'busy'): Promise<void> {
    const { ctx } = this;
    const call = await ctx.ports.calls.settle(id, c.user, how, ctx.ports.clock.now());
    ctx.metrics.calls[how === 'rejected' ? 'rejected' : 'busy']++;
    await this.declined(call, c.user, c.device, how === 'rejected' ? 'call.reject' : 'call.busy');
  }

  private async hangup(c: SignedIn, id: string): Promise<void> {
    const { ctx } = this;
    const now = ctx.ports.clock.now();
    await this.hungUp(await ctx.ports.calls.hangup(id, c.user, c.device, now), c.user, c.device, now);
  }

  /**
   * Tells a hang-up: the caller's ends the call for every device in it or
   * ringing for it; an answered callee's leaving is told to the other
   * devices in the call; a ringing callee's is a decline.
   */
  private async hungUp(h: Hangup, user: UserId, device: DeviceId, now: number): Promise<void> {
    const { call, was } = h;
    if (this.inCall.get(device) === call.id) this.inCall.delete(device);
    if (was === 'ringing') {
      this.ctx.metrics.calls.rejected++;
      return this.declined(call, user, device, 'call.reject');
    }
    const frame: ServerFrame = { t: 'call.hangup', call: call.id, user };
    const devices = inCallDevices(call).filter((d) => d !== device);
    if (was === 'answered') return this.send(devices, frame);
    this.clearRing(call.id);
    const ringing = call.callees.filter((x) => x.state === 'ringing' && now < call.ringUntil).map((x) => x.user);
    const rung = ringing.length === 0 ? [] : [...(await this.devicesOf(ringing)).values()].flat();
    await this.send([...devices, ...rung], frame);
  }

  /** `frame` (`call.reject` or `call.busy`) about `user`: to the calling device and to the user's other devices (stop ringing). */
  private async declined(call: CallRecord, user: UserId, device: DeviceId, t: 'call.reject' | 'call.busy'): Promise<void> {
    const others = (await this.devicesOf([user])).get(user)?.filter((d) => d !== device) ?? [];
    await this.send([call.device, ...others], { t, call: call.id, user });
  }

  /** The ring deadline of a call placed here: the callees still ringing time out, told to the caller and to their devices. */
  private async ringOver(id: string): Promise<void> {
    const { ctx } = this;
    const r = await ctx.ports.calls.timeout(id, ctx.ports.clock.now()).catch(() => undefined);
    if (!r || r.users.length === 0 || !ctx.alive()) return;
    ctx.metrics.calls.timeout += r.users.length;
    if (r.call.endedAt !== undefined && this.inCall.get(r.call.device) === id) this.inCall.delete(r.call.device);
    const devices = await this.devicesOf(r.users);
    await Promise.all([
      this.send([r.call.device], { t: 'call.timeout', call: id, users: r.users }),
      ...r.users.map((u) => this.send(devices.get(u) ?? [], { t: 'call.timeout', call: id, users: [u] })),
    ]);
  }

  /**
   * A device signed in here (after its welcome): it gets an offer for each
   * call ringing its user that is still before its deadline, and a device in
   * a call is watched again for drops. Never rejects: a failed read rings
   * nothing (the callers' frames still come live).
   */
  async signedIn(c: SignedIn): Promise<void> {
    const { ctx } = this;
    try {
      const mine = await ctx.ports.calls.ofUser(c.user, ctx.ports.clock.now());
      if (mine.active && inCallDevices(mine.active).includes(c.device)) this.inCall.set(c.device, mine.active.id);
      for (const call of mine.ringing) {
        const now = ctx.ports.clock.now();
        if (now < call.ringUntil && !c.closed) ctx.reply(c, this.offerFrame(call, c.user, now));
      }
    } catch {
      // Nothing to undo: the device is signed in either way.
    }
  }

  /** A signed-in connection closed: a device in a call hangs up unless it is signed in somewhere `callDropMs` later. */
  closed(c: SignedIn): void {
    const id = this.inCall.get(c.device);
    if (id === undefined || !this.ctx.alive()) return;
    this.inCall.delete(c.device);
    const timer = this.ctx.ports.clock.setTimeout(() => {
      this.dropTimers.delete(timer);
      void this.drop(id, c.user, c.device).catch(() => {});
    }, this.ctx.opts.callDropMs);
    this.dropTimers.add(timer);
  }

  private async drop(id: string, user: UserId, device: DeviceId): Promise<void> {
    const { ctx } = this;
    const where = await ctx.ports.registry.lookup([device]);
    if (where.has(device) || !ctx.alive()) return;
    const now = ctx.ports.clock.now();
    await this.hungUp(await ctx.ports.calls.hangup(id, user, device, now), user, device, now);
  }

  /** A call frame for devices on this node: sent to those signed in; an offer is dropped at its deadline, and wakes the listed devices not connected. */
  relay(env: CallEnvelope): void {
    const { ctx } = this;
    if (env.until !== undefined && ctx.ports.clock.now() >= env.until) return;
    for (const d of env.devices) {
      const c = ctx.connections.byDevice.get(d);
      if (c && !c.closed) {
        // One still signing in gets its offers after its welcome (signedIn).
        if (c.isReady()) ctx.sendRaw(c, env.frame);
      } else if (env.push) this.wake(d);
    }
  }

  /** The node stops: no deadline or drop fires any more. */
  halt(): void {
    for (const t of this.ringTimers.values()) this.ctx.ports.clock.clear(t);
    for (const t of this.dropTimers) this.ctx.ports.clock.clear(t);
    this.ringTimers.clear();
    this.dropTimers.clear();
  }

  /** Rings `user`'s devices for `call`: the offer with TURN credentials of their own, woken by push where offline. */
  private ring(call: CallRecord, user: UserId, devices: readonly DeviceId[], now: number): Promise<void> {
    return this.send(devices, this.offerFrame(call, user, now), call.ringUntil);
  }

  private offerFrame(call: CallRecord, user: UserId, now: number): ServerFrame {
    return {
      t: 'call.offer', call: call.id, from: call.caller, device: call.device, media: call.media, sdp: call.sdp,
      ringUntil: call.ringUntil, users: call.callees.map((x) => x.user), turn: this.credentials(user, now),
    };
  }

  /**
   * Sends `frame` to `devices` online now, here or through the bus to their
   * nodes; nothing is kept for the others. An offer (`until`: its deadline)
   * wakes the offline ones and is not sent at or after its deadline. Never
   * rejects: a failed lookup or publish loses the frame (see the class).
   */
  private async send(devices: readonly DeviceId[], frame: ServerFrame, until?: number): Promise<void> {
    const { ctx } = this;
    if (devices.length === 0) return;
    const where = await ctx.ports.registry.lookup(devices).catch(() => undefined);
    if (!where) return;
    const offer = until !== undefined;
    const text = JSON.stringify(frame);
    const byNode = new Map<NodeId, DeviceId[]>();
    for (const d of devices) {
      const n = where.get(d);
      if (n !== undefined) byNode.set(n, [...(byNode.get(n) ?? []), d]);
      else if (offer && ctx.ports.clock.now() < until) this.wake(d);
    }
    const sends: Promise<void>[] = [];
    for (const [n, list] of byNode) {
      const env: CallEnvelope = offer ? { k: 'call', devices: list, frame: text, until, push: true } : { k: 'call', devices: list, frame: text };
      if (n === ctx.opts.nodeId) this.relay(env);
      else sends.push(ctx.ports.bus.publish(n, env).catch(() => {}));
    }
    await Promise.all(sends);
  }

  private wake(device: DeviceId): void {
    if (!this.ctx.alive()) return;
    this.ctx.metrics.pushWakes++;
    void this.ctx.ports.push.wake(device, 'call').catch(() => {});
  }

  /** TURN credentials for `user`, or NO_RELAY when no relay is configured. */
  private credentials(user: UserId, now: number): TurnCredentials {
    return this.turn ? mintTurnCredentials(this.turn, user, now) : { ...NO_RELAY, urls: [] };
  }

  private armRing(id: string, delayMs: number): void {
    const timer = this.ctx.ports.clock.setTimeout(() => {
      this.ringTimers.delete(id);
      void this.ringOver(id).catch(() => {});
    }, delayMs);
    this.ringTimers.set(id, timer);
  }

  private clearRing(id: string): void {
    const timer = this.ringTimers.get(id);
    if (timer === undefined) return;
    this.ctx.ports.clock.clear(timer);
    this.ringTimers.delete(id);
  }

  private async get(id: string, now: number): Promise<CallRecord> {
    const call = await this.ctx.ports.calls.get(id, now);
    if (!call) throw unknown();
    return call;
  }

  /** The devices of `users` to tell of a transition already stored: none when the directory fails (the frames are lost, the transition stands). */
  private devicesOf(users: readonly UserId[]): Promise<Map<UserId, DeviceId[]>> {
    return this.ctx.directory.devicesOf(users).catch(() => new Map<UserId, DeviceId[]>());
  }
}

/** The devices in a call: the calling device and those that answered (and have not left). */
function inCallDevices(call: CallRecord): DeviceId[] {
  const out = [call.device];
  for (const x of call.callees) if (x.state === 'answered' && x.device !== undefined) out.push(x.device);
  return out;
}

function unknown(): ChatError {
  return new ChatError('unknown_call', 'no such call, or not one you are part of');
}

function over(): ChatError {
  return new ChatError('call_over', 'this call is over for you');
}
