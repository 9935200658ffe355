import type { Clock, TimerHandle } from '../../system/clock/clock.ts';
import { SmallMap } from './small-map.ts';
import type { UploadedMedia } from './media.ts';

/** Bits of the `flags` argument of `DeviceObserver.onDeliver`. */
export const DeliverFlags = {
  /** The transport delivered a mid again; the device dropped it (the user saw it once). */
  DUP_TRANSPORT: 1,
  /** The device showed a seq it had already shown (its mid window had forgotten the mid). */
  DUP_VISIBLE: 2,
  /** Shown after a higher seq of its conversation: it arrived after its gap was skipped. */
  OUT_OF_ORDER: 4,
  /** Shown right after a gap the device gave up waiting for. */
  GAP_SKIPPED: 8,
  /** End-to-end encrypted and the device could not decrypt it: it arrived, the user never saw it. */
  UNDECRYPTABLE: 16,
  /** It carries uploaded media: reported when the download ended, not when it arrived. */
  MEDIA: 32,
  /** Its media could not be had (no object, or corrupt bytes): the user saw the text only. */
  MEDIA_LOST: 64,
  /** Its media had expired: the user saw it marked expired. */
  MEDIA_EXPIRED: 128,
} as const;

/** An incoming message on its way to the user. */
export interface Incoming {
  mid: string;
  conv: string;
  seq: number;
  from: string;
  msgKey: number | undefined;
  arrivedMs: number;
  /** Arrived between `welcome` and `drained`. */
  drained: boolean;
  /** Arrived on a connection opened by a push wake-up, before `drained`. */
  pushWoken: boolean;
  /** End-to-end encrypted and it could not be decrypted: passes in order, but the user never sees it. */
  undecryptable?: boolean;
  /** Uploaded media it carries (fetched when shown). */
  media?: UploadedMedia;
}

export interface ReorderOptions {
  /** Longest a message is held waiting for a lower seq before the gap is skipped. */
  waitMs: number;
  /** Held messages plus known-own future seqs per conversation; beyond it the lowest gap is skipped. */
  maxHeldPerConversation: number;
  /** Skipped seq ranges remembered per conversation (to recognise late arrivals); oldest forgotten first. */
  maxSkippedRanges: number;
}

interface Conversation {
  id: string;
  /** The seq the user should see next. */
  next: number;
  held: Map<number, Incoming>;
  /** This device's own sends' seqs (learned from acks) at or above `next`: never delivered to it. */
  own: Set<number>;
  /** Inclusive [from, to] seq ranges skipped as gaps, oldest first. */
  skipped: [number, number][];
  /** The next message shown follows a skipped gap. */
  afterGap: boolean;
  timer: TimerHandle | undefined;
  timerDueMs: number;
}

/** Shared by every instance until its first entry (millions of simulated devices each hold several of these). */
const NONE = new SmallMap<never>();

/**
 * A conversation with nothing held, no own seq ahead, no skipped range and no
 * timer is kept as its next seq alone: a device talks in many conversations
 * and is idle in nearly all of them, and the full state (two collections and
 * a range list) is hundreds of bytes each.
 */
type Kept = Conversation | number;

/**
 * Per-conversation reorder buffer: hands messages to `show` in seq order.
 *
 * Guarantees: within a conversation, messages are shown in ascending seq
 * order, except a message that arrives after its gap was skipped (shown late,
 * flagged OUT_OF_ORDER) or a forgotten duplicate (flagged DUP_VISIBLE). Own
 * seqs are never waited for. No message is held longer than `waitMs` (then the
 * gaps below it are skipped and the first message after each gap is flagged
 * GAP_SKIPPED), and at most `maxHeldPerConversation` seqs are held per
 * conversation (beyond it the lowest gap is skipped at once).
 * Every conversation starts expecting seq 1.
 */
export class ReorderBuffer {
  private convs: SmallMap<Kept> = NONE;

  constructor(
    private readonly opts: ReorderOptions,
    private readonly clock: Clock,
    private readonly show: (m: Incoming, flags: number) => void,
  ) {
    if (!(opts.waitMs >= 0)) throw new RangeError(`reorder waitMs must be >= 0, got ${opts.waitMs}`);
    if (!(opts.maxHeldPerConversation >= 1)) throw new RangeError('reorder maxHeldPerConversation must be >= 1');
    if (!(opts.maxSkippedRanges >= 1)) throw new RangeError('reorder maxSkippedRanges must be >= 1');
  }

  /** A new (not duplicate) message arrived. */
  offer(m: Incoming): void {
    // Nearly every message is the next seq of a conversation with nothing held: it is shown at once, and the
    // conversation stays a number (no state is built only to be compacted again: a driver worker shows
    // thousands of messages a second, and its young-generation collections cost what its devices wrote).
    const kept = this.convs.get(m.conv);
    if (typeof kept !== 'object' && m.seq === (kept ?? 1)) {
      this.keepNext(m.conv, m.seq + 1);
      return this.show(m, 0);
    }
    const c = this.conv(m.conv);
    if (m.seq < c.next) this.late(c, m);
    else if (c.held.has(m.seq)) {
      // A second mid for a seq already held breaks the protocol; the user keeps the first.
      this.show(m, DeliverFlags.DUP_TRANSPORT);
    } else {
      c.held.set(m.seq, m);
      this.settle(c);
    }
    this.compact(c);
  }

