import assert from 'node:assert/strict';
import { type Harness, unique } from '../testing/harness.ts';
import type { GroupInfo, GroupReceipts, Groups } from './groups.ts';

export interface GroupsHarness extends Harness {
  groups: Groups;
}

/** Bit `i` of a receipt bitmap; bits past its end read as 0. */
export function bit(bitmap: Uint8Array, i: number): boolean {
  return ((bitmap[i >> 3] ?? 0) & (1 << (i & 7))) !== 0;
}

/** Indexes of the set bits among the first `n`. */
function bits(bitmap: Uint8Array, n: number): number[] {
  return Array.from({ length: n }, (_, i) => i).filter((i) => bit(bitmap, i));
}

/** Conformance suite: every Groups adapter must pass it. */
export function runGroupsSuite(name: string, make: () => Promise<GroupsHarness>): void {
  describe(`Groups (${name})`, () => {
    let h: GroupsHarness;
    let g: Groups;
    const user = () => unique(h, 'u');
    const info = (owner: string, fanout: GroupInfo['fanout'] = 'write'): GroupInfo => ({
      id: unique(h, 'g'),
      name: 'Trip ✈ "2026"',
      owner,
      createdMs: 1_767_225_600_000,
      fanout,
    });
    const created = async (n: number) => {
      const users = Array.from({ length: n }, user);
      const gi = info(users[0]!);
      await g.create(gi, users);
      return { id: gi.id, info: gi, users };
    };
    const counts = (r: GroupReceipts) => [r.members, r.delivered, r.read];

    beforeEach(async () => {
      h = await make();
      g = h.groups;
    });
    afterEach(async () => {
      await h.close();
    });

    it('creates a group that every reader sees with its info and members', async () => {
      const { id, info: gi, users } = await created(3);
      assert.deepEqual(await g.get(id), gi);
      assert.deepEqual(await g.members(id), users);
    });

    it('keeps the fan-out mode chosen at creation', async () => {
      const u = user();
      const [w, r] = [info(u, 'write'), info(u, 'read')];
      await g.create(w, [u]);
      await g.create(r, [u]);
      assert.equal((await g.get(w.id))?.fanout, 'write');
      assert.equal((await g.get(r.id))?.fanout, 'read');
    });

    it('knows nothing of a group that was never created', async () => {
      const id = unique(h, 'g');
      assert.equal(await g.get(id), undefined);
      assert.deepEqual(await g.members(id), []);
    });

    it('lists members in join order, new members last', async () => {
      const { id, users } = await created(2);
      const [c, d] = [user(), user()];
      await g.add(id, [c, d]);
      assert.deepEqual(await g.members(id), [...users, c, d]);
    });

    it('keeps one entry and the original place for a member added twice', async () => {
      const { id, users } = await created(3);
      await g.add(id, [users[0]!, users[0]!]);
      assert.deepEqual(await g.members(id), users);
    });

    it('keeps one copy of each member when a create is retried', async () => {
      const users = [user(), user()];
      const gi = info(users[0]!);
      await g.create(gi, users);
      await g.create(gi, users);
      assert.deepEqual(await g.members(gi.id), users);
    });

    it('removes members and keeps the others in order', async () => {
      const { id, users } = await created(4);
      await g.remove(id, [users[1]!, user()]);
      assert.deepEqual(await g.members(id), [users[0], users[2], users[3]]);
    });

    it('lists the groups a user belongs to, and stops after removal', async () => {
      const u = user();
      const [a, b] = [info(u), info(u)];
      await g.create(a, [u]);
      await g.create(b, [u, user()]);
      assert.deepEqual((await g.groupsOf(u)).sort(), [a.id, b.id].sort());
      await g.remove(a.id, [u]);
      assert.deepEqual(await g.groupsOf(u), [b.id]);
      assert.deepEqual(await g.groupsOf(user()), []);
    });

    it('counts delivered and read receipts with the member bits set', async () => {
      const { id, users } = await created(10);
      await g.markReceipt(id, 1, users[2]!, 'delivered');
      await g.markReceipt(id, 1, users[9]!, 'delivered');
      await g.markReceipt(id, 1, users[9]!, 'read');
      const r = await g.receipts(id, 1);
      assert.deepEqual(counts(r), [10, 2, 1]);
      assert.deepEqual(bits(r.deliveredBitmap, 10), [2, 9]);
      assert.deepEqual(bits(r.readBitmap, 10), [9]);
    });

    it('counts a repeated receipt once', async () => {
      const { id, users } = await created(3);
      for (let i = 0; i < 3; i++) await g.markReceipt(id, 5, users[1]!, 'read');
      await Promise.all([g.markReceipt(id, 5, users[2]!, 'read'), g.markReceipt(id, 5, users[2]!, 'read')]);
      assert.deepEqual(counts(await g.receipts(id, 5)), [3, 0, 2]);
    });

    it('keeps receipts of different messages apart', async () => {
      const { id, users } = await created(3);
      await g.markReceipt(id, 1, users[0]!, 'delivered');
      await g.markReceipt(id, 2, users[1]!, 'delivered');
      assert.deepEqual(bits((await g.receipts(id, 1)).deliveredBitmap, 3), [0]);
      assert.deepEqual(bits((await g.receipts(id, 2)).deliveredBitmap, 3), [1]);
    });

    it('reports no receipts for a message nobody acknowledged', async () => {
      const { id } = await created(4);
      const r = await g.receipts(id, 42);
      assert.deepEqual(counts(r), [4, 0, 0]);
      assert.deepEqual(bits(r.deliveredBitmap, 4), []);
      assert.deepEqual(bits(r.readBitmap, 4), []);
    });

    it("keeps each remaining member's bit when an earlier member leaves", async () => {
      const { id, users } = await created(5);
      await g.markReceipt(id, 1, users[3]!, 'delivered');
      await g.remove(id, [users[0]!, users[1]!]);
      await g.markReceipt(id, 2, users[3]!, 'delivered');
      const newcomer = user();
      await g.add(id, [newcomer]);
      await g.markReceipt(id, 2, newcomer, 'read');
      assert.deepEqual(bits((await g.receipts(id, 1)).deliveredBitmap, 8), [3]);
      const r = await g.receipts(id, 2);
      assert.deepEqual(bits(r.deliveredBitmap, 8), [3]);
      assert.deepEqual(bits(r.readBitmap, 8), [5]);
      assert.equal(r.members, 4);
    });

    it('ignores a receipt from someone who is not a member', async () => {
      const { id, users } = await created(2);
      await g.remove(id, [users[1]!]);
      await g.markReceipt(id, 1, users[1]!, 'delivered');
      await g.markReceipt(id, 1, user(), 'read');
      assert.deepEqual(counts(await g.receipts(id, 1)), [1, 0, 0]);
    });

    it('handles receipts past the first byte of a large group', async () => {
      const { id, users } = await created(300);
      for (const i of [0, 7, 8, 255, 299]) await g.markReceipt(id, 1, users[i]!, 'delivered');
      const r = await g.receipts(id, 1);
      assert.deepEqual(counts(r), [300, 5, 0]);
      assert.deepEqual(bits(r.deliveredBitmap, 300), [0, 7, 8, 255, 299]);
    });

    it('starts a cursor at 0 and only moves it forward', async () => {
      const { id, users } = await created(2);
      const dev = `${users[1]}.1`;
      assert.equal(await g.cursor(id, dev), 0);
      await g.advanceCursor(id, dev, 5);
      await g.advanceCursor(id, dev, 3);
      assert.equal(await g.cursor(id, dev), 5);
      await g.advanceCursor(id, dev, 9);
      assert.equal(await g.cursor(id, dev), 9);
    });

    it('keeps cursors per device and per group', async () => {
      const a = await created(2);
      const b = await created(2);
      const [d1, d2] = [`${a.users[0]}.1`, `${a.users[0]}.2`];
      await g.advanceCursor(a.id, d1, 4);
      assert.equal(await g.cursor(a.id, d2), 0);
      assert.equal(await g.cursor(b.id, d1), 0);
    });

    it('ends at the highest cursor whatever order concurrent advances land in', async () => {
      const { id, users } = await created(1);
      const dev = `${users[0]}.1`;
      await Promise.all([7, 3, 9, 1, 8].map((s) => g.advanceCursor(id, dev, s)));
      assert.equal(await g.cursor(id, dev), 9);
    });
  });
}
