import type { DeliveryItem, GroupEnvelope, MembershipEnvelope } from '../bus/envelope.ts';
import type { TimerHandle } from '../clock/clock.ts';
import { ChatError } from '../protocol/errors.ts';
import type { ClientFrame } from '../protocol/frames.ts';
import type { SignedIn } from './connection.ts';
import type { Delivery } from './delivery.ts';
import type { NodeContext } from './node-context.ts';

type GroupFrame = Extract<ClientFrame, { t: `group.${string}` }>;

/**
 * Group management frames and the fan-out-on-read side of groups: which
 * local connections belong to which large group, the registry's group->node
 * index, and one bus envelope per node (not per member) for each message.
 */
export class GroupOps {
  /** Ready local connections per fan-out-on-read group. */
  private readonly local = new Map<string, Set<SignedIn>>();
  /**
   * Per group held here, the seq up to which every message was offered to
   * its members (from envelopes or a catch-up), and the seqs offered beyond
   * it: a group envelope crosses the at-most-once bus, so every
   * `redeliverAfterMs` the group's current seq is read and what lies past
   * `seen` is read from its log and offered (see catchUp).
   */
  private readonly seen = new Map<string, number>();
  private readonly ahead = new Map<string, Set<number>>();
  private catchUpTimer: TimerHandle | undefined;

  constructor(
    private readonly ctx: NodeContext,
    private readonly delivery: Delivery,
  ) {}

  async onFrame(c: SignedIn, f: ClientFrame): Promise<void> {
    const g = f as GroupFrame;
    switch (g.t) {
      case 'group.create':
        return this.create(c, g);
      case 'group.add':
        return this.change(c, g.gid, g.users, []);
      case 'group.remove':
        return this.change(c, g.gid, [], g.users);
      case 'group.list':
        return this.list(c);
      case 'group.receipts':
        return this.receipts(c, g.gid, g.seq);
      case 'group.devices':
        return this.devices(c, g.gid);
    }
  }

  private async create(c: SignedIn, f: Extract<GroupFrame, { t: 'group.create' }>): Promise<void> {
    const ctx = this.ctx;
    const members = [...new Set([c.user, ...f.members])];
    await this.requireUsers('group.create', f.members);
    const gid = f.gid ?? ctx.ids.next();
    if (await ctx.ports.groups.get(gid)) throw new ChatError('conflict', `group ${gid} exists`);
    const fanout = f.fanout ?? (members.length > ctx.opts.fanoutWriteMax ? 'read' : 'write');
    await ctx.ports.groups.create({ id: gid, name: f.name, owner: c.user, createdMs: ctx.ports.clock.now(), fanout }, members);
    await this.announce({ k: 'membership', group: gid, added: members, removed: [] });
    ctx.reply(c, { t: 'group', gid, name: f.name, members, fanout });
  }

  private async change(c: SignedIn, gid: string, added: string[], removed: string[]): Promise<void> {
    const ctx = this.ctx;
    const g = await ctx.directory.group(gid);
    if (!g) throw new ChatError('not_found', `no group ${gid}`);
    const self = removed.length === 1 && removed[0] === c.user;
    if (!g.members.has(c.user) || (removed.length > 0 && g.info.owner !== c.user && !self)) {
      throw new ChatError('forbidden', removed.length > 0 ? 'only the owner removes others' : 'only members add');
    }
    const max = ctx.opts.groupMembersMax;
    if (g.list.length + added.length > max) throw new ChatError('too_large', `a group has at most ${max} members`);
    if (added.length > 0) await this.requireUsers('group.add', added);
    if (added.length > 0) await ctx.ports.groups.add(gid, added);
    if (removed.length > 0) await ctx.ports.groups.remove(gid, removed);
    await this.announce({ k: 'membership', group: gid, added, removed });
    const members = await ctx.ports.groups.members(gid);
    ctx.reply(c, { t: 'group', gid, name: g.info.name, members, fanout: g.info.fanout });
  }

