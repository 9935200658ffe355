import type { InboxEntry } from '../inbox/inbox.ts';
import { ChatError } from '../protocol/errors.ts';
import type { ServerFrame } from '../protocol/frames.ts';
import type { DeviceId } from '../protocol/ids.ts';
import { directConversation, groupConversation } from '../protocol/ids.ts';
import type { ChatNode } from './chat-node.ts';
import { errorFrame } from './chat-node.ts';
import type { Connection } from './connection.ts';
import { TokenBucket } from './rate-limit.ts';

type SendFrame = { t: 'send'; cid: string; to: string; body: string; kind?: 'text' | 'media' | 'e2e' };

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
  constructor(private readonly node: ChatNode) {}

  async onSend(c: Connection, f: SendFrame): Promise<void> {
    const node = this.node;
    const rejection = this.admit(c);
    if (rejection) {
      node.metrics.reject(rejection.code);
      return node.reply(c, errorFrame(rejection, f.cid));
    }
    const { dedup } = node.ports;
    const key = `${c.device}|${f.cid}`;
    node.metrics.inFlight++;
    try {
      // A claim left pending by a node that died mid-send expires soon, so the device's retry is not refused for a day.
      const claim = await dedup.claim(key, node.opts.pendingClaimTtlMs);
      if (claim.state === 'done') {
        node.metrics.messagesDuplicate++;
        return node.sendRaw(c, claim.result);
      }
      if (claim.state === 'pending') {
        return node.reply(c, errorFrame(new ChatError('in_progress', 'this cid is still being stored', node.opts.retryAfterMs), f.cid));
      }
      let ackText: string;
      let target: Target;
      let stored: { frame: string; mid: string; seq: number };
      try {
        target = await this.resolve(c, f.to);
        stored = await this.store(c, f, target);
        const ack: ServerFrame = { t: 'ack', cid: f.cid, mid: stored.mid, seq: stored.seq, conv: target.conv, ts: node.ports.clock.now() };
        ackText = JSON.stringify(ack);
      } catch (err) {
        await dedup.release(key).catch(() => {});
        throw err;
      }
      // Durable from here: a failed `complete` must not turn into an error the device would retry as a new message.
      await dedup.complete(key, `${ackText.slice(0, -1)},"dup":true}`, node.opts.dedupTtlMs).catch(() => {});
      if (!node.alive) return;
      node.metrics.messagesAcked++;
      node.sendRaw(c, ackText);
      await this.fanOut(c, target, stored);
    } finally {
      node.metrics.inFlight--;
    }
  }

  private admit(c: Connection): ChatError | undefined {
    // Built on the first send: a full bucket then is what one built at sign-in would hold by now (it caps at the burst).
    c.bucket ??= new TokenBucket(this.node.ports.clock, this.node.opts.rateLimitPerSec, this.node.opts.rateLimitBurst);
    const wait = c.bucket.take();
    if (wait > 0) return new ChatError('rate_limited', 'send rate limit reached', wait);
    if (this.node.loadLevel() === 2) return new ChatError('overloaded', 'node overloaded', this.node.opts.retryAfterMs * 4);
    return undefined;
  }

  /** Who gets the message: every device of the recipient, the sender's other devices, or a group's members. */
  private async resolve(c: Connection, to: string): Promise<Target> {
    const node = this.node;
    if (!to.startsWith('g:')) {
      const devices = await node.directory.devicesOf(to === c.user ? [to] : [to, c.user!]);
      const list = [...(devices.get(to) ?? []), ...(to === c.user ? [] : devices.get(c.user!) ?? [])].filter((d) => d !== c.device);
      if ((devices.get(to) ?? []).length === 0) throw new ChatError('not_found', `user ${to} has no devices`);
      return { conv: directConversation(c.user!, to), devices: list };
    }
    const gid = to.slice(2);
    const g = await node.directory.group(gid);
    if (!g) throw new ChatError('not_found', `no group ${gid}`);
    if (!g.members.has(c.user!)) throw new ChatError('forbidden', `not a member of ${gid}`);
    if (g.info.fanout === 'read') return { conv: groupConversation(gid), devices: [], readGroup: gid };
    const devices = await node.directory.devicesOf(g.list);
    const list: DeviceId[] = [];
    for (const ds of devices.values()) for (const d of ds) if (d !== c.device) list.push(d);
    return { conv: groupConversation(gid), devices: list };
  }

  /** seq, mid, log append, inbox entries. Resolves only when all of it is durable. */
  private async store(c: Connection, f: SendFrame, target: Target): Promise<{ frame: string; mid: string; seq: number }> {
    const { sequencer, log, inbox, clock } = this.node.ports;
    const seq = await sequencer.next(target.conv);
    const mid = this.node.ids.next();
    const ts = clock.now();
    const msg: ServerFrame = { t: 'msg', mid, seq, conv: target.conv, from: c.device!, body: f.body, ts, cid: f.cid };
    if (f.kind && f.kind !== 'text') msg.kind = f.kind;
    const frame = JSON.stringify(msg);
    const entries: InboxEntry[] = target.devices.map((device) => ({ device, id: mid, kind: 'msg', frame, from: c.device!, conv: target.conv, seq }));
    await Promise.all([log.append({ conv: target.conv, seq, mid, from: c.device!, frame, ts }), entries.length > 0 ? inbox.put(entries) : undefined]);
    return { frame, mid, seq };
  }

  private async fanOut(c: Connection, target: Target, stored: { frame: string; mid: string; seq: number }): Promise<void> {
    const node = this.node;
    if (target.readGroup) {
      const env = { k: 'group' as const, group: target.readGroup, seq: stored.seq, mid: stored.mid, from: c.device!, frame: stored.frame };
      const nodes = await node.ports.registry.groupNodes(target.readGroup).catch(() => [node.id]);
      await Promise.allSettled(nodes.map((n) => (n === node.id ? node.groupOps.onGroupEnvelope(env) : node.ports.bus.publish(n, env))));
      return;
    }
    const item = { id: stored.mid, kind: 'msg' as const, frame: stored.frame, from: c.device!, conv: target.conv, seq: stored.seq };
    await node.delivery.route([{ devices: target.devices, item, push: target.conv.startsWith('g:') ? 'group' : 'msg' }]).catch(() => {});
  }
}
