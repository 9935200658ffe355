import type { Clock } from '../clock/clock.ts';
import type { FaultSwitch } from '../faults/port-faults.ts';
import { ChatError } from '../protocol/errors.ts';
import type { UserId } from '../protocol/ids.ts';
import { LIVE_STORIES_MAX, mayView, VIEWERS_LISTED, type Stories, type Story, type StoryViews, type ViewResult } from './stories.ts';
import { ExpiryHeap } from '../clock/expiry-heap.ts';

export interface MemoryStoriesOptions {
  /** Decides when expired stories are dropped. */
  clock: Clock;
  /** Unexpired stories per poster at most. Default LIVE_STORIES_MAX. */
  maxLive?: number;
  /** Test hook: arm failures per method name ('post', 'list', 'view', 'views'). */
  faults?: FaultSwitch;
}

/** A story held, with its viewers (first view time by user, in view order). */
interface Held {
  readonly story: Story;
  readonly viewers: Map<UserId, number>;
}

/**
 * Stories in one process, shared by every node of it. Each story is one
 * entry, whatever its audience; a poster's stories are a short list (at
 * most `maxLive`). Every call first drops the stories expired by the clock
 * (a heap by expiry), so memory holds the stories alive and those expired
 * since the last call, nothing more.
 */
export class MemoryStories implements Stories {
  private readonly clock: Clock;
  private readonly maxLive: number;
  private readonly faults?: FaultSwitch;
  private readonly bySid = new Map<string, Held>();
  private readonly byPoster = new Map<UserId, Held[]>();
  private readonly expiring = new ExpiryHeap();

  constructor(options: MemoryStoriesOptions) {
    this.clock = options.clock;
    this.maxLive = options.maxLive ?? LIVE_STORIES_MAX;
    this.faults = options.faults;
  }

  /** Stories held (one entry per story posted and not yet dropped): what a post costs, whoever reads it. */
  get size(): number {
    return this.bySid.size;
  }

  async post(story: Story): Promise<void> {
    this.faults?.check('post');
    this.sweep();
    if (this.bySid.has(story.sid)) return;
    const mine = this.byPoster.get(story.user) ?? [];
    if (mine.filter((h) => h.story.expiresAt > story.at).length >= this.maxLive) {
      throw new ChatError('too_large', `a user has at most ${this.maxLive} stories alive`);
    }
    const held: Held = { story: copy(story), viewers: new Map() };
    this.bySid.set(story.sid, held);
    this.byPoster.set(story.user, [...mine, held]);
    this.expiring.push(story.expiresAt, story.sid);
  }

  async list(poster: UserId, viewer: UserId, now: number): Promise<Story[]> {
    this.faults?.check('list');
    this.sweep();
    return (this.byPoster.get(poster) ?? [])
      .filter((h) => h.story.expiresAt > now && mayView(poster, h.story.audience, viewer))
      .map((h) => copy(h.story))
      .sort((a, b) => (a.sid < b.sid ? -1 : a.sid > b.sid ? 1 : 0));
  }

  async view(sid: string, viewer: UserId, at: number): Promise<ViewResult | undefined> {
    this.faults?.check('view');
    this.sweep();
    const held = this.bySid.get(sid);
    if (!held || held.story.expiresAt <= at || !mayView(held.story.user, held.story.audience, viewer)) return undefined;
    const user = held.story.user;
    if (viewer === user || held.viewers.has(viewer)) return { user, first: false };
    held.viewers.set(viewer, at);
    return { user, first: true };
  }

  async views(sid: string, now: number): Promise<StoryViews | undefined> {
    this.faults?.check('views');
    this.sweep();
    const held = this.bySid.get(sid);
    if (!held || held.story.expiresAt <= now) return undefined;
    const viewers = [...held.viewers]
      .map(([user, at]) => ({ user, at }))
      .sort((a, b) => b.at - a.at || (a.user < b.user ? 1 : a.user > b.user ? -1 : 0))
      .slice(0, VIEWERS_LISTED);
    return { user: held.story.user, count: held.viewers.size, viewers };
  }

  /** Drops every story whose expiry the clock has reached, with its views. */
  private sweep(): void {
    const now = this.clock.now();
    for (let sid = this.expiring.popDue(now); sid !== undefined; sid = this.expiring.popDue(now)) {
      const held = this.bySid.get(sid);
      if (!held) continue;
      this.bySid.delete(sid);
      const rest = (this.byPoster.get(held.story.user) ?? []).filter((h) => h !== held);
      if (rest.length > 0) this.byPoster.set(held.story.user, rest);
      else this.byPoster.delete(held.story.user);
    }
  }
}

/** A story as the caller gave it, not shared with the caller (who may change its own objects later). */
function copy(s: Story): Story {
  return { ...s, audience: s.audience === null ? null : [...s.audience] };
}