  /** A user exists once one of their devices has signed in (Accounts lists it); unknown users are refused by name. */
  private async requireUsers(frame: string, users: readonly string[]): Promise<void> {
    if (users.length === 0) return;
    const devices = await this.ctx.directory.devicesOf(users);
    const unknown = [...new Set(users)].filter((u) => (devices.get(u) ?? []).length === 0);
    if (unknown.length === 0) return;
    const named = unknown.slice(0, 5).join(', ') + (unknown.length > 5 ? ` and ${unknown.length - 5} more` : '');
    throw new ChatError('not_found', `${frame}: no such user: ${named}`);
  }

  private async list(c: SignedIn): Promise<void> {
    const ids = await this.ctx.ports.groups.groupsOf(c.user);
    const groups = [];
    for (const gid of ids) {
      const g = await this.ctx.directory.group(gid);
      if (g) groups.push({ gid, name: g.info.name, members: g.list.length });
    }
    this.ctx.reply(c, { t: 'groups', groups });
  }

  private async receipts(c: SignedIn, gid: string, seq: number): Promise<void> {
    const g = await this.ctx.directory.group(gid);
    if (!g || !g.members.has(c.user)) throw new ChatError('forbidden', `not a member of ${gid}`);
    const r = await this.ctx.ports.groups.receipts(gid, seq);
    const b64 = (a: Uint8Array) => Buffer.from(a).toString('base64');
    this.ctx.reply(c, {
      t: 'group.receipts', gid, seq, members: r.members, delivered: r.delivered, read: r.read,
      deliveredBitmap: b64(r.deliveredBitmap), readBitmap: b64(r.readBitmap),
    });
  }

  /**
   * What a sender encrypts a group message for: every device of every
   * member as this node's directory sees them (the sender's own included,
   * in member order), and the version of those recipients a group e2e send
   * must repeat (see SendPath.resolveGroup).
   */
  private async devices(c: SignedIn, gid: string): Promise<void> {
    const g = await this.ctx.directory.memberGroup(gid, c.user);
    const fanout = g.info.fanout;
    // A fan-out-on-read group is a channel: one copy for everyone, not end-to-end encrypted (as broadcast channels are not),
    // so no sender needs its member devices (a list that would be as long as the channel).
    if (fanout === 'read') return this.ctx.reply(c, { t: 'group.devices', gid, devices: [], version: g.version, fanout });
    const byUser = await this.ctx.directory.devicesOf(g.list);
    const devices: string[] = [];
    for (const u of g.list) for (const d of byUser.get(u) ?? []) devices.push(d);
    this.ctx.reply(c, { t: 'group.devices', gid, devices, version: g.recipientsVersionOf(byUser), fanout });
  }

  /** Membership changed: every alive node drops its cache and re-indexes its local members. */
  private async announce(env: MembershipEnvelope): Promise<void> {
    const nodes = await this.ctx.ports.registry.nodes();
    this.onMembership(env);
    await Promise.allSettled(nodes.filter((n) => n !== this.ctx.opts.nodeId).map((n) => this.ctx.ports.bus.publish(n, env)));
  }

  onMembership(env: MembershipEnvelope): void {
    const ctx = this.ctx;
    ctx.directory.forgetGroup(env.group);
    void ctx.directory.group(env.group).then((g) => {
      if (!g || g.info.fanout !== 'read') return;
      for (const u of env.added) for (const c of ctx.connections.byUser.get(u) ?? []) this.join(c, env.group);
      for (const u of env.removed) for (const c of ctx.connections.byUser.get(u) ?? []) this.leave(c, env.group);
    }).catch(() => {});
  }

  /** A device signed in here: index it under its fan-out-on-read groups. */
  async attach(c: SignedIn): Promise<void> {
    const ids = await this.ctx.ports.groups.groupsOf(c.user);
    for (const gid of ids) {
      const g = await this.ctx.directory.group(gid);
      if (g?.info.fanout === 'read') this.join(c, gid);
    }
  }

  detach(c: SignedIn): void {
    for (const gid of [...c.readGroups]) this.leave(c, gid);
  }

  private join(c: SignedIn, gid: string): void {
    if (c.readGroups.includes(gid)) return;
    c.readGroups.push(gid);
    let set = this.local.get(gid);
    if (!set) {
      this.local.set(gid, (set = new Set()));
      void this.ctx.ports.registry.joinGroup(gid, this.ctx.opts.nodeId).catch(() => {});
      // Read before the member's drain reads the log: anything after it comes by envelope or by catch-up.
      void this.ctx.ports.sequencer.current(`g:${gid}`).then((seq) => {
        if (!this.seen.has(gid) && this.local.has(gid)) this.seen.set(gid, seq);
      }, () => {});
      this.armCatchUp();
    }
    set.add(c);
  }

