import type { ClientFrame } from '../../system/protocol/frames.ts';
import { uploadedMediaOf, type DeviceMedia } from './media.ts';

/**
 * What a device's stories did, told to the engine (shared by devices built
 * alike; the device's id comes with each call). Times are the device's clock.
 */
export interface DeviceStories {
  /** A post answered `story.posted`, `ms` after it was written. */
  posted(device: string, ms: number): void;
  /** A `story.list` answered (each page counted), with the stories it held. */
  listed(device: string, ms: number, stories: number): void;
  /** A `story.view` written for a story seen for the first time. */
  viewed(device: string): void;
  /** The poster's device got `story.viewed`: `atMs` is when the server recorded the view. */
  viewReceipt(device: string, atMs: number, nowMs: number): void;
  /** A story frame refused (`story_expired`, `rate_limited`, …) or not written (the device was offline). */
  failed(device: string, code: string): void;
}

type Frame = Record<string, unknown>;

/** Story cids are `st<n>`: never a message's (base-36 digits only), so the device tells the answers apart. */
const PREFIX = 'st';
/** Requests waiting for an answer at most (older ones are forgotten as failed): a device's queues are bounded. */
const MAX_PENDING = 64;
/** Stories a device remembers having viewed (a second list does not view them again). */
const MAX_SEEN = 512;

/**
 * A device's side of stories (docs/protocol.md, Stories): posts, lists its
 * contacts' stories (fan-out on read), views each story it has not seen,
 * and hears its own stories' views. Best effort, like the app: nothing is
 * retried; what fails is counted.
 */
export class StoryClient {
  private next = 0;
  /** cid → when it was written and what it was. */
  private readonly pending = new Map<string, { at: number; kind: 'post' | 'list' }>();
  private readonly seen = new Set<string>();

  constructor(
    private readonly device: string,
    private readonly hooks: DeviceStories,
    private readonly write: (f: ClientFrame) => void,
    private readonly now: () => number,
    /** Fetches the media a viewed story carries, as a message's (its outcome counts in the media figures). */
    private readonly media?: DeviceMedia,
  ) {}

  static owns(cid: unknown): boolean {
    return typeof cid === 'string' && cid.startsWith(PREFIX);
  }

  post(body: string, audience: string[] | undefined): void {
    const cid = this.track('post');
    this.write({ t: 'story.post', cid, body, ...(audience ? { audience } : {}) });
  }

  list(users: string[]): void {
    if (users.length === 0) return;
    this.write({ t: 'story.list', cid: this.track('list'), users: users.slice(0, 256) });
  }

  /** A story frame from the node; false when it is not one. */
  onFrame(f: Frame): boolean {
    switch (f.t) {
      case 'story.posted': {
        const p = this.answered(f.cid);
        if (p) this.hooks.posted(this.device, this.now() - p.at);
        return true;
      }
      case 'story.list': {
        const p = this.answered(f.cid);
        const stories = Array.isArray(f.stories) ? (f.stories as Frame[]) : [];
        if (p) this.hooks.listed(this.device, this.now() - p.at, stories.length);
        for (const s of stories) this.view(s);
        const more = f.more as { users?: unknown; after?: unknown } | undefined;
        if (more && Array.isArray(more.users)) {
          this.write({ t: 'story.list', cid: this.track('list'), users: more.users as string[], ...(typeof more.after === 'string' ? { after: more.after } : {}) });
        }
        return true;
      }
      case 'story.viewed':
        if (typeof f.at === 'number') this.hooks.viewReceipt(this.device, f.at, this.now());
        return true;
      case 'story.views':
        return true;
      default:
        return false;
    }
  }

  /** An error frame about one of this client's requests. */
  onError(cid: string, code: string): void {
    this.pending.delete(cid);
    this.hooks.failed(this.device, code);
  }

  /** The device went offline or stopped: nothing written is answered now. */
  reset(): void {
    for (const [, p] of this.pending) this.hooks.failed(this.device, p.kind === 'post' ? 'post_unanswered' : 'list_unanswered');
    this.pending.clear();
  }

  private view(s: Frame): void {
    const sid = s.sid;
    if (typeof sid !== 'string' || s.user === this.device.slice(0, this.device.lastIndexOf('.')) || this.seen.has(sid)) return;
    if (this.seen.size >= MAX_SEEN) this.seen.delete(this.seen.values().next().value!);
    this.seen.add(sid);
    // A cid, so a refusal (the story expired meanwhile, a rate limit) comes back to this client, not to the send path.
    this.write({ t: 'story.view', sid, cid: `${PREFIX}v${(this.next++).toString(36)}` });
    this.hooks.viewed(this.device);
    const m = typeof s.body === 'string' ? uploadedMediaOf(s.body) : undefined;
    if (m && this.media) this.media.fetch(this.device, m, () => {});
  }

  private track(kind: 'post' | 'list'): string {
    if (this.pending.size >= MAX_PENDING) {
      const [[oldest, p]] = this.pending;
      this.pending.delete(oldest!);
      this.hooks.failed(this.device, `${p!.kind}_unanswered`);
    }
    const cid = `${PREFIX}${(this.next++).toString(36)}`;
    this.pending.set(cid, { at: this.now(), kind });
    return cid;
  }

  private answered(cid: unknown): { at: number; kind: string } | undefined {
    if (typeof cid !== 'string') return undefined;
    const p = this.pending.get(cid);
    this.pending.delete(cid);
    return p;
  }
}
