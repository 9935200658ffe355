import type { DeliveryItem } from '../bus/envelope.ts';
import type { InboxEntry } from '../inbox/inbox.ts';
import { errorFrame } from '../protocol/error-frame.ts';
import { ChatError, DevicesChangedError } from '../protocol/errors.ts';
import type { ClientFrame, ServerFrame } from '../protocol/frames.ts';
import { ProtocolLimits } from '../protocol/frames.ts';
import type { DeviceId } from '../protocol/ids.ts';
import { directConversation, groupConversation } from '../protocol/ids.ts';
import type { SignedIn } from './connection.ts';
import type { Delivery, Routed } from './delivery.ts';
import type { GroupOps } from './group-ops.ts';
import type { NodeContext } from './node-context.ts';
import { TokenBucket } from './rate-limit.ts';

type SendFrame = Extract<ClientFrame, { t: 'send' }>;

interface Target {
  conv: string;
  /** Devices owed an inbox entry (fan-out on write); empty for fan-out on read. */
  devices: DeviceId[];
  /** Set for a fan-out-on-read group. */
  readGroup?: string;
}

/**
 * The write path of the lifecycle: admission, dedup claim, mid + seq,
 * MessageLog append, one Inbox entry per recipient device, and only then the
 * `ack` (the "sent" tick), followed by routing to online devices and push
 * wake-ups for offline ones.
 */
export class SendPath {
  /**
   * Dedup keys this node has claimed and not yet completed or released, with
   * when each lease was last taken or renewed (clock ms). A claim lasts one
   * liveness TTL (`claimLeaseMs`); `renewClaims`, at every heartbeat, extends
   * the ones older than a heartbeat interval, so a slow store never loses a
   * live node its claim, and a dead node's claims lapse with its liveness.
   */
  private readonly leases = new Map<string, number>();

  constructor(
    private readonly ctx: NodeContext,
    private readonly delivery: Delivery,
    private readonly groupOps: GroupOps,
  ) {}

  /** How long a pending claim holds without renewal: the node's liveness TTL (3 heartbeat intervals). */
  get claimLeaseMs(): number {
    return this.ctx.opts.heartbeatIntervalMs * 3;
  }

  /** Renews the leases of sends still being stored that were taken or renewed a heartbeat interval ago or more. */
  renewClaims(): void {
    if (this.leases.size === 0) return;
    const now = this.ctx.ports.clock.now();
    const due = now - this.ctx.opts.heartbeatIntervalMs;
    const keys: string[] = [];
    for (const [key, at] of this.leases) {
      if (at > due) continue;
      keys.push(key);
      this.leases.set(key, now);
    }
    if (keys.length > 0) void this.ctx.ports.dedup.renew(keys, this.claimLeaseMs).catch(noop);
  }

  /** Never rejects: a failure is answered to the device as an error frame carrying the cid (or closes it, see NodeContext.failed). */
  async onSend(c: SignedIn, f: SendFrame): Promise<void> {
    const ctx = this.ctx;
    let counted = false;
    let leased = false;
    let key = '';
    try {
      const rejection = this.admit(c);
      if (rejection) {
        ctx.metrics.reject(rejection.code);
        return ctx.reply(c, errorFrame(rejection, f.cid));
      }
      ctx.metrics.inFlight++;
      counted = true;
      const { dedup } = ctx.ports;
      key = dedupKey(c.device, f.cid);
      // A lease, renewed while this node lives: a node that dies mid-send frees the cid within its liveness TTL.
      const claim = await dedup.claim(key, this.claimLeaseMs);
      if (claim.state === 'claimed') {
        leased = true;
        this.leases.set(key, ctx.ports.clock.now());
      }
      if (claim.state === 'done') {
        ctx.metrics.messagesDuplicate++;
        return ctx.sendRaw(c, duplicateAck(f.cid, claim.result));
      }
      if (claim.state === 'pending') {
        return ctx.reply(c, errorFrame(new ChatError('in_progress', 'this cid is still being stored', ctx.opts.retryAfterMs), f.cid));
      }
      let ackText: string;
      let kept: string;
      let target: Target;
      let stored: Stored;
      try {
        const t = f.to.startsWith('g:') ? this.resolveGroup(c, f.to.slice(2), f.members) : this.resolveDirect(c, f.to);
        target = t instanceof Promise ? await t : t;
        if (f.bodies) matchBodies(target.devices, f.bodies);
        if (f.identities) await this.matchIdentities(f.identities);
        stored = await this.store(c, f, target);
        const ts = ctx.ports.clock.now();
        const ack: ServerFrame = { t: 'ack', cid: f.cid, mid: stored.mid, seq: stored.seq, conv: target.conv, ts };
        ackText = JSON.stringify(ack);
        kept = keptAck(stored.mid, stored.seq, ts, target.conv);
      } catch (err) {
        await dedup.release(key).catch(noop);
        throw err;
      }
      // Durable from here: a failed `complete` must not turn into an error the device would retry as a new message.
      // The ack's fields are kept; a resend of the cid gets the same ack back marked `dup` (duplicateAck).
      await dedup.complete(key, kept, ctx.opts.dedupTtlMs).catch(noop);
      if (!ctx.alive()) return;
      ctx.metrics.messagesAcked++;
      ctx.sendRaw(c, ackText);
      if (target.readGroup) return await this.fanOutRead(c, target.readGroup, stored);
      if (stored.perDevice) return await this.delivery.route(stored.perDevice);
      // Never rejects: the inboxes have the message, so a failed route costs latency, not delivery.
      await this.delivery.routeOne(target.devices, stored.item, target.conv.startsWith('g:') ? 'group' : 'msg');
    } catch (err) {
      ctx.failed(c, err, f.cid);
    } finally {
      if (counted) ctx.metrics.inFlight--;
      if (leased) this.leases.delete(key);
    }
  }