  /** This device's own send got `seq` in `conv` (from its ack): do not wait for it. */
  markOwn(conv: string, seq: number): void {
    const kept = this.convs.get(conv);
    if (typeof kept === 'number' && seq < kept) return;
    if (typeof kept !== 'object' && seq === (kept ?? 1)) return this.keepNext(conv, seq + 1);
    const c = this.conv(conv);
    if (seq < c.next || c.held.has(seq)) return this.compact(c);
    c.own.add(seq);
    this.settle(c);
    this.compact(c);
  }

  /** Messages held across all conversations. */
  get held(): number {
    let n = 0;
    this.convs.forEach((c) => {
      if (typeof c !== 'number') n += c.held.size;
    });
    return n;
  }

  get conversations(): number {
    return this.convs.size;
  }

  /** Conversations held in full (something held, own seqs ahead, skipped ranges or a timer); the rest are a number each. */
  get expanded(): number {
    let n = 0;
    this.convs.forEach((c) => {
      if (typeof c !== 'number') n++;
    });
    return n;
  }

  /** Cancels every timer; held messages are dropped unshown (end of run). */
  clear(): void {
    this.convs.forEach((c) => {
      if (typeof c !== 'number' && c.timer) this.clock.clear(c.timer);
    });
    this.convs.clear();
  }

  private conv(id: string): Conversation {
    const kept = this.convs.get(id);
    if (kept !== undefined && typeof kept !== 'number') return kept;
    const c: Conversation = { id, next: kept ?? 1, held: new Map(), own: new Set(), skipped: [], afterGap: false, timer: undefined, timerDueMs: 0 };
    if (this.convs === NONE) this.convs = new SmallMap();
    this.convs.set(id, c);
    return c;
  }

  /** An idle conversation's next seq is `next`. */
  private keepNext(id: string, next: number): void {
    if (this.convs === NONE) this.convs = new SmallMap();
    this.convs.set(id, next);
  }

  /** Keeps an idle conversation as its next seq (see Kept). */
  private compact(c: Conversation): void {
    if (c.held.size === 0 && c.own.size === 0 && c.skipped.length === 0 && !c.afterGap && c.timer === undefined) this.convs.set(c.id, c.next);
  }

  /** Shows what is contiguous, enforces the bound, then re-arms the gap timer. */
  private settle(c: Conversation): void {
    this.advance(c);
    while (c.held.size + c.own.size > this.opts.maxHeldPerConversation) this.skipGap(c);
    this.arm(c);
  }

  private advance(c: Conversation): void {
    for (;;) {
      const m = c.held.get(c.next);
      if (m) {
        c.held.delete(c.next);
        c.own.delete(c.next);
        c.next++;
        const flags = c.afterGap ? DeliverFlags.GAP_SKIPPED : 0;
        c.afterGap = false;
        this.show(m, flags);
      } else if (c.own.delete(c.next)) {
        c.next++;
      } else {
        return;
      }
    }
  }

  /** Gives up on the seqs below the lowest held or own seq. */
  private skipGap(c: Conversation): void {
    let lowest = Infinity;
    for (const s of c.held.keys()) if (s < lowest) lowest = s;
    for (const s of c.own) if (s < lowest) lowest = s;
    if (lowest === Infinity) return;
    if (lowest > c.next) {
      c.skipped.push([c.next, lowest - 1]);
      if (c.skipped.length > this.opts.maxSkippedRanges) c.skipped.shift();
      c.afterGap = true;
    }
    c.next = lowest;
    this.advance(c);
  }

  private late(c: Conversation, m: Incoming): void {
    const i = c.skipped.findIndex(([from, to]) => m.seq >= from && m.seq <= to);
    if (i < 0) return this.show(m, DeliverFlags.DUP_VISIBLE);
    const [from, to] = c.skipped[i]!;
    const rest: [number, number][] = [];
    if (from < m.seq) rest.push([from, m.seq - 1]);
    if (m.seq < to) rest.push([m.seq + 1, to]);
    c.skipped.splice(i, 1, ...rest);
    if (c.skipped.length > this.opts.maxSkippedRanges) c.skipped.shift();
    this.show(m, DeliverFlags.OUT_OF_ORDER);
  }

  /** One timer per conversation, due when its oldest held message has waited `waitMs`. */
  private arm(c: Conversation): void {
    let oldest = Infinity;
    for (const m of c.held.values()) if (m.arrivedMs < oldest) oldest = m.arrivedMs;
    if (oldest === Infinity) {
      if (c.timer) this.clock.clear(c.timer);
      c.timer = undefined;
      return;
    }
    const due = oldest + this.opts.waitMs;
    if (c.timer && c.timerDueMs === due) return;
    if (c.timer) this.clock.clear(c.timer);
    c.timerDueMs = due;
    c.timer = this.clock.setTimeout(() => this.expire(c), due - this.clock.now());
  }

  private expire(c: Conversation): void {
    c.timer = undefined;
    // A conversation compacted meanwhile and brought back is another object: this one is no longer kept.
    if (this.convs.get(c.id) !== c) return;
    const now = this.clock.now();
    for (;;) {
      let oldest = Infinity;
      for (const m of c.held.values()) if (m.arrivedMs < oldest) oldest = m.arrivedMs;
      if (oldest === Infinity || oldest + this.opts.waitMs > now) break;
      this.skipGap(c);
    }
    this.arm(c);
    this.compact(c);
  }
}
