/**
 * Ids by expiry time, earliest first: a binary min-heap in two parallel
 * arrays (no object per entry). The memory adapters whose entries expire
 * (stories, calls) sweep it on each call instead of arming a timer per
 * entry, so an expired entry costs nothing until someone looks.
 */
export class ExpiryHeap {
  private readonly at: number[] = [];
  private readonly ids: string[] = [];

  get size(): number {
    return this.at.length;
  }

  push(at: number, id: string): void {
    let i = this.at.length;
    this.at.push(at);
    this.ids.push(id);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.at[parent]! <= at) break;
      this.move(parent, i);
      i = parent;
    }
    this.at[i] = at;
    this.ids[i] = id;
  }

  /** The id of the earliest expiry when it is at or before `now` (and takes it out), else undefined. */
  popDue(now: number): string | undefined {
    if (this.at.length === 0 || this.at[0]! > now) return undefined;
    const due = this.ids[0]!;
    const lastAt = this.at.pop()!;
    const lastId = this.ids.pop()!;
    const n = this.at.length;
    if (n === 0) return due;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && this.at[child + 1]! < this.at[child]!) child++;
      if (this.at[child]! >= lastAt) break;
      this.move(child, i);
      i = child;
    }
    this.at[i] = lastAt;
    this.ids[i] = lastId;
    return due;
  }

  private move(from: number, to: number): void {
    this.at[to] = this.at[from]!;
    this.ids[to] = this.ids[from]!;
  }
}