  /**
   * A direct e2e send names the identity key each device's session started
   * from: a device that published another one since (reinstalled) gets
   * nothing encrypted to its old identity — `devices_changed` names it in
   * `changed`, and the sender starts a new session from its new bundle.
   */
  private async matchIdentities(identities: Readonly<Record<string, string>>): Promise<void> {
    const { directory } = this.ctx;
    const differs = (published: Map<string, string>) => (d: string) => published.has(d) && published.get(d) !== identities[d];
    const named = Object.keys(identities);
    let changed = named.filter(differs(await directory.identitiesOf(named)));
    // A difference seen in the cache is checked in the store: the device may have published through another node since,
    // and the sender's view may be the newer one.
    if (changed.length > 0) changed = changed.filter(differs(await directory.identitiesOf(changed, true)));
    if (changed.length > 0) throw new DevicesChangedError([], [], changed.sort());
  }

  private admit(c: SignedIn): ChatError | undefined {
    // Built on the first send: a full bucket then is what one built at sign-in would hold by now (it caps at the burst).
    c.bucket ??= new TokenBucket(this.ctx.ports.clock, this.ctx.opts.rateLimitPerSec, this.ctx.opts.rateLimitBurst);
    const wait = c.bucket.take();
    if (wait > 0) return new ChatError('rate_limited', 'send rate limit reached', wait);
    if (this.ctx.loadLevel() === 2) return new ChatError('overloaded', 'node overloaded', this.ctx.opts.retryAfterMs * 4);
    return undefined;
  }

  /** A direct message: every device of the recipient and the sender's other devices (no promise when both lists are cached). */
  private resolveDirect(c: SignedIn, to: string): Target | Promise<Target> {
    const user = c.user;
    const self = to === user;
    const dir = this.ctx.directory;
    const theirs = dir.cachedDevices(to);
    const mine = self ? [] : dir.cachedDevices(user);
    if (theirs === undefined || mine === undefined) {
      return dir.devicesOf(self ? [to] : [to, user]).then((d) => directTarget(c, to, d.get(to) ?? [], self ? [] : (d.get(user) ?? [])));
    }
    return directTarget(c, to, theirs, mine);
  }

  /**
   * A group message: its members' devices (fan-out on write), or nobody for
   * fan-out on read. `members`, the version the sender encrypted for, must be
   * the group's current one: a sender key must not reach a member set the
   * sender did not mean (someone who left), nor miss someone who joined or a
   * member's new device.
   */
  private async resolveGroup(c: SignedIn, gid: string, members: string | undefined): Promise<Target> {
    const { directory } = this.ctx;
    const g = await directory.memberGroup(gid, c.user);
    const changed = () => new ChatError('members_changed', `the members of ${gid} or their devices changed: refresh with group.devices`, 0);
    if (g.info.fanout === 'read') {
      if (members !== undefined && members !== g.version) throw changed();
      return { conv: groupConversation(gid), devices: [], readGroup: gid };
    }
    const devices = await directory.devicesOf(g.list);
    if (members !== undefined && members !== g.recipientsVersionOf(devices)) throw changed();
    const list: DeviceId[] = [];
    for (const ds of devices.values()) for (const d of ds) if (d !== c.device) list.push(d);
    return { conv: groupConversation(gid), devices: list };
  }

