/**
 * Per-device pending deliveries (store-and-forward): the source of truth for
 * what a device has not yet acknowledged.
 *
 * Guarantees: durable once `put` resolves; an entry stays until its device
 * acks it (or the retention TTL ends); `page` lists a device's entries in
 * ascending id order (ids are time-ordered snowflakes), each at most once per
 * call; `put` of an existing (device, id) keeps one copy; `ack` of an unknown
 * id is a no-op.
 */
export interface Inbox {
  put(entries: readonly InboxEntry[]): Promise<void>;
  /** Entries of `device` with id > `after` (all when null), ascending, at most `limit`. */
  page(device: string, after: string | null, limit: number): Promise<InboxEntry[]>;
  ack(device: string, ids: readonly string[]): Promise<void>;
  count(device: string): Promise<number>;
  /**
   * Which of `ids` the inbox of `device` still holds: one boolean per id, in
   * the order asked (unknown, acked and expired ids are false). A read only,
   * for the checker's end-of-run question "late or lost?"; nodes never call it.
   */
  has(device: string, ids: readonly string[]): Promise<boolean[]>;
}

export interface InboxEntry {
  device: string;
  /** Sortable id: the message's mid, the receipt's id, or the sender-key distribution's or introduction's id. */
  id: string;
  /** `skdm`: a sender-key distribution message (`keys.distribute`); `intro`: a pairwise session message (`keys.introduce`); both kept and acked like a receipt. */
  kind: 'msg' | 'receipt' | 'skdm' | 'intro';
  /** Serialized server frame. */
  frame: string;
  /** For messages: sender device, conversation and seq (to produce receipts on ack); for `skdm` and `intro`, the sender device. */
  from?: string;
  conv?: string;
  seq?: number;
}
