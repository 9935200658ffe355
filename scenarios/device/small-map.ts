/**
 * Keys held in the flat array; one more moves them to a Map. A device that
 * chats for an hour of steady-chat talks in ~25 conversations: at 16 most
 * of them had moved to two Maps of ~900 bytes each (reorder and read state).
 * A miss in the scan costs a hash compare per key (keys are Map keys
 * elsewhere, so their hashes are computed).
 */
const FLAT_MAX = 48;

/**
 * A string-keyed map, in insertion order, for the per-conversation state a
 * device keeps: millions of simulated devices each talk in a few dozen
 * conversations at most, and a Map that small costs ~500 bytes (its hash table
 * doubles from 4 slots). Up to FLAT_MAX keys are held as [key, value, …] in
 * one array of exactly their size and found by a scan; past it, in a Map.
 * Keys are never deleted one by one (only `clear`), as its users need.
 */
export class SmallMap<V> {
  private flat: (string | V)[] = [];
  private map?: Map<string, V>;

  get(key: string): V | undefined {
    if (this.map) return this.map.get(key);
    const flat = this.flat;
    for (let i = 0; i < flat.length; i += 2) if (flat[i] === key) return flat[i + 1] as V;
    return undefined;
  }

  /** Sets `key`; a key already held keeps its place in the order. */
  set(key: string, value: V): void {
    if (this.map) {
      this.map.set(key, value);
      return;
    }
    const flat = this.flat;
    for (let i = 0; i < flat.length; i += 2) {
      if (flat[i] === key) {
        flat[i + 1] = value;
        return;
      }
    }
    if (flat.length < 2 * FLAT_MAX) {
      const next = new Array<string | V>(flat.length + 2);
      for (let i = 0; i < flat.length; i++) next[i] = flat[i]!;
      next[flat.length] = key;
      next[flat.length + 1] = value;
      this.flat = next;
      return;
    }
    const map = new Map<string, V>();
    for (let i = 0; i < flat.length; i += 2) map.set(flat[i] as string, flat[i + 1] as V);
    map.set(key, value);
    this.map = map;
    this.flat = [];
  }

  get size(): number {
    return this.map ? this.map.size : this.flat.length >> 1;
  }

  /** Calls `fn` for every entry in insertion order; `fn` may set keys already held. */
  forEach(fn: (value: V, key: string) => void): void {
    if (this.map) {
      this.map.forEach(fn);
      return;
    }
    const flat = this.flat;
    for (let i = 0; i < flat.length; i += 2) fn(flat[i + 1] as V, flat[i] as string);
  }

  clear(): void {
    this.map = undefined;
    this.flat = [];
  }
}