  /** seq, mid, log append, inbox entries. Resolves only when all of it is durable. */
  private async store(c: SignedIn, f: SendFrame, target: Target): Promise<Stored> {
    const { sequencer, log, inbox, clock } = this.ctx.ports;
    const { conv, devices } = target;
    const from = c.device;
    const seq = await sequencer.next(conv);
    const mid = this.ctx.ids.next();
    const ts = clock.now();
    const msg: ServerFrame = { t: 'msg', mid, seq, conv, from, body: f.body ?? '', ts, cid: f.cid };
    if (f.kind && f.kind !== 'text') msg.kind = f.kind;
    // With `bodies` this copy (the send's `body`, "" when absent) is what the log keeps: no device's ciphertext.
    const frame = JSON.stringify(msg);
    const entries: InboxEntry[] = [];
    let perDevice: Routed[] | undefined;
    if (f.bodies) {
      perDevice = [];
      for (const device of devices) {
        const own = JSON.stringify({ ...msg, body: f.bodies[device] });
        entries.push({ device, id: mid, kind: 'msg', frame: own, from, conv, seq });
        perDevice.push({ devices: [device], item: { id: mid, kind: 'msg', frame: own, from, conv, seq }, push: 'msg' });
      }
    } else {
      for (const device of devices) entries.push({ device, id: mid, kind: 'msg', frame, from, conv, seq });
    }
    // Both writes start before either is awaited; a failure of one still waits for (and ignores) the other.
    const logged = log.append({ conv, seq, mid, from, frame, ts });
    const put = entries.length > 0 ? inbox.put(entries) : undefined;
    try {
      await logged;
    } catch (err) {
      put?.catch(noop);
      throw err;
    }
    if (put) await put;
    return { mid, seq, frame, item: { id: mid, kind: 'msg', frame, from, conv, seq }, perDevice };
  }

  private async fanOutRead(c: SignedIn, gid: string, stored: Stored): Promise<void> {
    const { ports, opts } = this.ctx;
    const env = { k: 'group' as const, group: gid, seq: stored.seq, mid: stored.mid, from: c.device, frame: stored.frame };
    const nodes = await ports.registry.groupNodes(gid).catch(() => [opts.nodeId]);
    await Promise.allSettled(nodes.map((n) => (n === opts.nodeId ? this.groupOps.onGroupEnvelope(env) : ports.bus.publish(n, env))));
  }
}

/**
 * A direct e2e send's `bodies` must name exactly its target devices: one
 * more than the protocol lets a send carry can never match (too_large, not
 * retryable); otherwise any difference is `devices_changed`, naming both
 * sides sorted, before anything is stored.
 */
function matchBodies(devices: readonly DeviceId[], bodies: Readonly<Record<string, string>>): void {
  const max = ProtocolLimits.maxSendBodies;
  if (devices.length > max) throw new ChatError('too_large', `this conversation has ${devices.length} target devices; an e2e send carries at most ${max} bodies`);
  const missing = devices.filter((d) => !Object.hasOwn(bodies, d));
  const targets = new Set(devices);
  const stale = Object.keys(bodies).filter((d) => !targets.has(d));
  if (missing.length > 0 || stale.length > 0) throw new DevicesChangedError(missing.sort(), stale.sort());
}

function directTarget(c: SignedIn, to: string, theirs: readonly DeviceId[], mine: readonly DeviceId[]): Target {
  if (theirs.length === 0) throw new ChatError('not_found', `user ${to} has no devices`);
  const list: DeviceId[] = [];
  for (const d of theirs) if (d !== c.device) list.push(d);
  for (const d of mine) if (d !== c.device) list.push(d);
  return { conv: directConversation(c.user, to), devices: list };
}

/** What the store kept of a message: the ack's fields and the item routed to online devices. */
interface Stored {
  mid: string;
  seq: number;
  frame: string;
  item: DeliveryItem;
  /** A direct e2e send: one item per device, each with that device's own body. */
  perDevice?: Routed[];
}

/** The dedup key of a send: one flat string (join; a template literal would be a cons string), as dedup keeps one per message sent within its TTL. */
export function dedupKey(device: DeviceId, cid: string): string {
  return [device, cid].join('|');
}

/**
 * What dedup keeps of an ack for a resend of its cid: the fields that are
 * not the cid (the key holds it), space-separated with the conversation last
 * — half the bytes of the ack's JSON, and dedup keeps one per message sent
 * within its TTL.
 */
export function keptAck(mid: string, seq: number, ts: number, conv: string): string {
  // join builds one flat string; a template literal this long would be a tree of cons strings, ~4× the bytes.
  return [mid, seq, ts, conv].join(' ');
}

/** The ack of a cid as answered to a resend: the original ack's fields, in its order, plus `"dup":true`. */
export function duplicateAck(cid: string, kept: string): string {
  const a = kept.indexOf(' ');
  const b = kept.indexOf(' ', a + 1);
  const c = kept.indexOf(' ', b + 1);
  const seq = Number(kept.slice(a + 1, b));
  const ts = Number(kept.slice(b + 1, c));
  if (a <= 0 || b <= a + 1 || c <= b + 1 || !Number.isInteger(seq) || !Number.isFinite(ts)) throw new Error(`dedup holds no ack for cid ${cid}: ${JSON.stringify(kept.slice(0, 80))}`);
  const ack: ServerFrame = { t: 'ack', cid, mid: kept.slice(0, a), seq, conv: kept.slice(c + 1), ts, dup: true };
  return JSON.stringify(ack);
}

function noop(): void {}
