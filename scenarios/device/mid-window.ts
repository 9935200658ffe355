/**
 * The last `capacity` ids a device has seen (message mids or receipt ids):
 * a Set for lookups plus a ring buffer that decides which id to forget.
 *
 * Guarantee: an id added within the last `capacity` additions is reported as
 * seen; older ids are forgotten, oldest first, so memory stays bounded. A
 * transport duplicate that arrives after its id was forgotten gets through —
 * the device then shows it twice and reports it (DUP_VISIBLE), which is the
 * honest cost of a too-small window.
 */
export class MidWindow {
  /** Created on the first id: most simulated devices see few ids, and millions of empty Sets add up. */
  private seen?: Set<string>;
  /** Grows up to `capacity` as ids arrive (a device that saw few ids holds few), then wraps. */
  private readonly ring: string[] = [];
  private head = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`window capacity must be a positive integer, got ${capacity}`);
  }

  has(id: string): boolean {
    return this.seen?.has(id) ?? false;
  }

  /** Remembers `id`, forgetting the oldest id when full. Returns false if it was already remembered. */
  add(id: string): boolean {
    this.seen ??= new Set();
    if (this.seen.has(id)) return false;
    if (this.ring.length < this.capacity) this.ring.push(id);
    else {
      this.seen.delete(this.ring[this.head]!);
      this.ring[this.head] = id;
      this.head = (this.head + 1) % this.capacity;
    }
    this.seen.add(id);
    return true;
  }

  get size(): number {
    return this.seen?.size ?? 0;
  }
}
