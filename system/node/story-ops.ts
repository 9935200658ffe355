import { ChatError } from '../protocol/errors.ts';
import type { ClientFrame, ServerFrame, StoryItem } from '../protocol/frames.ts';
import type { DeviceId, NodeId, UserId } from '../protocol/ids.ts';
import { storyExpiresAt, storyId } from '../protocol/ids.ts';
import type { SignedIn } from './connection.ts';
import type { NodeContext } from './node-context.ts';

type StoryFrame = Extract<ClientFrame, { t: `story.${string}` }>;
type Post = Extract<StoryFrame, { t: 'story.post' }>;
type List = Extract<StoryFrame, { t: 'story.list' }>;

/** Posters a `story.list` reads at once; the next ones are read only while the answer has room. */
const LIST_BATCH = 16;

/**
 * Stories: posts visible to an audience for `storyTtlMs`, fanned out on
 * read. A post is one write to the Stories port, whatever its audience;
 * viewers fetch the stories of the users they name (`story.list`), send a
 * view receipt per story they saw (`story.view`), and the poster reads the
 * aggregate (`story.views`). A first view is also told to the poster's
 * devices online at that moment (`story.viewed`), best effort: the
 * aggregate is the truth. Bodies are opaque: text or a media reference.
 *
 * A sid carries its story's expiry (see `storyId`), so an expired story is
 * refused `story_expired` by any node without asking the store, and after
 * the store dropped it; any other story the store does not give back is
 * `unknown_story`, whether it never existed or the asker may not see it.
 */
export class StoryOps {
  constructor(private readonly ctx: NodeContext) {}

  /** Never rejects: a refusal or a failed store is answered to the device, with the frame's cid when it has one. */
  async onFrame(c: SignedIn, f: StoryFrame): Promise<void> {
    try {
      switch (f.t) {
        case 'story.post':
          return await this.post(c, f);
        case 'story.list':
          return await this.list(c, f);
        case 'story.view':
          return await this.view(c, f.sid);
        case 'story.views':
          return await this.views(c, f.sid, f.cid);
      }
    } catch (err) {
      this.ctx.failed(c, err, f.cid);
    }
  }

  /** One story stored for its whole audience; answered once it is durable. Not deduplicated: a resend posts again. */
  private async post(c: SignedIn, f: Post): Promise<void> {
    const { ctx } = this;
    const at = Math.floor(ctx.ports.clock.now());
    const expiresAt = at + Math.round(ctx.opts.storyTtlMs);
    const sid = storyId(expiresAt, ctx.ids.next());
    // The poster always sees their own stories: naming them changes nothing.
    const audience = f.audience === undefined ? null : [...new Set(f.audience)].filter((u) => u !== c.user);
    await ctx.ports.stories.post({ sid, user: c.user, device: c.device, at, expiresAt, audience, body: f.body });
    ctx.reply(c, { t: 'story.posted', cid: f.cid, sid, expiresAt });
  }

  /**
   * The stories of the named users this user may see: user by user as
   * named (each once), each user's oldest first. An answer holds about
   * `storyListMaxBytes` (always at least one story); when the rest does
   * not fit, `more` says what to ask next: the users from the one cut
   * short on, and `after`, that user's last story already sent. So the
   * posters read per answer are bounded by what the answer can hold.
   */
  private async list(c: SignedIn, f: List): Promise<void> {
    const { ctx } = this;
    const now = ctx.ports.clock.now();
    const users = [...new Set(f.users)];
    const stories: StoryItem[] = [];
    let bytes = 0;
    for (let i = 0; i < users.length; i += LIST_BATCH) {
      const batch = users.slice(i, i + LIST_BATCH);
      const lists = await Promise.all(batch.map((u) => ctx.ports.stories.list(u, c.user, now)));
      for (const [j, list] of lists.entries()) {
        // `after` continues the first named user only (see `more`).
        let after = i + j === 0 ? f.after : undefined;
        for (const s of list) {
          if (after !== undefined && s.sid <= after) continue;
          const item: StoryItem = { sid: s.sid, user: s.user, at: s.at, expiresAt: s.expiresAt, body: s.body };
          const size = Buffer.byteLength(JSON.stringify(item));
          if (stories.length > 0 && bytes + size > ctx.opts.storyListMaxBytes) {
            const more = after === undefined ? { users: users.slice(i + j) } : { users: users.slice(i + j), after };
            return ctx.reply(c, { t: 'story.list', cid: f.cid, stories, more });
          }
          stories.push(item);
          bytes += size;
          after = s.sid;
        }
      }
    }
    ctx.reply(c, { t: 'story.list', cid: f.cid, stories });
  }

  /** A view receipt: recorded once per viewer, no answer; a first view is told to the poster's devices online now. */
  private async view(c: SignedIn, sid: string): Promise<void> {
    const { ctx } = this;
    const at = Math.floor(ctx.ports.clock.now());
    this.alive(sid, at);
    const seen = await ctx.ports.stories.view(sid, c.user, at);
    if (!seen) throw unknown();
    if (!seen.first) return;
    // Best effort, like typing: never delays or fails the viewer's frame.
    void this.tell(seen.user, { t: 'story.viewed', sid, by: c.user, at }).catch(() => {});
  }

  /** The aggregate of a story's views, for its poster only. */
  private async views(c: SignedIn, sid: string, cid: string | undefined): Promise<void> {
    const { ctx } = this;
    const now = ctx.ports.clock.now();
    this.alive(sid, now);
    const v = await ctx.ports.stories.views(sid, now);
    if (!v) throw unknown();
    if (v.user !== c.user) throw new ChatError('forbidden', "only a story's poster sees its views");
    const frame: ServerFrame = { t: 'story.views', sid, count: v.count, viewers: v.viewers };
    if (cid !== undefined) frame.cid = cid;
    ctx.reply(c, frame);
  }

  /** Throws `story_expired` when the sid's expiry has come: no store is asked. */
  private alive(sid: string, now: number): void {
    if (storyExpiresAt(sid) <= now) throw new ChatError('story_expired', 'this story has expired');
  }

  /**
   * Sends `frame` to the devices of `user` online now, here or through
   * the bus to their nodes; nothing is kept for the others. Shed, like
   * typing, while the node sheds load.
   */
  private async tell(user: UserId, frame: ServerFrame): Promise<void> {
    const { ctx } = this;
    if (ctx.loadLevel() > 0) return;
    const devices = (await ctx.directory.devicesOf([user])).get(user) ?? [];
    if (devices.length === 0) return;
    const where = await ctx.ports.registry.lookup(devices);
    const text = JSON.stringify(frame);
    const byNode = new Map<NodeId, DeviceId[]>();
    for (const [d, n] of where) byNode.set(n, [...(byNode.get(n) ?? []), d]);
    for (const [n, list] of byNode) {
      if (n === ctx.opts.nodeId) this.relay(list, text);
      else void ctx.ports.bus.publish(n, { k: 'story', devices: list, frame: text }).catch(() => {});
    }
  }

  /** A story frame for devices on this node: sent to those connected and signed in, dropped for the others. */
  relay(devices: readonly DeviceId[], frame: string): void {
    for (const d of devices) {
      const c = this.ctx.connections.byDevice.get(d);
      if (c?.isReady()) this.ctx.sendRaw(c, frame);
    }
  }
}

function unknown(): ChatError {
  return new ChatError('unknown_story', 'no such story, or not one this user may see');
}
