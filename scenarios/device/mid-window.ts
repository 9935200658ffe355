import { isNodeId, nodeIdHigh, nodeIdLow } from '../../system/protocol/ids.ts';
/** Up to this many numeric ids are found by a scan; beyond it a hash index is built. */
const SCAN_MAX = 32;
/** `hi` of a slot that holds an id of any other form (kept as a string in `others`). */
const OTHER = -1;

/**
 * The last `capacity` ids a device has seen (message mids or receipt ids):
 * a ring buffer that decides which id to forget, and a lookup over it.
 *
 * Guarantee: an id added within the last `capacity` additions is reported as
 * seen; older ids are forgotten, oldest first, so memory stays bounded. A
 * transport duplicate that arrives after its id was forgotten gets through —
 * the device then shows it twice and reports it (DUP_VISIBLE), which is the
 * honest cost of a too-small window.
 *
 * Memory: a simulation holds two windows per device and a few ids per
 * message in them, so a node id is kept as two numbers in one unboxed
 * array (16 bytes) rather than a string plus a Set entry (~75 bytes). A
 * window of up to SCAN_MAX ids is searched by a scan; a larger one builds an
 * open-addressing index of ring slots. Ids of any other form (tests, other
 * clients) are kept as strings in a Map beside the ring.
 */
export class MidWindow {
  /**
   * Ring of [hi, lo] pairs, `filled` of them used; grows as ids arrive up to
   * `capacity` pairs (a device that saw few ids holds few, and push would
   * leave 16 slots or more idle), then wraps. Up to SCAN_MAX pairs it is an
   * array grown by half; past it a Float64Array grown by doubling, whose
   * bytes live outside the collected heap: a live driver worker's windows
   * all grow for the first minutes of a run, and each grown array is
   * reachable, so a young-generation collection would copy it twice
   * (bench:driver, relay rounds: a fifth of what the worker's scavenges
   * copied was windows growing).
   */
  private keys: number[] | Float64Array = [];
  private filled = 0;
  private head = 0;
  /** Slots of numeric ids by hash (slot + 1, 0 = empty; linear probing), built past SCAN_MAX ids. */
  private index?: Int32Array;
  private indexed = 0;
  /** Ids that are not node ids, by slot and slot by id. */
  private others?: Map<string, number>;
  private otherAt?: Map<number, string>;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`window capacity must be a positive integer, got ${capacity}`);
  }

  has(id: string): boolean {
    if (!isNodeId(id)) return this.others?.has(id) ?? false;
    return this.find(nodeIdHigh(id), nodeIdLow(id)) >= 0;
  }

  /** Remembers `id`, forgetting the oldest id when full. Returns false if it was already remembered. */
  add(id: string): boolean {
    if (!isNodeId(id)) {
      if (this.others?.has(id)) return false;
      const slot = this.take(OTHER, OTHER);
      (this.others ??= new Map()).set(id, slot);
      (this.otherAt ??= new Map()).set(slot, id);
      return true;
    }
    const hi = nodeIdHigh(id);
    const lo = nodeIdLow(id);
    if (this.find(hi, lo) >= 0) return false;
    const slot = this.take(hi, lo);
    this.indexed++;
    if (this.index) this.insert(slot);
    else if (this.indexed > SCAN_MAX) this.rebuild(this.indexed);
    return true;
  }

  get size(): number {
    return this.filled;
  }

  /** The slot of a numeric id, or -1. */
  private find(hi: number, lo: number): number {
    const keys = this.keys;
    const index = this.index;
    if (!index) {
      const end = this.filled * 2;
      for (let i = 0; i < end; i += 2) if (keys[i + 1] === lo && keys[i] === hi) return i >> 1;
      return -1;
    }
    const mask = index.length - 1;
    for (let p = hash(hi, lo) & mask; ; p = (p + 1) & mask) {
      const v = index[p]!;
      if (v === 0) return -1;
      const s = (v - 1) << 1;
      if (keys[s + 1] === lo && keys[s] === hi) return v - 1;
    }
  }

  /** A slot for a new id: the next free one, or the oldest one's (forgetting it). */
  private take(hi: number, lo: number): number {
    let keys = this.keys;
    let slot: number;
    if (this.filled < this.capacity) {
      slot = this.filled++;
      if (keys.length < this.filled * 2) this.keys = keys = this.grown(keys);
      keys[slot * 2] = hi;
      keys[slot * 2 + 1] = lo;
      return slot;
    }
    slot = this.head;
    this.head = (this.head + 1) % this.capacity;
    if (keys[slot * 2] === OTHER) {
      this.others!.delete(this.otherAt!.get(slot)!);
      this.otherAt!.delete(slot);
    } else {
      this.indexed--;
      if (this.index) this.remove(slot);
    }
    keys[slot * 2] = hi;
    keys[slot * 2 + 1] = lo;
    return slot;
  }

  /** `keys` with room for at least one more pair (see `keys`). */
  private grown(keys: number[] | Float64Array): number[] | Float64Array {
    const small = this.filled <= SCAN_MAX;
    const pairs = small ? Math.min(this.capacity, SCAN_MAX, Math.max(4, Math.ceil(this.filled * 1.5))) : Math.min(this.capacity, Math.max(2 * SCAN_MAX, this.filled * 2));
    const next = small ? new Array<number>(pairs * 2) : new Float64Array(pairs * 2);
    for (let i = 0; i < keys.length; i++) next[i] = keys[i]!;
    return next;
  }

  /** Builds the index for at least `n` numeric ids, at most half full. */
  private rebuild(n: number): void {
    let size = 64;
    while (size < n * 2) size *= 2;
    this.index = new Int32Array(size);
    for (let s = 0; s < this.filled * 2; s += 2) if (this.keys[s] !== OTHER) this.insert(s >> 1);
  }

  private insert(slot: number): void {
    let index = this.index!;
    if (this.indexed * 2 > index.length) {
      this.rebuild(this.indexed);
      index = this.index!;
      if (this.position(slot) >= 0) return;
    }
    const mask = index.length - 1;
    let p = hash(this.keys[slot * 2]!, this.keys[slot * 2 + 1]!) & mask;
    while (index[p] !== 0) p = (p + 1) & mask;
    index[p] = slot + 1;
  }

  /** Where `slot` sits in the index, or -1. */
  private position(slot: number): number {
    const index = this.index!;
    const mask = index.length - 1;
    for (let p = hash(this.keys[slot * 2]!, this.keys[slot * 2 + 1]!) & mask; ; p = (p + 1) & mask) {
      const v = index[p]!;
      if (v === 0) return -1;
      if (v === slot + 1) return p;
    }
  }

  /** Takes `slot` out of the index, shifting later entries of its probe run back (no tombstones). */
  private remove(slot: number): void {
    const index = this.index!;
    const mask = index.length - 1;
    let i = this.position(slot);
    if (i < 0) return;
    for (let j = (i + 1) & mask; index[j] !== 0; j = (j + 1) & mask) {
      const v = index[j]!;
      const home = hash(this.keys[(v - 1) * 2]!, this.keys[(v - 1) * 2 + 1]!) & mask;
      // An entry may move back to i only if its home is not cyclically within (i, j].
      const between = i <= j ? home > i && home <= j : home > i || home <= j;
      if (!between) {
        index[i] = v;
        i = j;
      }
    }
    index[i] = 0;
  }
}

function hash(hi: number, lo: number): number {
  let h = Math.imul((lo | 0) ^ Math.imul(hi | 0, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 15;
  return h;
}

