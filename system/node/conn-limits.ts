import type { TimerHandle } from '../clock/clock.ts';
import type { UserId } from '../protocol/ids.ts';
import type { TokenBucket } from './rate-limit.ts';

/** Per-connection buckets of the limited frame kinds, made lazily: most connections send none of them. */
export type BucketKind =
  | 'typing' | 'ping' | 'presenceSub' | 'keys' | 'keysDistribute' | 'reads' | 'groupQueries' | 'presenceFrames'
  | 'storyPosts' | 'storyViews' | 'storyQueries' | 'callSignals';

/** A connection's limit state, made at its first limited frame. */
export class ConnLimits {
  readonly buckets = new Map<BucketKind, TokenBucket>();
  /** Users named in this connection's admitted `presence.sub` frames, at most `presenceSubscriptionsMax`. */
  subscribed = 0;
  /** Presence frames over the budget, latest per user, waiting for tokens. */
  pendingPresence?: Map<UserId, string>;
  presenceTimer?: TimerHandle;
  /** Frames answered `not_ready` so far. */
  unreadyFrames = 0;
}
