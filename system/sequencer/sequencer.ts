/**
 * Per-conversation sequence numbers.
 *
 * Guarantee: within one conversation, every call returns a number greater
 * than every number returned before it (starting at 1), across all nodes.
 * Numbers may be skipped (a send that fails after taking its seq burns it);
 * devices wait a bounded time for a gap and then move on.
 */
export interface Sequencer {
  next(conversation: string): Promise<number>;
  /** Last number handed out, 0 if none. */
  current(conversation: string): Promise<number>;
}
