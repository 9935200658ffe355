import type { FaultSwitch } from '../testing/faults.ts';
import type { MessageLog, StoredMessage } from './message-log.ts';

export interface MemoryMessageLogOptions {
  /** Test hook: arm failures per method name ('append', 'page'). */
  faults?: FaultSwitch;
}

/**
 * Conversation history as one array per conversation, sorted by seq.
 *
 * Seqs arrive almost in order (concurrent senders may swap neighbours), so an
 * append is a push in the common case and a short insertion near the end
 * otherwise; a page is a binary search plus a slice: O(log n + limit).
 * Stored messages are copies, so a caller mutating its object later cannot
 * rewrite history.
 */
export class MemoryMessageLog implements MessageLog {
  private readonly faults?: FaultSwitch;
  private readonly convs = new Map<string, StoredMessage[]>();

  constructor(options: MemoryMessageLogOptions = {}) {
    this.faults = options.faults;
  }

  async append(message: StoredMessage): Promise<void> {
    this.faults?.check('append');
    let log = this.convs.get(message.conv);
    if (!log) this.convs.set(message.conv, (log = []));
    const last = log[log.length - 1];
    if (!last || last.seq < message.seq) {
      log.push({ ...message });
      return;
    }
    const i = firstAfter(log, message.seq - 1);
    if (log[i]?.seq === message.seq) return; // idempotent retry: the first copy stays
    log.splice(i, 0, { ...message });
  }

  async page(conversation: string, afterSeq: number, limit: number): Promise<StoredMessage[]> {
    this.faults?.check('page');
    const log = this.convs.get(conversation);
    if (!log || limit <= 0) return [];
    const from = firstAfter(log, afterSeq);
    return log.slice(from, from + limit).map((m) => ({ ...m }));
  }
}

/** Index of the first message with seq > `seq` (log.length when none). */
function firstAfter(log: readonly StoredMessage[], seq: number): number {
  let lo = 0;
  let hi = log.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (log[mid]!.seq <= seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
