import type { DeliveryItem } from '../bus/envelope.ts';
import type { DeviceId, UserId } from '../protocol/ids.ts';
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
  /** Set once a valid token was presented (see `signIn`), and kept after the connection closes. */
  device?: DeviceId;
  user?: UserId;
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

  /** A valid token named this connection's device and user: its sign-in is under way. */
  signIn(user: UserId, device: DeviceId): SignedIn {
    this.state = 'authenticating';
    this.user = user;
    this.device = device;
    return this as SignedIn;
  }

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

  /** Signed in and welcomed: frames other than hello are served. */
  isReady(): this is SignedIn {
    return this.state === 'ready';
  }
}

/**
 * A connection whose device presented a valid token: its device and user
 * are known for the rest of its life, closed or not. Only these are in the
 * node's connection index and reach the parts that serve frames.
 */
export interface SignedIn extends Connection {
  readonly device: DeviceId;
  readonly user: UserId;
}

/** The UTF-8 size of a frame: what it costs in the socket's send buffer. */
export function frameBytes(text: string): number {
  return Buffer.byteLength(text);
}
