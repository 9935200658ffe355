import assert from 'node:assert/strict';
import { type Harness, unique } from '../testing/harness.ts';
import type { Registry } from './registry.ts';

export interface RegistryHarness extends Harness {
  registry: Registry;
  /** Another handle on the same store, as a second node process would hold. */
  peer(): Promise<Registry>;
}

/** Conformance suite: every Registry adapter must pass it, in virtual or real time. */
export function runRegistrySuite(name: string, make: () => Promise<RegistryHarness>): void {
  describe(`Registry (${name})`, () => {
    let h: RegistryHarness;
    let r: Registry;
    const ttlMs = 800;
    const device = () => `${unique(h, 'u')}.1`;
    const node = () => unique(h, 'n');
    const expire = () => h.advance(ttlMs + (h.ttlSlackMs ?? 0) + 100);

    beforeEach(async () => {
      h = await make();
      r = h.registry;
    });
    afterEach(async () => {
      await h.close();
    });

    it('maps a device to the live node it connected to', async () => {
      const [d, n] = [device(), node()];
      await r.heartbeat(n, ttlMs);
      await r.put(d, n);
      assert.deepEqual([...(await r.lookup([d]))], [[d, n]]);
    });

    it('treats devices it has never seen as offline', async () => {
      const n = node();
      await r.heartbeat(n, ttlMs);
      assert.equal((await r.lookup([device(), device()])).size, 0);
      assert.equal((await r.lookup([])).size, 0);
    });

    it('returns only the online devices of a mixed lookup', async () => {
      const [a, b, c, n] = [device(), device(), device(), node()];
      await r.heartbeat(n, ttlMs);
      await r.put(a, n);
      await r.put(c, n);
      const found = await r.lookup([a, b, c]);
      assert.deepEqual([...found].sort(), [[a, n], [c, n]].sort());
    });

    it('returns the node a device was mapped to before, or nothing the first time', async () => {
      const [d, n1, n2] = [device(), node(), node()];
      await r.heartbeat(n1, ttlMs);
      await r.heartbeat(n2, ttlMs);
      assert.equal(await r.put(d, n1), undefined);
      assert.equal(await r.put(d, n2), n1);
    });

    it('returns the previous node even when that node is dead', async () => {
      const [d, n1, n2] = [device(), node(), node()];
      await r.heartbeat(n1, ttlMs);
      await r.put(d, n1);
      await r.retire(n1);
      await r.heartbeat(n2, ttlMs);
      assert.equal(await r.put(d, n2), n1);
    });

    it('lets a reconnect on another node replace the entry (last write wins)', async () => {
      const [d, n1, n2] = [device(), node(), node()];
      await r.heartbeat(n1, ttlMs);
      await r.heartbeat(n2, ttlMs);
      await r.put(d, n1);
      await r.put(d, n2);
      assert.equal((await r.lookup([d])).get(d), n2);
    });

    it('removes the entry when the node that holds it disconnects the device', async () => {
      const [d, n] = [device(), node()];
      await r.heartbeat(n, ttlMs);
      await r.put(d, n);
      await r.remove(d, n);
      assert.equal((await r.lookup([d])).size, 0);
    });

    it('ignores a late disconnect on the old node after a reconnect elsewhere', async () => {
      const [d, n1, n2] = [device(), node(), node()];
      await r.heartbeat(n1, ttlMs);
      await r.heartbeat(n2, ttlMs);
      await r.put(d, n1);
      await r.put(d, n2);
      await r.remove(d, n1);
      assert.equal((await r.lookup([d])).get(d), n2);
    });

    it('never returns a device on a node that has not sent a heartbeat', async () => {
      const [d, n] = [device(), node()];
      await r.put(d, n);
      assert.equal((await r.lookup([d])).size, 0);
    });

    it("hides a dead node's devices once its heartbeat expires", async () => {
      const [d, n] = [device(), node()];
      await r.heartbeat(n, ttlMs);
      await r.put(d, n);
      await h.advance(ttlMs / 4);
      assert.equal((await r.lookup([d])).get(d), n, 'still alive within the TTL');
      await expire();
      assert.equal((await r.lookup([d])).size, 0);
      assert.ok(!(await r.nodes()).includes(n));
    });

    it('keeps a node alive while it keeps sending heartbeats', async () => {
      const [d, n] = [device(), node()];
      await r.heartbeat(n, ttlMs);
      await r.put(d, n);
      for (let i = 0; i < 3; i++) {
        await h.advance(ttlMs / 2);
        await r.heartbeat(n, ttlMs);
      }
      assert.equal((await r.lookup([d])).get(d), n);
      assert.ok((await r.nodes()).includes(n));
    });

    it('declares a retired node dead at once', async () => {
      const [d, n, other] = [device(), node(), node()];
      await r.heartbeat(n, ttlMs);
      await r.heartbeat(other, ttlMs);
      await r.put(d, n);
      await r.retire(n);
      assert.equal((await r.lookup([d])).size, 0);
      const nodes = await r.nodes();
      assert.ok(!nodes.includes(n));
      assert.ok(nodes.includes(other));
    });

    it('lists exactly the nodes whose heartbeat is fresh', async () => {
      const [short, long] = [node(), node()];
      await r.heartbeat(short, ttlMs);
      await r.heartbeat(long, ttlMs * 3);
      const before = await r.nodes();
      assert.ok(before.includes(short) && before.includes(long));
      await expire();
      const after = await r.nodes();
      assert.ok(!after.includes(short));
      assert.ok(after.includes(long));
    });

    it('lists the live nodes holding members of a group, once each', async () => {
      const [g, n1, n2] = [unique(h, 'g'), node(), node()];
      await r.heartbeat(n1, ttlMs);
      await r.heartbeat(n2, ttlMs);
      await r.joinGroup(g, n1);
      await r.joinGroup(g, n1);
      await r.joinGroup(g, n2);
      assert.deepEqual((await r.groupNodes(g)).sort(), [n1, n2].sort());
      assert.deepEqual(await r.groupNodes(unique(h, 'g')), []);
    });

    it('drops a node from a group when it leaves', async () => {
      const [g, n1, n2] = [unique(h, 'g'), node(), node()];
      await r.heartbeat(n1, ttlMs);
      await r.heartbeat(n2, ttlMs);
      await r.joinGroup(g, n1);
      await r.joinGroup(g, n2);
      await r.leaveGroup(g, n1);
      await r.leaveGroup(g, node());
      assert.deepEqual(await r.groupNodes(g), [n2]);
    });

    it('leaves dead nodes out of a group', async () => {
      const [g, retired, silent, live] = [unique(h, 'g'), node(), node(), node()];
      await r.heartbeat(retired, ttlMs);
      await r.heartbeat(live, ttlMs * 3);
      await r.joinGroup(g, retired);
      await r.joinGroup(g, silent);
      await r.joinGroup(g, live);
      await r.retire(retired);
      assert.deepEqual(await r.groupNodes(g), [live]);
    });

    it('shares entries between nodes using the same store', async () => {
      const [d, n] = [device(), node()];
      const other = await h.peer();
      await r.heartbeat(n, ttlMs);
      await r.put(d, n);
      assert.equal((await other.lookup([d])).get(d), n);
      await other.remove(d, n);
      assert.equal((await r.lookup([d])).size, 0);
    });
  });
}
