import type { DeliveryItem } from '../bus/envelope.ts';
import type { ConnId } from './ports.ts';
import type { ConnLimits } from './conn-limits.ts';
import type { TokenBucket } from './rate-limit.ts';

/** Shared by every connection until its first delivery / first drain page: a node holds a connection per device, and empty Maps and Sets are not free. */
const NONE: Map<string, DeliveryItem> = new Map();
const NO_PAGE: Set<string> = new Set();

/**
 * One device connection's state inside a node.
 *
 * Flow control: at most `unackedWindowMax` deliveries and
 * `unackedWindowMaxBytes` bytes are outstanding; a live
 * delivery that would exceed it stays in the inbox and `needsDrain` is set,
 * so a drain picks it up once the device has caught up. While a drain runs,
 * live deliveries wait in `held` (bounded) and are sent after it; the device
 * drops any duplicate mid this causes.
 */
export class Connection {
  device?: string;
  user?: string;
  state: 'new' | 'authenticating' | 'ready' | 'closed' = 'new';
  /** Sent and not yet acked, by id; the shared empty map until the first delivery (add with `track`). */
  unacked: ReadonlyMap<string, DeliveryItem> = NONE;
  /** UTF-8 bytes of the frames in `unacked`. */
  unackedBytes = 0;
  draining = false;
  needsDrain = false;
  held: DeliveryItem[] = [];
  /** Resolves the drain's wait when the current page is fully acked. */
  pageWaiter?: () => void;
  /** Ids of the drain page in flight; replaced (never added to) per page. */
  pageOutstanding: Set<string> = NO_PAGE;
  offences = 0;
  bucket?: TokenBucket;
  /** Buckets and counters of the other limited frame kinds (limits.ts); made at the first such frame. */
  limits?: ConnLimits;
  /** Fan-out-on-read groups this connection's user belongs to. */
  readGroups: string[] = [];

  constructor(readonly id: ConnId, readonly openedMs: number) {}

  /** Remembers a delivery sent and not yet acked, of `bytes` (its frame's UTF-8 size). */
  track(item: DeliveryItem, bytes: number): void {
    if (this.unacked === NONE) this.unacked = new Map();
    (this.unacked as Map<string, DeliveryItem>).set(item.id, item);
    this.unackedBytes += bytes;
  }

  /** Forgets an acked delivery; an emptied map is dropped (most devices are idle most of the time). */
  untrack(id: string): void {
    if (this.unacked.size === 0) return;
    const item = this.unacked.get(id);
    if (!item) return;
    (this.unacked as Map<string, DeliveryItem>).delete(id);
    this.unackedBytes -= frameBytes(item.frame);
    if (this.unacked.size === 0) {
      this.unacked = NONE;
      this.unackedBytes = 0;
    }
  }

  /** Read through a getter so checks after an await are not narrowed away by the compiler. */
  get closed(): boolean {
    return this.state === 'closed';
  }

  get ready(): boolean {
    return this.state === 'ready';
  }
}

/** The UTF-8 size of a frame: what it costs in the socket's send buffer. */
export function frameBytes(text: string): number {
  return Buffer.byteLength(text);
}
