import assert from 'node:assert/strict';
import { type Harness, unique } from '../testing/harness.ts';
import type { Accounts } from './accounts.ts';

export interface AccountsHarness extends Harness {
  accounts: Accounts;
  /** Another handle on the same store, as a second node process would hold. */
  peer(): Promise<Accounts>;
}

/** Conformance suite: every Accounts adapter must pass it. */
export function runAccountsSuite(name: string, make: () => Promise<AccountsHarness>): void {
  describe(`Accounts (${name})`, () => {
    let h: AccountsHarness;
    let a: Accounts;
    const user = () => unique(h, 'u');
    const phone = () => unique(h, '+1555');

    beforeEach(async () => {
      h = await make();
      a = h.accounts;
    });
    afterEach(async () => {
      await h.close();
    });

    it('lists the devices added to a user in the order they were added', async () => {
      const u = user();
      await a.addDevice(u, `${u}.1`);
      await a.addDevice(u, `${u}.3`);
      await a.addDevice(u, `${u}.2`);
      assert.deepEqual(await a.devices(u), [`${u}.1`, `${u}.3`, `${u}.2`]);
    });

    it('keeps one copy of a device added twice', async () => {
      const u = user();
      await a.addDevice(u, `${u}.1`);
      await a.addDevice(u, `${u}.2`);
      await a.addDevice(u, `${u}.1`);
      assert.deepEqual(await a.devices(u), [`${u}.1`, `${u}.2`]);
    });

    it('lists no devices for an unknown user', async () => {
      assert.deepEqual(await a.devices(user()), []);
    });

    it('keeps users apart even when one name starts with the other', async () => {
      const u = user();
      await a.addDevice(u, `${u}.1`);
      await a.addDevice(`${u}x`, `${u}x.1`);
      assert.deepEqual(await a.devices(u), [`${u}.1`]);
    });

    it("returns many users' devices in one call, unknown users with none", async () => {
      const [u, v, nobody] = [user(), user(), user()];
      await a.addDevice(u, `${u}.1`);
      await a.addDevice(v, `${v}.1`);
      await a.addDevice(v, `${v}.2`);
      const got = await a.devicesOf([u, v, nobody]);
      assert.deepEqual(got.get(u), [`${u}.1`]);
      assert.deepEqual(got.get(v), [`${v}.1`, `${v}.2`]);
      assert.deepEqual(got.get(nobody) ?? [], []);
      assert.equal((await a.devicesOf([])).size, 0);
    });

    it('shows a device added on one node to every other node', async () => {
      const u = user();
      const other = await h.peer();
      await a.addDevice(u, `${u}.1`);
      assert.deepEqual(await other.devices(u), [`${u}.1`]);
      assert.deepEqual((await other.devicesOf([u])).get(u), [`${u}.1`]);
    });

    it('finds a user by the phone bound to it', async () => {
      const [u, p] = [user(), phone()];
      await a.bindPhone(p, u);
      assert.equal(await a.userByPhone(p), u);
      assert.equal(await a.userByPhone(phone()), undefined);
    });

    it('moves a phone to the user it was bound to last', async () => {
      const [u, v, p] = [user(), user(), phone()];
      await a.bindPhone(p, u);
      await a.bindPhone(p, v);
      assert.equal(await a.userByPhone(p), v);
    });

    it('lets one user hold several phones', async () => {
      const [u, p1, p2] = [user(), phone(), phone()];
      await a.bindPhone(p1, u);
      await a.bindPhone(p2, u);
      assert.equal(await a.userByPhone(p1), u);
      assert.equal(await a.userByPhone(p2), u);
    });

    it('returns lists the caller may change without changing the accounts', async () => {
      const u = user();
      await a.addDevice(u, `${u}.1`);
      (await a.devices(u)).push(`${u}.9`);
      (await a.devicesOf([u])).get(u)!.push(`${u}.9`);
      assert.deepEqual(await a.devices(u), [`${u}.1`]);
    });
  });
}
