import type { Clock } from '../clock/clock.ts';
import type { FaultSwitch } from '../faults/port-faults.ts';
import type { Inbox, InboxEntry } from './inbox.ts';

export interface MemoryInboxOptions {
  /** Decides when entries pass their retention. */
  clock: Clock;
  /**
   * Test hook: `failNext('put')` rejects a put before anything is stored;
   * `dropNext('put', n)` makes a put resolve with n of its entries silently
   * not stored (a broken adapter for the simulator to catch).
   */
  faults?: FaultSwitch;
  /** How long an unacked entry is kept. Default 30 days; Infinity keeps entries until acked. */
  retentionMs?: number;
}

interface Stored {
  entry: InboxEntry;
  expiresAtMs: number;
  /** False once acked or expired, so the expiry queue can skip it. */
  live: boolean;
}

/** Removed slots at the front of a device's array tolerated before it is compacted. */
const COMPACT_MIN = 64;

/**
 * One device's entries, sorted by id, in an array with a movable front. Ids
 * are time-ordered, so puts land at or near the end and acks at or near the
 * front: an insert or delete shifts whichever side of the array is shorter,
 * which is O(1) amortized for that traffic and never worse than O(n).
 */
class DeviceEntries {
  items: (Stored | undefined)[] = [];
  head = 0;

  get size(): number {
    return this.items.length - this.head;
  }

  /** Index of the first entry with id >= `id` (strictly > when `after`). */
  search(id: string, after: boolean): number {
    let lo = this.head;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const cur = this.items[mid]!.entry.id;
      if (cur < id || (after && cur === id)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Adds `s` unless its id is already present; returns whether it was added. */
  insert(s: Stored): boolean {
    const { items } = this;
    const last = items[items.length - 1];
    if (this.size === 0 || last!.entry.id < s.entry.id) {
      items.push(s);
      return true;
    }
    const i = this.search(s.entry.id, false);
    if (items[i]?.entry.id === s.entry.id) return false;
    if (this.head > 0 && i - this.head < items.length - i) {
      const h = --this.head;
      for (let j = h; j < i - 1; j++) items[j] = items[j + 1];
      items[i - 1] = s;
    } else {
      items.push(items[items.length - 1]);
      for (let j = items.length - 2; j > i; j--) items[j] = items[j - 1];
      items[i] = s;
    }
    return true;
  }

  /** Removes the entry with `id`; returns whether there was one. */
  remove(id: string): boolean {
    const { items } = this;
    const i = this.search(id, false);
    const s = items[i];
    if (s?.entry.id !== id) return false;
    s.live = false;
    if (i - this.head < items.length - i) {
      for (let j = i; j > this.head; j--) items[j] = items[j - 1];
      items[this.head++] = undefined;
    } else {
      for (let j = i; j < items.length - 1; j++) items[j] = items[j + 1];
      items.pop();
    }
    if (this.head >= COMPACT_MIN && this.head * 2 >= items.length) {
      this.items = items.slice(this.head);
      this.head = 0;
    }
    return true;
  }
}

/**
 * The Inbox in one process, shared by every node of it.
 *
 * Retention is exact and cheap: it is one fixed duration, so entries expire
 * in the order they were stored. A FIFO of stored entries is consumed from
 * its front at the start of every call, removing whatever has expired; acked
 * entries left in it are filtered out whenever they outnumber the live ones,
 * so it stays within about twice the entries held.
 */
export class MemoryInbox implements Inbox {
  private readonly clock: Clock;
  private readonly faults?: FaultSwitch;
  /** How long an entry the device never acks is kept. */
  readonly retentionMs: number;
  private readonly devices = new Map<string, DeviceEntries>();
  private stored = 0;
  private expiry: Stored[] = [];
  private expiryHead = 0;

  constructor(options: MemoryInboxOptions) {
    this.clock = options.clock;
    this.faults = options.faults;
    this.retentionMs = options.retentionMs ?? 30 * 24 * 3600 * 1000;
  }

  /** What is held, for tests and memory accounting: entries, devices with entries, expiry queue length. */
  memoryStats(): { entries: number; devices: number; expiryQueue: number } {
    this.expire();
    return { entries: this.stored, devices: this.devices.size, expiryQueue: this.expiry.length - this.expiryHead };
  }

  async put(entries: readonly InboxEntry[]): Promise<void> {
    this.faults?.check('put');
    const now = this.expire();
    const expiresAtMs = now + this.retentionMs;
    for (const entry of entries) {
      if (this.faults?.shouldDrop('put')) continue;
      let d = this.devices.get(entry.device);
      if (!d) this.devices.set(entry.device, (d = new DeviceEntries()));
      const s: Stored = { entry: { ...entry }, expiresAtMs, live: true };
      if (!d.insert(s)) continue;
      this.stored++;
      if (Number.isFinite(expiresAtMs)) this.expiry.push(s);
    }
    if (this.expiry.length - this.expiryHead > 2 * this.stored + COMPACT_MIN) {
      this.expiry = this.expiry.slice(this.expiryHead).filter((x) => x.live);
      this.expiryHead = 0;
    }
  }

  async page(device: string, after: string | null, limit: number): Promise<InboxEntry[]> {
    this.faults?.check('page');
    this.expire();
    const d = this.devices.get(device);
    if (!d || limit <= 0) return [];
    const from = after === null ? d.head : d.search(after, true);
    const to = Math.min(d.items.length, from + limit);
    const out: InboxEntry[] = [];
    for (let i = from; i < to; i++) out.push({ ...d.items[i]!.entry });
    return out;
  }

  async ack(device: string, ids: readonly string[]): Promise<void> {
    this.faults?.check('ack');
    this.expire();
    const d = this.devices.get(device);
    if (!d) return;
    for (const id of ids) if (d.remove(id)) this.stored--;
    if (d.size === 0) this.devices.delete(device);
  }

  async count(device: string): Promise<number> {
    this.faults?.check('count');
    this.expire();
    return this.devices.get(device)?.size ?? 0;
  }

  async has(device: string, ids: readonly string[]): Promise<boolean[]> {
    this.faults?.check('has');
    this.expire();
    const d = this.devices.get(device);
    return ids.map((id) => d !== undefined && d.items[d.search(id, false)]?.entry.id === id);
  }

  /** Removes every entry past its retention; returns now. */
  private expire(): number {
    const now = this.clock.now();
    const q = this.expiry;
    let i = this.expiryHead;
    for (; i < q.length && q[i]!.expiresAtMs <= now; i++) {
      const s = q[i]!;
      if (!s.live) continue;
      const d = this.devices.get(s.entry.device)!;
      d.remove(s.entry.id);
      this.stored--;
      if (d.size === 0) this.devices.delete(s.entry.device);
    }
    this.expiryHead = i;
    if (i >= COMPACT_MIN && i * 2 >= q.length) {
      this.expiry = q.slice(i);
      this.expiryHead = 0;
    }
    return now;
  }
}
