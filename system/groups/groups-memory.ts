import { ChatError } from '../protocol/errors.ts';
import type { UserId } from '../protocol/ids.ts';
import type { FaultSwitch } from '../faults/port-faults.ts';
import type { GroupInfo, GroupReceipts, Groups } from './groups.ts';

export interface MemoryGroupsOptions {
  /** Test hook: arm failures per method name ('add', 'markReceipt', ...). */
  faults?: FaultSwitch;
  /**
   * Messages per group whose receipts are kept; the oldest are forgotten
   * beyond it and read as no receipts. Default 10,000.
   */
  receiptsPerGroupMax?: number;
}

interface Receipts {
  delivered: Uint8Array;
  read: Uint8Array;
  deliveredCount: number;
  readCount: number;
}

interface GroupState {
  info: GroupInfo;
  /** Members in join order -> slot; slot i is bit i in receipt bitmaps. */
  slotOf: Map<UserId, number>;
  /** Slots handed out so far; a leaving member's slot is never reused, so nobody else's bit moves. */
  slots: number;
  cursors: Map<string, number>;
  /** seq -> receipts, in insertion order (about seq order) so the oldest are evicted first. */
  receipts: Map<number, Receipts>;
  /** Seqs in the order their receipts were created, from `receiptsHead` on: the eviction queue (O(1) a message). */
  receiptOrder: number[];
  receiptsHead: number;
}

/**
 * Groups in one process, shared by every node of it.
 *
 * Members sit in join-order slots. Removing a member empties its slot rather
 * than closing the gap, so every remaining member keeps its index (its bit in
 * receipt bitmaps); a member who rejoins gets a new slot at the end.
 */
export class MemoryGroups implements Groups {
  private readonly faults?: FaultSwitch;
  private readonly receiptsMax: number;
  private readonly groups = new Map<string, GroupState>();
  private readonly byUser = new Map<UserId, Set<string>>();

  constructor(options: MemoryGroupsOptions = {}) {
    this.faults = options.faults;
    this.receiptsMax = options.receiptsPerGroupMax ?? 10_000;
  }

  /** Creates the group; creating one that exists keeps its info and adds the members it lacks (a retried create). */
  async create(group: GroupInfo, members: readonly UserId[]): Promise<void> {
    this.faults?.check('create');
    let g = this.groups.get(group.id);
    if (!g) {
      g = { info: { ...group }, slotOf: new Map(), slots: 0, cursors: new Map(), receipts: new Map(), receiptOrder: [], receiptsHead: 0 };
      this.groups.set(group.id, g);
    }
    this.join(g, members);
  }

  async get(group: string): Promise<GroupInfo | undefined> {
    this.faults?.check('get');
    const g = this.groups.get(group);
    return g && { ...g.info };
  }

  /** Adds users at the end, in the order given; members already in keep their place. */
  async add(group: string, users: readonly UserId[]): Promise<void> {
    this.faults?.check('add');
    this.join(this.must(group), users);
  }

  async remove(group: string, users: readonly UserId[]): Promise<void> {
    this.faults?.check('remove');
    const g = this.must(group);
    for (const user of users) {
      if (!g.slotOf.has(user)) continue;
      g.slotOf.delete(user);
      this.byUser.get(user)?.delete(group);
      if (this.byUser.get(user)?.size === 0) this.byUser.delete(user);
    }
  }

  async members(group: string): Promise<UserId[]> {
    this.faults?.check('members');
    const g = this.groups.get(group);
    return g ? [...g.slotOf.keys()] : [];
  }

  async groupsOf(user: UserId): Promise<string[]> {
    this.faults?.check('groupsOf');
    return [...(this.byUser.get(user) ?? [])];
  }

  async cursor(group: string, device: string): Promise<number> {
    this.faults?.check('cursor');
    return this.groups.get(group)?.cursors.get(device) ?? 0;
  }

  async advanceCursor(group: string, device: string, seq: number): Promise<void> {
    this.faults?.check('advanceCursor');
    const g = this.groups.get(group);
    if (g && seq > (g.cursors.get(device) ?? 0)) g.cursors.set(device, seq);
  }

  /** Ignored for users who are not members (a late receipt after leaving). */
  async markReceipt(group: string, seq: number, user: UserId, kind: 'delivered' | 'read'): Promise<void> {
    this.faults?.check('markReceipt');
    const g = this.groups.get(group);
    const slot = g?.slotOf.get(user);
    if (!g || slot === undefined) return;
    let r = g.receipts.get(seq);
    if (!r) {
      r = { delivered: new Uint8Array(0), read: new Uint8Array(0), deliveredCount: 0, readCount: 0 };
      g.receipts.set(seq, r);
      g.receiptOrder.push(seq);
      while (g.receipts.size > this.receiptsMax && g.receiptsHead < g.receiptOrder.length) g.receipts.delete(g.receiptOrder[g.receiptsHead++]!);
      if (g.receiptsHead > 1024 && g.receiptsHead * 2 > g.receiptOrder.length) {
        g.receiptOrder = g.receiptOrder.slice(g.receiptsHead);
        g.receiptsHead = 0;
      }
    }
    if (kind === 'delivered') {
      r.delivered = withBit(r.delivered, slot);
      if (setBit(r.delivered, slot)) r.deliveredCount++;
    } else {
      r.read = withBit(r.read, slot);
      if (setBit(r.read, slot)) r.readCount++;
    }
  }

  async receipts(group: string, seq: number): Promise<GroupReceipts> {
    this.faults?.check('receipts');
    const g = this.groups.get(group);
    const bytes = Math.ceil((g?.slots ?? 0) / 8);
    const r = g?.receipts.get(seq);
    return {
      members: g?.slotOf.size ?? 0,
      delivered: r?.deliveredCount ?? 0,
      read: r?.readCount ?? 0,
      deliveredBitmap: sized(r?.delivered, bytes),
      readBitmap: sized(r?.read, bytes),
    };
  }

  private join(g: GroupState, users: readonly UserId[]): void {
    for (const user of users) {
      if (g.slotOf.has(user)) continue;
      g.slotOf.set(user, g.slots++);
      let groups = this.byUser.get(user);
      if (!groups) this.byUser.set(user, (groups = new Set()));
      groups.add(g.info.id);
    }
  }

  private must(group: string): GroupState {
    const g = this.groups.get(group);
    if (!g) throw new ChatError('not_found', `no group ${group}`);
    return g;
  }
}

/** `bitmap`, grown (doubling) so that it holds bit `slot`. */
function withBit(bitmap: Uint8Array, slot: number): Uint8Array {
  const need = (slot >> 3) + 1;
  if (bitmap.length >= need) return bitmap;
  const grown = new Uint8Array(Math.max(need, bitmap.length * 2));
  grown.set(bitmap);
  return grown;
}

/** Sets bit `slot`; returns false if it was already set. */
function setBit(bitmap: Uint8Array, slot: number): boolean {
  const mask = 1 << (slot & 7);
  if (bitmap[slot >> 3]! & mask) return false;
  bitmap[slot >> 3]! |= mask;
  return true;
}

/** A copy of `bitmap` exactly `bytes` long. */
function sized(bitmap: Uint8Array | undefined, bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  if (bitmap) out.set(bitmap.subarray(0, bytes));
  return out;
}
