import type { Clock, TimerHandle } from '../../system/clock/clock.ts';
import { SmallMap } from './small-map.ts';

interface ReadState {
  /** Highest seq shown to the user. */
  shown: number;
  /** Highest seq reported read. */
  reported: number;
  timer: TimerHandle | undefined;
}

/** Shared by every instance until its first entry (millions of simulated devices each hold several of these). */
const NONE = new SmallMap<never>();

/**
 * A conversation with everything shown reported and no timer is kept as its
 * reported seq alone: a device reads in many conversations and is idle in
 * nearly all of them.
 */
type Kept = ReadState | number;

/**
 * Read receipts, coalesced per conversation: the first message shown starts a
 * `delayMs` timer, and when it fires one `read {conv, upTo}` covers everything
 * shown by then. A report that cannot go out (offline) is owed and sent by
 * `flushOwed` after the next welcome. One number per idle conversation, a
 * small record while a report is due.
 */
export class ReadTracker {
  private convs: SmallMap<Kept> = NONE;

  /** `report` writes the frame and returns false when it could not (not online). */
  constructor(
    private readonly clock: Clock,
    private readonly delayMs: number,
    private readonly report: (conv: string, upTo: number) => boolean,
  ) {}

  /** The user saw `seq` of `conv`. Never reads when delayMs < 0. */
  shown(conv: string, seq: number): void {
    if (this.delayMs < 0) return;
    let r = this.convs.get(conv);
    if (typeof r !== 'object') {
      const reported = r ?? 0;
      if (seq <= reported) {
        if (r === undefined) {
          if (this.convs === NONE) this.convs = new SmallMap();
          this.convs.set(conv, 0);
        }
        return;
      }
      if (this.convs === NONE) this.convs = new SmallMap();
      this.convs.set(conv, (r = { shown: reported, reported, timer: undefined }));
    }
    if (seq > r.shown) r.shown = seq;
    if (!r.timer && r.shown > r.reported) {
      const state = r;
      r.timer = this.clock.setTimeout(() => {
        state.timer = undefined;
        this.tryReport(conv, state);
      }, this.delayMs);
    }
  }

  /** Sends every report that fell due while offline. */
  flushOwed(): void {
    this.convs.forEach((r, conv) => {
      if (typeof r === 'object' && !r.timer) this.tryReport(conv, r);
    });
  }

  clear(): void {
    this.convs.forEach((r) => {
      if (typeof r === 'object' && r.timer) this.clock.clear(r.timer);
    });
    this.convs.clear();
  }

  /** Reports what is due; a conversation left with nothing due and no timer goes back to its number. */
  private tryReport(conv: string, r: ReadState): void {
    if (r.shown > r.reported && this.report(conv, r.shown)) r.reported = r.shown;
    if (!r.timer && r.shown === r.reported && this.convs.get(conv) === r) this.convs.set(conv, r.reported);
  }
}
