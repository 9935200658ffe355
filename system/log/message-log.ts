/**
 * Conversation history, including large groups' logs (fan-out on read).
 *
 * Guarantee: durable once `append` resolves; `page` returns messages of one
 * conversation in ascending `seq`, each at most once. Appending the same
 * (conversation, seq) twice keeps one copy (idempotent retry).
 */
export interface MessageLog {
  append(message: StoredMessage): Promise<void>;
  /** Messages with seq > afterSeq, ascending, at most `limit`. */
  page(conversation: string, afterSeq: number, limit: number): Promise<StoredMessage[]>;
}

export interface StoredMessage {
  conv: string;
  seq: number;
  mid: string;
  from: string;
  /** Serialized server frame as devices receive it. */
  frame: string;
  ts: number;
}
