import type { TokenIssuer } from '../auth/tokens.ts';
import type { KickEnvelope } from '../bus/envelope.ts';
import { errorFrame } from '../protocol/error-frame.ts';
import { ChatError, CloseCodes } from '../protocol/errors.ts';
import type { DeviceId, UserId } from '../protocol/ids.ts';
import type { CallOps } from './call-ops.ts';
import type { Connection, SignedIn } from './connection.ts';
import type { Delivery } from './delivery.ts';
import type { GroupOps } from './group-ops.ts';
import type { Limits } from './limits.ts';
import type { NodeContext } from './node-context.ts';
import type { PresenceHub } from './presence-hub.ts';

/**
 * A device's arrival and departure on this node: the hello (token, device
 * cap, registration, the new-device fence, the registry entry, the welcome,
 * the calls ringing its user and the first drain), a device signing in
 * again here or elsewhere, and what a signed-in connection's close undoes.
 *
 * One device has at most one indexed connection per node: a newer sign-in
 * here retires the older, and a sign-in on another node kicks this one.
 */
export class SignIn {
  constructor(
    private readonly ctx: NodeContext,
    private readonly tokens: TokenIssuer,
    private readonly parts: SignInParts,
  ) {}

  async hello(c: Connection, token: string): Promise<void> {
    const check = this.tokens.verify(token);
    if (!check.ok) return this.refuse(c, new ChatError(check.code, check.reason));
    const { ctx } = this;
    const { limits, presence, groupOps, delivery, calls } = this.parts;
    const { ports } = ctx;
    const node = ctx.opts.nodeId;
    const { user, device } = check.claims;
    const s = c.signIn(user, device);
    limits.settled(s);
    s.draining = true;
    try {
      // A read (cached) first: registering a device is a write (a transaction in Cassandra) needed once per device, not per connect.
      const known = (await ctx.directory.devicesOf([user])).get(user) ?? [];
      if (!(await limits.deviceRoom(device, known))) return this.tooManyDevices(s);
      if (!known.includes(device)) {
        await ports.accounts.addDevice(user, device);
        ctx.directory.noteDevice(user, device);
        await this.newDeviceFence(user, device);
      }
      const old = ctx.connections.byDevice.get(device);
      if (old && old !== s) this.retire(old);
      const previous = await ports.registry.put(device, node);
      if (previous && previous !== node) {
        void ports.bus.publish(previous, { k: 'kick', device, newNode: node }).catch(() => {});
      }
      if (s.closed || !ctx.alive()) return void ports.registry.remove(device, node).catch(() => {});
      if (ctx.connections.add(s)) presence.cameOnline(user);
      await groupOps.attach(s);
      s.state = 'ready';
      ctx.reply(s, { t: 'welcome', node, device, serverMs: ports.clock.now() });
      // Calls ringing the user ring this device now, not after its inbox drained.
      void calls.signedIn(s);
      await delivery.drain(s);
    } catch (err) {
      if (!(err instanceof ChatError)) return ctx.failed(s, err);
      ctx.reply(s, errorFrame(err));
      ctx.close(s.id, CloseCodes.goingAway, 'sign-in failed, retry');
    }
  }

  /** A sign-in refused (no usable token, a bad or expired one): tell the device, close with 4401. */
  refuse(c: Connection, err: ChatError): void {
    this.ctx.metrics.reject(err.code);
    this.ctx.reply(c, errorFrame(err));
    this.ctx.close(c.id, CloseCodes.unauthorized, err.message);
  }

  private tooManyDevices(c: SignedIn): void {
    const max = this.ctx.opts.devicesPerUserMax;
    this.ctx.metrics.reject('too_many_devices');
    this.ctx.reply(c, errorFrame(new ChatError('forbidden', `this user already has ${max} devices connected (devicesPerUserMax)`)));
    this.ctx.close(c.id, CloseCodes.tooManyDevices, 'too many devices connected');
  }

  /**
   * A device the user's account did not list until now is welcomed only
   * once no node can still serve a list without it from its directory
   * cache: a cached list was read before the device was added and lives at
   * most `directoryCacheMs`, so after that wait every node reads a list with
   * the device in it, and every message sent once the device is welcomed is
   * written to its inbox. Without the wait, a peer's stale list would skip it
   * for good (at-least-once to every device).
   *
   * No wait when nothing can be stale: the user's first device (the list is
   * read again after the write, so two devices registering at once on two
   * nodes see each other, and directories never cache an empty list), or no
   * other node alive (this node's own cache has the device: noteDevice). So
   * it is paid once per added device of a user who already had one, as
   * linking a companion device takes a moment.
   */
  private async newDeviceFence(user: UserId, device: DeviceId): Promise<void> {
    const { ports, opts } = this.ctx;
    const ms = opts.directoryCacheMs;
    if (ms <= 0) return;
    const devices = (await ports.accounts.devicesOf([user])).get(user) ?? [];
    if (!devices.some((d) => d !== device)) return;
    const nodes = await ports.registry.nodes();
    if (!nodes.some((n) => n !== opts.nodeId)) return;
    await new Promise<void>((resolve) => ports.clock.setTimeout(resolve, ms));
  }

  /**
   * The device signed in again here while its old connection still looks
   * open (the node is told of a dropped socket late, or never): the old one
   * leaves the indexes now and is closed. Its close must not unregister the
   * device (the registry keys a device by node, and the new sign-in's put
   * may land first) nor mark it offline: it is coming back online here.
   */
  private retire(old: SignedIn): void {
    if (this.ctx.connections.byDevice.get(old.device) === old) this.detach(old);
    this.ctx.close(old.id, CloseCodes.replaced, 'connected again');
  }

  /** The device signed in on another node: its connection here, if any, goes. */
  kicked(env: KickEnvelope): void {
    const c = this.ctx.connections.byDevice.get(env.device);
    if (c && env.newNode !== this.ctx.opts.nodeId) this.ctx.close(c.id, CloseCodes.replaced, 'connected elsewhere');
  }

  /**
   * A connection closed. Replaced by a newer sign-in of its device here
   * (retire), or never signed in: the device is not going offline, and
   * nothing is undone. Otherwise it leaves the indexes, the registry and
   * presence subscriptions, and its user goes offline with their last
   * device here.
   */
  closed(c: Connection): void {
    const s = this.ctx.connections.current(c);
    if (!s) return;
    const lastOfUser = this.detach(s);
    const { ports, opts } = this.ctx;
    if (!this.ctx.alive()) return;
    void ports.registry.remove(s.device, opts.nodeId).catch(() => {});
    void ports.presence.unsubscribeAll(s.device).catch(() => {});
    if (lastOfUser) this.parts.presence.wentOffline(s.user);
    this.parts.calls.closed(s);
  }

  /** Takes a signed-in connection out of the device, user and group indexes; true when it was its user's last one here. */
  private detach(c: SignedIn): boolean {
    const last = this.ctx.connections.remove(c);
    this.parts.groupOps.detach(c);
    return last;
  }
}

/** The parts a sign-in and a sign-out touch besides the connection index. */
export interface SignInParts {
  limits: Limits;
  presence: PresenceHub;
  groupOps: GroupOps;
  delivery: Delivery;
  calls: CallOps;
}
