import type { UserId } from '../protocol/ids.ts';

/**
 * Group membership, per-member read cursors for large groups, and aggregated
 * receipts.
 *
 * Guarantees: membership changes are durable once resolved and visible to
 * every node afterwards (nodes may cache for a bounded time); members are
 * listed in join order, and a member's index (its bit in receipt bitmaps)
 * never changes while it stays a member; cursors only move forward.
 */
export interface Groups {
  create(group: GroupInfo, members: readonly UserId[]): Promise<void>;
  get(group: string): Promise<GroupInfo | undefined>;
  add(group: string, users: readonly UserId[]): Promise<void>;
  remove(group: string, users: readonly UserId[]): Promise<void>;
  members(group: string): Promise<UserId[]>;
  /** Groups `user` belongs to. */
  groupsOf(user: UserId): Promise<string[]>;
  /** Highest seq a device has acked in a fan-out-on-read group (0 if none). */
  cursor(group: string, device: string): Promise<number>;
  /** Moves the cursor forward; a lower value is ignored. */
  advanceCursor(group: string, device: string, seq: number): Promise<void>;
  /** Records that `user` got (`delivered`) or read (`read`) message `seq`. Idempotent. */
  markReceipt(group: string, seq: number, user: UserId, kind: 'delivered' | 'read'): Promise<void>;
  receipts(group: string, seq: number): Promise<GroupReceipts>;
}

export interface GroupInfo {
  id: string;
  name: string;
  owner: UserId;
  createdMs: number;
  /**
   * Chosen at creation and fixed for the group's life: 'write' puts one inbox
   * entry per member device; 'read' keeps one copy in the group log and a
   * cursor per member device (channels and groups above the threshold).
   */
  fanout: 'write' | 'read';
}

/** Aggregated receipts of one group message: counts plus member bitmaps (bit i = i-th member). */
export interface GroupReceipts {
  members: number;
  delivered: number;
  read: number;
  deliveredBitmap: Uint8Array;
  readBitmap: Uint8Array;
}
