import type { FaultSwitch } from '../faults/port-faults.ts';
import type { MessageLog, StoredMessage } from './message-log.ts';

export interface MemoryMessageLogOptions {
  /** Test hook: arm failures per method name ('append', 'page'). */
  faults?: FaultSwitch;
}

/**
 * Conversation history as plain objects: per conversation an array of
 * messages sorted by seq. The reference adapter: short enough to be read as
 * the specification of `MessageLog`, and the model the compact columnar log
 * (message-log-compact.ts) is checked against. It costs an object per
 * message, so the worlds use the compact one.
 *
 * An append is a push when seqs arrive in order and a binary search plus an
 * insert otherwise; a page is a binary search plus a slice. Messages are
 * copied in and out, so a caller mutating an object it appended or read
 * cannot rewrite history.
 */
export class MemoryMessageLog implements MessageLog {
  private readonly faults?: FaultSwitch;
  private readonly convs = new Map<string, StoredMessage[]>();

  constructor(options: MemoryMessageLogOptions = {}) {
    this.faults = options.faults;
  }

  async append(message: StoredMessage): Promise<void> {
    this.faults?.check('append');
    let kept = this.convs.get(message.conv);
    if (kept === undefined) this.convs.set(message.conv, (kept = []));
    const i = firstAfter(kept, message.seq - 1);
    if (kept[i]?.seq === message.seq) return; // idempotent retry: the first copy stays
    kept.splice(i, 0, { ...message });
  }

  async page(conversation: string, afterSeq: number, limit: number): Promise<StoredMessage[]> {
    this.faults?.check('page');
    const kept = this.convs.get(conversation);
    if (kept === undefined || limit <= 0) return [];
    const from = firstAfter(kept, afterSeq);
    return kept.slice(from, from + limit).map((m) => ({ ...m }));
  }
}

/** Index of the first message with seq > `seq` in `sorted`. */
function firstAfter(sorted: readonly StoredMessage[], seq: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]!.seq <= seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
