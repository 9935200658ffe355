import type { Clock, TimerHandle } from '../../system/clock/clock.ts';

interface ReadState {
  /** Highest seq shown to the user. */
  shown: number;
  /** Highest seq reported read. */
  reported: number;
  timer: TimerHandle | undefined;
}

/** Shared by every instance until its first entry (millions of simulated devices each hold several of these). */
const NONE = new Map<never, never>();

/**
 * Read receipts, coalesced per conversation: the first message shown starts a
 * `delayMs` timer, and when it fires one `read {conv, upTo}` covers everything
 * shown by then. A report that cannot go out (offline) is owed and sent by
 * `flushOwed` after the next welcome. One small record per conversation.
 */
export class ReadTracker {
  private convs: Map<string, ReadState> = NONE;

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
    if (!r) {
      if (this.convs === NONE) this.convs = new Map();
      this.convs.set(conv, (r = { shown: 0, reported: 0, timer: undefined }));
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
    for (const [conv, r] of this.convs) if (!r.timer) this.tryReport(conv, r);
  }

  clear(): void {
    for (const r of this.convs.values()) if (r.timer) this.clock.clear(r.timer);
    this.convs.clear();
  }

  private tryReport(conv: string, r: ReadState): void {
    if (r.shown > r.reported && this.report(conv, r.shown)) r.reported = r.shown;
  }
}
