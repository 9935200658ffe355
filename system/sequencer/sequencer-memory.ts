import type { FaultSwitch } from '../faults/port-faults.ts';
import type { Sequencer } from './sequencer.ts';

export interface MemorySequencerOptions {
  /** Test hook: `failNext('next')` makes a send fail before it gets a seq. */
  faults?: FaultSwitch;
}

/**
 * Per-conversation counters in one process, shared by every node of it.
 * JavaScript runs one call at a time, so the increment is atomic like INCR.
 */
export class MemorySequencer implements Sequencer {
  private readonly faults?: FaultSwitch;
  private readonly counters = new Map<string, number>();

  constructor(options: MemorySequencerOptions = {}) {
    this.faults = options.faults;
  }

  async next(conversation: string): Promise<number> {
    this.faults?.check('next');
    const seq = (this.counters.get(conversation) ?? 0) + 1;
    this.counters.set(conversation, seq);
    return seq;
  }

  async current(conversation: string): Promise<number> {
    this.faults?.check('current');
    return this.counters.get(conversation) ?? 0;
  }
}
