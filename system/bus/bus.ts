import type { NodeId } from '../protocol/ids.ts';
import type { Envelope } from './envelope.ts';

/**
 * Node -> node envelopes (deliveries, receipts, typing, presence, kicks).
 *
 * Guarantee: at most once, in order per (publisher, subscriber) pair. An
 * envelope to a node that is down or not subscribed is dropped. That is
 * enough because the Bus never carries the only copy of anything durable: a
 * delivery or receipt is written to the recipient's Inbox before it is
 * published, and a device drains its Inbox when it (re)connects, so a lost
 * envelope costs latency, never a message. Typing and presence are ephemeral
 * by contract and may be lost.
 */
export interface Bus {
  publish(node: NodeId, envelope: Envelope): Promise<void>;
  /** Starts delivering envelopes addressed to `node`; resolves once subscribed. */
  subscribe(node: NodeId, handler: (envelope: Envelope) => void): Promise<Unsubscribe>;
  close(): Promise<void>;
}

export type Unsubscribe = () => Promise<void>;
