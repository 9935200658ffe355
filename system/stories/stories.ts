import type { DeviceId, UserId } from '../protocol/ids.ts';

/**
 * Stories ("status" updates): a post visible to an audience until it
 * expires, read by its viewers when they ask (fan-out on read).
 *
 * Guarantees:
 * - **One write per post.** `post` stores the story once, whatever its
 *   audience; viewers find it through its poster when they `list`. Nothing
 *   is written per viewer until a viewer `view`s it.
 * - **Expiry.** A story is never listed, viewed or counted at or after its
 *   `expiresAt` (compared with the `now` or `at` the caller passes). The
 *   store drops expired stories and their views by itself, so what it holds
 *   is bounded by the stories alive.
 * - **Audience.** A story with `audience` null is visible to anyone who
 *   asks; otherwise only to the users it names and to its poster. A story a
 *   viewer may not see answers exactly as a story that does not exist.
 * - **Views.** `view` is idempotent per viewer: the first view of a user is
 *   counted with its time, repeats change nothing. The poster's own views
 *   are not counted.
 * - **Bounds.** At most `maxLive` (an adapter option) unexpired stories per
 *   poster: a post past it is refused with `too_large` and stores nothing.
 *   `views` lists at most VIEWERS_LISTED viewers.
 *
 * Posting a sid the store already holds changes nothing (the node mints
 * sids, unique per story; a retried post is not stored twice).
 */
export interface Stories {
  post(story: Story): Promise<void>;
  /** `poster`'s stories unexpired at `now` that `viewer` may see, in sid order (oldest first, as the node mints sids). */
  list(poster: UserId, viewer: UserId, now: number): Promise<Story[]>;
  /**
   * Records that `viewer` saw story `sid` at `at`. Undefined when there is no
   * such story unexpired at `at` that `viewer` may see (nothing recorded).
   */
  view(sid: string, viewer: UserId, at: number): Promise<ViewResult | undefined>;
  /** Who saw story `sid`; undefined when there is no such story unexpired at `now`. Anyone's: the caller checks who asks. */
  views(sid: string, now: number): Promise<StoryViews | undefined>;
}

/** One story as posted. */
export interface Story {
  /** Unique, minted by the node (see `storyId`). */
  sid: string;
  /** The poster. */
  user: UserId;
  /** The device that posted it. */
  device: DeviceId;
  /** Posted at, ms since the Unix epoch (whole ms). */
  at: number;
  /** Gone at, ms since the Unix epoch (whole ms). */
  expiresAt: number;
  /** Who besides the poster may see it; null: anyone. */
  audience: UserId[] | null;
  /** Text or a media reference: opaque to the store and the node. */
  body: string;
}

export interface ViewResult {
  /** The story's poster. */
  user: UserId;
  /** True for the viewer's first view (counted now); false for a repeat or the poster's own view. */
  first: boolean;
}

export interface StoryViews {
  /** The story's poster. */
  user: UserId;
  /** Distinct viewers, the poster excluded. */
  count: number;
  /** The VIEWERS_LISTED most recent first views, newest first (equal times: user ids in reverse string order). */
  viewers: { user: UserId; at: number }[];
}

/** Viewers `views` lists at most; `count` counts them all. */
export const VIEWERS_LISTED = 100;

/** Default `maxLive`: unexpired stories per poster at most. */
export const LIVE_STORIES_MAX = 30;

/** Whether `viewer` may see a story of `poster` with `audience`. */
export function mayView(poster: UserId, audience: readonly UserId[] | null, viewer: UserId): boolean {
  return audience === null || viewer === poster || audience.includes(viewer);
}
