/**
 * Message keys kept for messages that have not arrived yet (skipped over by
 * a later one): "The Double Ratchet Algorithm" §3.2/§3.5 (MKSKIPPED) and the
 * same for sender-key chains. A peer can make a device keep any number of
 * them, so they are bounded twice: per chain owner (a session, a sender key)
 * and per device in total. Over a bound the oldest go first: a message that
 * late is treated as lost.
 */
export class SkippedKeyBudget {
  private total = 0;
  /** Every key admitted, oldest first; entries already taken are skipped over when evicting. */
  private queue: { owner: SkippedKeys; id: string }[] = [];
  private head = 0;

  constructor(readonly maxTotal: number) {
    if (!(maxTotal >= 0)) throw new RangeError(`maxTotal must be ≥ 0, got ${maxTotal}`);
  }

  get size(): number {
    return this.total;
  }

  admitted(owner: SkippedKeys, id: string): void {
    this.total++;
    this.queue.push({ owner, id });
    while (this.total > this.maxTotal && this.head < this.queue.length) {
      const { owner: o, id: oldest } = this.queue[this.head++]!;
      o.evict(oldest);
    }
    this.compact();
  }

  released(n: number): void {
    this.total -= n;
  }

  /** Keeps the queue within a small multiple of what it can hold: entries of taken keys are dropped. */
  private compact(): void {
    if (this.head < 1024 && this.queue.length - this.head <= 2 * this.maxTotal + 64) return;
    this.queue = this.queue.slice(this.head).filter((e) => e.owner.has(e.id));
    this.head = 0;
  }
}

/** One chain owner's skipped keys, by an id the owner makes (e.g. ratchet key and message number). */
export class SkippedKeys {
  private readonly keys = new Map<string, Uint8Array>();

  constructor(
    private readonly maxKept: number,
    private readonly budget?: SkippedKeyBudget,
  ) {}

  get size(): number {
    return this.keys.size;
  }

  has(id: string): boolean {
    return this.keys.has(id);
  }

  get(id: string): Uint8Array | undefined {
    return this.keys.get(id);
  }

  put(id: string, key: Uint8Array): void {
    if (this.keys.has(id)) return;
    this.keys.set(id, key);
    this.budget?.admitted(this, id);
    while (this.keys.size > this.maxKept) this.evict(this.keys.keys().next().value!);
  }

  /** Removes a key that has been used (or is being given up). */
  evict(id: string): void {
    if (this.keys.delete(id)) this.budget?.released(1);
  }

  /** The owner is gone: its keys no longer count. */
  clear(): void {
    this.budget?.released(this.keys.size);
    this.keys.clear();
  }
}
