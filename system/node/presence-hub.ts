import type { ServerFrame } from '../protocol/frames.ts';
import type { DeviceId, NodeId, UserId } from '../protocol/ids.ts';
import { directConversation } from '../protocol/ids.ts';
import type { SignedIn } from './connection.ts';
import type { Limits } from './limits.ts';
import type { NodeContext } from './node-context.ts';

/**
 * Presence and typing: ephemeral, best effort, shed first under load.
 * Online/offline changes of local users are coalesced and published at most
 * once per `presenceFlushMs`, one bus envelope per subscriber node.
 * Typing goes only to devices online right now and is never stored.
 */
export class PresenceHub {
  private readonly changed = new Set<UserId>();

  constructor(
    private readonly ctx: NodeContext,
    private readonly limits: Limits,
  ) {}

  cameOnline(user: UserId): void {
    void this.ctx.ports.presence.heartbeat([user], this.ctx.opts.presenceTtlMs).catch(() => {});
    this.noteChange(user);
  }

  wentOffline(user: UserId): void {
    void this.ctx.ports.presence.offline(user).catch(() => {});
    this.noteChange(user);
  }

  private lastRefreshMs = 0;

  /**
   * Keeps every local user's online state fresh. Called on each node
   * heartbeat, it writes only every third of the presence TTL: a write per
   * user per second would dominate the stores' load for large populations.
   */
  refresh(): void {
    const now = this.ctx.ports.clock.now();
    if (now - this.lastRefreshMs < this.ctx.opts.presenceTtlMs / 3) return;
    this.lastRefreshMs = now;
    const users = [...this.ctx.connections.byUser.keys()];
    if (users.length > 0) void this.ctx.ports.presence.heartbeat(users, this.ctx.opts.presenceTtlMs).catch(() => {});
  }

  private noteChange(user: UserId): void {
    if (this.changed.size < this.ctx.opts.presenceChangesMax) this.changed.add(user);
  }

  /** Publishes coalesced changes; skipped (changes dropped) while the node sheds load. */
  flush(): void {
    if (this.changed.size === 0) return;
    const users = [...this.changed];
    this.changed.clear();
    if (this.ctx.loadLevel() > 0) return;
    void this.publish(users).catch(() => {});
  }

  private async publish(users: UserId[]): Promise<void> {
    const { presence } = this.ctx.ports;
    const states = await presence.get(users);
    for (const user of users) {
      const subs = await presence.subscribers(user);
      if (subs.length === 0) continue;
      const s = states.get(user) ?? { online: false, lastSeenMs: 0 };
      const frame: ServerFrame = { t: 'presence', user, online: s.online, lastSeenMs: s.lastSeenMs };
      await this.sendEphemeral(subs, JSON.stringify(frame), 'presence');
    }
  }

  async onSubscribe(c: SignedIn, users: UserId[]): Promise<void> {
    const { presence } = this.ctx.ports;
    await presence.subscribe(c.device, users);
    const states = await presence.get(users);
    for (const user of users) {
      const s = states.get(user) ?? { online: false, lastSeenMs: 0 };
      const frame: ServerFrame = { t: 'presence', user, online: s.online, lastSeenMs: s.lastSeenMs };
      this.limits.presenceOut(c, user, JSON.stringify(frame));
    }
  }

  async onTyping(c: SignedIn, to: string): Promise<void> {
    if (this.ctx.loadLevel() > 0) return;
    let devices: DeviceId[];
    let conv: string;
    if (to.startsWith('g:')) {
      const g = await this.ctx.directory.group(to.slice(2));
      if (!g || !g.members.has(c.user) || g.info.fanout === 'read') return;
      devices = [...(await this.ctx.directory.devicesOf(g.list)).values()].flat();
      conv = to;
    } else {
      devices = (await this.ctx.directory.devicesOf([to])).get(to) ?? [];
      conv = directConversation(c.user, to);
    }
    const frame: ServerFrame = { t: 'typing', from: c.user, conv };
    await this.sendEphemeral(devices.filter((d) => d !== c.device), JSON.stringify(frame), 'typing');
  }

  private async sendEphemeral(devices: DeviceId[], frame: string, k: 'typing' | 'presence'): Promise<void> {
    const where = await this.ctx.ports.registry.lookup(devices);
    const byNode = new Map<NodeId, DeviceId[]>();
    for (const [d, n] of where) {
      let list = byNode.get(n);
      if (!list) byNode.set(n, (list = []));
      list.push(d);
    }
    for (const [n, list] of byNode) {
      if (n === this.ctx.opts.nodeId) this.relay(list, frame, k);
      else void this.ctx.ports.bus.publish(n, { k, devices: list, frame }).catch(() => {});
    }
  }

  /**
   * Sends an ephemeral frame to local devices that are online now; nothing
   * is kept for the others. Presence goes through each connection's
   * presence budget (Limits.presenceOut), which coalesces per user.
   */
  relay(devices: readonly DeviceId[], frame: string, k: 'typing' | 'presence'): void {
    const user = k === 'presence' ? presenceUser(frame) : undefined;
    for (const d of devices) {
      const c = this.ctx.connections.byDevice.get(d);
      if (!c?.isReady()) continue;
      if (user === undefined) this.ctx.sendRaw(c, frame);
      else this.limits.presenceOut(c, user, frame);
    }
  }
}

/** The user a presence frame (built by this hub) is about; undefined if it is not one. */
function presenceUser(frame: string): UserId | undefined {
  try {
    const user = (JSON.parse(frame) as { user?: unknown }).user;
    return typeof user === 'string' ? user : undefined;
  } catch {
    return undefined;
  }
}