  private leave(c: SignedIn, gid: string): void {
    c.readGroups = c.readGroups.filter((g) => g !== gid);
    const set = this.local.get(gid);
    if (!set) return;
    set.delete(c);
    if (set.size === 0) {
      this.local.delete(gid);
      this.seen.delete(gid);
      this.ahead.delete(gid);
      if (this.ctx.alive()) void this.ctx.ports.registry.leaveGroup(gid, this.ctx.opts.nodeId).catch(() => {});
    }
  }

  /** A fan-out-on-read message: offer it to every local member connection but the sender's. */
  onGroupEnvelope(env: GroupEnvelope): void {
    const set = this.local.get(env.group);
    if (!set) return;
    this.noteSeen(env.group, env.seq);
    const item = { id: env.mid, kind: 'msg' as const, frame: env.frame, from: env.from, conv: `g:${env.group}`, seq: env.seq, group: env.group };
    for (const c of set) if (c.device !== env.from) this.delivery.offer(c, item);
  }

  /** Moves `seen` past `seq` when it is the next one (and past the seqs already ahead); keeps it ahead otherwise. */
  private noteSeen(gid: string, seq: number): void {
    let upTo = this.seen.get(gid);
    if (upTo === undefined || seq <= upTo) return;
    let ahead = this.ahead.get(gid);
    if (seq > upTo + 1) {
      if (!ahead) this.ahead.set(gid, (ahead = new Set()));
      // Bounded: past the limit the catch-up reads the log from `seen` and offers again what was already offered.
      if (ahead.size < 1024) ahead.add(seq);
      return;
    }
    upTo = seq;
    while (ahead?.delete(upTo + 1)) upTo++;
    this.seen.set(gid, upTo);
    if (ahead?.size === 0) this.ahead.delete(gid);
  }

  /** One node-wide timer while this node holds members of a fan-out-on-read group (none when `redeliverAfterMs` is 0). */
  private armCatchUp(): void {
    const every = this.ctx.opts.redeliverAfterMs;
    if (this.catchUpTimer || every <= 0 || !this.ctx.alive()) return;
    this.catchUpTimer = this.ctx.ports.clock.setTimeout(() => {
      this.catchUpTimer = undefined;
      if (!this.ctx.alive() || this.local.size === 0) return;
      void Promise.allSettled([...this.local.keys()].map((gid) => this.catchUp(gid))).then(() => this.armCatchUp());
    }, every);
  }

  /**
   * Offers local members the messages of `gid` that no envelope brought: one
   * sequencer read, and a log read only when the group moved past what was
   * seen. A member that got one of them by its own drain drops the repeat.
   * A seq burned by a failed send at the group's end (never in the log)
   * costs one more log read per sweep until a later message passes it.
   */
  private async catchUp(gid: string): Promise<void> {
    const { sequencer, log } = this.ctx.ports;
    const from = this.seen.get(gid);
    if (from === undefined) return;
    const conv = `g:${gid}`;
    if ((await sequencer.current(conv)) <= from) return;
    const page = await log.page(conv, from, this.ctx.opts.drainPageSize);
    const set = this.local.get(gid);
    if (!set || page.length === 0) return;
    const ahead = this.ahead.get(gid);
    for (const m of page) {
      if (ahead?.has(m.seq)) continue;
      const item: DeliveryItem = { id: m.mid, kind: 'msg', frame: m.frame, from: m.from, conv, seq: m.seq, group: gid };
      this.ctx.metrics.redeliveries++;
      for (const c of set) if (c.device !== m.from) this.delivery.offer(c, item);
    }
    // Everything up to the page's last seq is offered now (a seq missing from the log was burned by a failed send).
    let upTo = page[page.length - 1]!.seq;
    if (upTo <= (this.seen.get(gid) ?? -1)) return;
    if (ahead) for (const q of ahead) if (q <= upTo) ahead.delete(q);
    while (ahead?.delete(upTo + 1)) upTo++;
    this.seen.set(gid, upTo);
  }
}
