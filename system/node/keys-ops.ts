import type { InboxEntry } from '../inbox/inbox.ts';
import type { FetchedBundle } from '../keys/keys.ts';
import type { ClientFrame, ServerFrame } from '../protocol/frames.ts';
import type { DeviceId } from '../protocol/ids.ts';
import { userOf } from '../protocol/ids.ts';
import type { SignedIn } from './connection.ts';
import type { Delivery, Routed } from './delivery.ts';
import type { NodeContext } from './node-context.ts';

type KeysFrame = Extract<ClientFrame, { t: `keys.${string}` }>;
type Distribute = Extract<KeysFrame, { t: 'keys.distribute' }>;
type Introduce = Extract<KeysFrame, { t: 'keys.introduce' }>;

/**
 * The key frames of end-to-end encryption: pre-key bundles (publish, fetch,
 * count) and the store-and-forward of pairwise key messages: sender-key
 * distributions and introductions.
 * The node handles public keys and ciphertext only; it never reads a body.
 */
export class KeysOps {
  constructor(
    private readonly ctx: NodeContext,
    private readonly delivery: Delivery,
  ) {}

  async onFrame(c: SignedIn, f: KeysFrame): Promise<void> {
    const { ctx } = this;
    const { keys } = ctx.ports;
    switch (f.t) {
      case 'keys.publish':
        await keys.publish(c.device, f.bundle);
        ctx.directory.published(c.device, f.bundle.identityKey);
        return ctx.reply(c, { t: 'keys', user: c.user, bundles: [] });
      case 'keys.fetch':
        // An unknown user (or one without published keys) gets an empty list, not not_found.
        if (f.users === undefined) return ctx.reply(c, { t: 'keys', user: f.user!, bundles: await keys.fetch(f.user!, c.device) });
        return this.fetchMany(c, f.users);
      case 'keys.count':
        return ctx.reply(c, { t: 'keys.count', remaining: await keys.remaining(c.device) });
      case 'keys.distribute':
        // Errors carry the cid, as a send's do: the device tells its distributions apart by it.
        return this.distribute(c, f).catch((err) => ctx.failed(c, err, f.cid));
      case 'keys.introduce':
        return this.introduce(c, f).catch((err) => ctx.failed(c, err, f.cid));
    }
  }

  /**
   * Bundles of several users in one answer; a user named twice is fetched
   * once (each fetch hands out one-time pre-keys), and the asking device's
   * own bundle is left out.
   */
  private async fetchMany(c: SignedIn, named: readonly string[]): Promise<void> {
    const users = [...new Set(named)];
    const lists = await Promise.all(users.map((u) => this.ctx.ports.keys.fetch(u, c.device)));
    const bundles: FetchedBundle[] = lists.flat();
    this.ctx.reply(c, { t: 'keys', users, bundles });
  }

  /**
   * Sender-key distribution: one inbox entry per listed device that is a
   * current member device (not the sender's own), each an `skdm` carrying
   * that device's pairwise ciphertext, durable before the answer and kept
   * until acked like a receipt. Only the listed devices' users are read, not
   * the whole group: a big group's distribution comes in many frames.
   */
  private async distribute(c: SignedIn, f: Distribute): Promise<void> {
    const g = await this.ctx.directory.memberGroup(f.gid, c.user);
    const users = [...new Set(Object.keys(f.bodies).map(userOf))].filter((u) => g.members.has(u));
    const devicesOf = await this.ctx.directory.devicesOf(users);
    await this.storeAndRoute(c, f.bodies, devicesOf, 'skdm', (id, body, ts) => ({ t: 'skdm', id, from: c.device, gid: f.gid, body, ts }), (stale) => ({ t: 'keys.distributed', cid: f.cid, stale }));
  }

  /**
   * Introduction: pairwise session messages to devices of any users, outside
   * any conversation. One inbox entry per listed device that is a current
   * device of its user (not the sender), each an `intro` with that device's
   * ciphertext, durable before the answer and kept until acked like a
   * receipt. A device introduces itself to the devices it will talk to, so
   * both sides hold the session before the first message.
   */
  private async introduce(c: SignedIn, f: Introduce): Promise<void> {
    const devicesOf = await this.ctx.directory.devicesOf([...new Set(Object.keys(f.bodies).map(userOf))]);
    await this.storeAndRoute(c, f.bodies, devicesOf, 'intro', (id, body, ts) => ({ t: 'intro', id, from: c.device, body, ts }), (stale) => ({ t: 'keys.introduced', cid: f.cid, stale }));
  }

  /**
   * Stores one entry per listed device that is a current device of its user
   * in `devicesOf` (never the sender's own), all under one id; answers with
   * the devices that got nothing (sorted) once every entry is durable; then
   * routes them to the devices online.
   */
  private async storeAndRoute(
    c: SignedIn,
    bodies: Record<DeviceId, string>,
    devicesOf: Map<string, readonly DeviceId[]>,
    kind: 'skdm' | 'intro',
    frameOf: (id: string, body: string, ts: number) => ServerFrame,
    answer: (stale: DeviceId[]) => ServerFrame,
  ): Promise<void> {
    const { ctx } = this;
    const id = ctx.ids.next();
    const ts = ctx.ports.clock.now();
    const entries: InboxEntry[] = [];
    const routed: Routed[] = [];
    const stale: DeviceId[] = [];
    for (const device of Object.keys(bodies)) {
      if (device === c.device || !(devicesOf.get(userOf(device))?.includes(device) ?? false)) {
        stale.push(device);
        continue;
      }
      const frame = JSON.stringify(frameOf(id, bodies[device]!, ts));
      entries.push({ device, id, kind, frame, from: c.device });
      routed.push({ devices: [device], item: { id, kind, frame, from: c.device } });
    }
    if (entries.length > 0) await ctx.ports.inbox.put(entries);
    if (!ctx.alive()) return;
    ctx.reply(c, answer(stale.sort()));
    // Never rejects: the inboxes hold every entry, so a failed route costs latency, not delivery.
    await this.delivery.route(routed);
  }
}
