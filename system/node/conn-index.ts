import type { DeviceId, UserId } from '../protocol/ids.ts';
import type { Connection, SignedIn } from './connection.ts';
import type { ConnId } from './ports.ts';

/**
 * The connections of one node: every open one by id, and the signed-in ones
 * by device (one per device: a newer sign-in replaces the older) and by user
 * (a user may have several devices here). A connection leaves `open` when
 * its socket closes; it leaves the device and user indexes when it closes
 * or is replaced, whichever comes first.
 */
export class ConnIndex {
  /** Open connections, in the order they opened. */
  readonly open = new Map<ConnId, Connection>();
  readonly byDevice = new Map<DeviceId, SignedIn>();
  readonly byUser = new Map<UserId, Set<SignedIn>>();

  /** Indexes a signed-in connection under its device and user; true when it is its user's first one here. */
  add(c: SignedIn): boolean {
    this.byDevice.set(c.device, c);
    let mine = this.byUser.get(c.user);
    if (!mine) this.byUser.set(c.user, (mine = new Set()));
    const first = mine.size === 0;
    mine.add(c);
    return first;
  }

  /** Takes a signed-in connection out of the device and user indexes; true when it was its user's last one here. */
  remove(c: SignedIn): boolean {
    this.byDevice.delete(c.device);
    const mine = this.byUser.get(c.user);
    mine?.delete(c);
    if (!mine || mine.size > 0) return false;
    this.byUser.delete(c.user);
    return true;
  }

  /** The connection indexed under `c`'s device when it is `c` itself: a signed-in one not yet replaced. */
  current(c: Connection): SignedIn | undefined {
    if (c.device === undefined) return undefined;
    const indexed = this.byDevice.get(c.device);
    return indexed === c ? indexed : undefined;
  }
}
