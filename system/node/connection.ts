import type { DeliveryItem } from '../bus/envelope.ts';
import type { ConnId } from './ports.ts';
import type { TokenBucket } from './rate-limit.ts';

/**
 * One device connection's state inside a node.
 *
 * Flow control: at most `unackedWindowMax` deliveries are outstanding; a live
 * delivery that would exceed it stays in the inbox and `needsDrain` is set,
 * so a drain picks it up once the device has caught up. While a drain runs,
 * live deliveries wait in `held` (bounded) and are sent after it; the device
 * drops any duplicate mid this causes.
 */
export class Connection {
  device?: string;
  user?: string;
  state: 'new' | 'authenticating' | 'ready' | 'closed' = 'new';
  readonly unacked = new Map<string, DeliveryItem>();
  draining = false;
  needsDrain = false;
  held: DeliveryItem[] = [];
  /** Resolves the drain's wait when the current page is fully acked. */
  pageWaiter?: () => void;
  pageOutstanding = new Set<string>();
  offences = 0;
  bucket?: TokenBucket;
  /** Fan-out-on-read groups this connection's user belongs to. */
  readGroups: string[] = [];

  constructor(readonly id: ConnId, readonly openedMs: number) {}

  /** Read through a getter so checks after an await are not narrowed away by the compiler. */
  get closed(): boolean {
    return this.state === 'closed';
  }

  get ready(): boolean {
    return this.state === 'ready';
  }
}
