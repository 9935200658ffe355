import assert from 'node:assert/strict';
import { type Harness, unique } from '../testing/harness.ts';
import type { FetchedBundle, Keys, PublishedBundle } from './keys.ts';

export interface KeysHarness extends Harness {
  keys: Keys;
  /** Another handle on the same store, as a second node process would hold. */
  peer(): Promise<Keys>;
}

/** Conformance suite: every Keys adapter must pass it. */
export function runKeysSuite(name: string, make: () => Promise<KeysHarness>): void {
  describe(`Keys (${name})`, () => {
    let h: KeysHarness;
    let k: Keys;
    const user = () => unique(h, 'u');
    const b64 = (s: string) => Buffer.from(s).toString('base64url');
    const bundle = (tag: string, oneTime: number): PublishedBundle => ({
      identityKey: b64(`identity-${tag}`),
      signedPreKey: { id: 1, key: b64(`signed-${tag}`), signature: b64(`sig-${tag}`) },
      oneTimePreKeys: Array.from({ length: oneTime }, (_, i) => ({ id: 100 + i, key: b64(`otk-${tag}-${i}`) })),
    });
    const oneTimeIds = (bundles: FetchedBundle[]) => bundles.map((b) => b.oneTimePreKey?.id);

    beforeEach(async () => {
      h = await make();
      k = h.keys;
    });
    afterEach(async () => {
      await h.close();
    });

    it('reads the identity each device last published, across users, and nothing for devices that never published', async () => {
      const [u, v] = [user(), user()];
      await k.publish(`${u}.1`, bundle('u1', 0));
      await k.publish(`${u}.2`, bundle('u2', 0));
      await k.publish(`${v}.1`, bundle('v1', 0));
      await k.publish(`${u}.1`, bundle('u1-reinstalled', 0));
      const got = await (await h.peer()).identities([`${u}.1`, `${u}.2`, `${v}.1`, `${v}.9`]);
      assert.deepEqual(Object.fromEntries(got), {
        [`${u}.1`]: bundle('u1-reinstalled', 0).identityKey,
        [`${u}.2`]: bundle('u2', 0).identityKey,
        [`${v}.1`]: bundle('v1', 0).identityKey,
      });
      assert.equal((await k.identities([])).size, 0);
    });

    it('hands out a published bundle with its identity, signed pre-key and a one-time key', async () => {
      const u = user();
      const b = bundle('a', 2);
      await k.publish(`${u}.1`, b);
      const [got, ...rest] = await k.fetch(u);
      assert.deepEqual(rest, []);
      assert.equal(got!.device, `${u}.1`);
      assert.equal(got!.identityKey, b.identityKey);
      assert.deepEqual(got!.signedPreKey, b.signedPreKey);
      assert.ok(b.oneTimePreKeys.some((x) => x.id === got!.oneTimePreKey?.id && x.key === got!.oneTimePreKey?.key));
    });

    it('returns one bundle per device of the user', async () => {
      const u = user();
      await k.publish(`${u}.1`, bundle('one', 1));
      await k.publish(`${u}.2`, bundle('two', 1));
      const got = await k.fetch(u);
      assert.deepEqual(got.map((b) => b.device).sort(), [`${u}.1`, `${u}.2`]);
      assert.equal(got.find((b) => b.device === `${u}.2`)!.identityKey, bundle('two', 0).identityKey);
    });

    it("leaves the asking device's own bundle out, and does not spend its one-time pre-keys", async () => {
      const u = user();
      await k.publish(`${u}.1`, bundle('one', 2));
      await k.publish(`${u}.2`, bundle('two', 2));
      const got = await k.fetch(u, `${u}.1`);
      assert.deepEqual(got.map((b) => b.device), [`${u}.2`]);
      assert.equal(await k.remaining(`${u}.1`), 2);
      assert.equal(await k.remaining(`${u}.2`), 1);
    });

    it('returns no bundles for a user without published keys', async () => {
      assert.deepEqual(await k.fetch(user()), []);
      assert.equal(await k.remaining(`${user()}.1`), 0);
    });

    it('keeps users apart even when one name starts with the other', async () => {
      const u = user();
      await k.publish(`${u}.1`, bundle('short', 1));
      await k.publish(`${u}x.1`, bundle('long', 1));
      assert.deepEqual((await k.fetch(u)).map((b) => b.device), [`${u}.1`]);
    });

    it('hands out each one-time pre-key at most once', async () => {
      const u = user();
      await k.publish(`${u}.1`, bundle('a', 5));
      const ids: (number | undefined)[] = [];
      for (let i = 0; i < 5; i++) {
        ids.push(...oneTimeIds(await k.fetch(u)));
        assert.equal(await k.remaining(`${u}.1`), 4 - i);
      }
      assert.deepEqual([...ids].sort(), [100, 101, 102, 103, 104]);
    });

    it('never hands one one-time pre-key to two concurrent fetches, across nodes', async () => {
      const u = user();
      const other = await h.peer();
      await k.publish(`${u}.1`, bundle('a', 10));
      const fetched = await Promise.all(Array.from({ length: 16 }, (_, i) => (i % 2 ? other : k).fetch(u)));
      const ids = fetched.flatMap(oneTimeIds).filter((x) => x !== undefined);
      assert.equal(ids.length, 10, 'every key handed out');
      assert.equal(new Set(ids).size, 10, 'none twice');
      assert.equal(await k.remaining(`${u}.1`), 0);
    });

    it('never hands one one-time pre-key out twice while the device publishes again, across nodes', async () => {
      // A device replenishes (publishes again) while its contacts fetch: the
      // publish replaces the keys, and a claim that read the old ones must not
      // land on a key already handed out. The device keeps every private it
      // published, so a key from either upload is good once, never twice.
      const other = await h.peer();
      for (let round = 0; round < 12; round++) {
        const u = user();
        const device = `${u}.1`;
        const upload = (from: number) => ({ ...bundle('a', 0), oneTimePreKeys: Array.from({ length: 6 }, (_, i) => ({ id: from + i, key: b64(`k${from + i}`) })) });
        await k.publish(device, upload(100));
        const fetches = Array.from({ length: 10 }, (_, i) => (i % 2 ? other : k).fetch(u));
        const republish = (round % 2 ? other : k).publish(device, upload(200));
        const fetched = await Promise.all(fetches);
        await republish;
        const ids = fetched.flatMap(oneTimeIds).filter((x) => x !== undefined);
        assert.equal(new Set(ids).size, ids.length, `round ${round}: a key handed out twice: ${ids.join(',')}`);
      }
    });

    it('still hands out the signed pre-key once the one-time keys run out', async () => {
      const u = user();
      const b = bundle('a', 1);
      await k.publish(`${u}.1`, b);
      await k.fetch(u);
      const [got] = await k.fetch(u);
      assert.equal(got!.oneTimePreKey, undefined);
      assert.equal(got!.identityKey, b.identityKey);
      assert.deepEqual(got!.signedPreKey, b.signedPreKey);
      assert.equal(await k.remaining(`${u}.1`), 0);
    });

    it('publishes a bundle without one-time keys', async () => {
      const u = user();
      await k.publish(`${u}.1`, bundle('a', 0));
      const [got] = await k.fetch(u);
      assert.equal(got!.oneTimePreKey, undefined);
      assert.equal(got!.identityKey, bundle('a', 0).identityKey);
    });

    it('replaces the whole bundle when a device publishes again', async () => {
      const u = user();
      await k.publish(`${u}.1`, bundle('old', 3));
      const fresh = { ...bundle('new', 2), oneTimePreKeys: [{ id: 500, key: b64('n0') }, { id: 501, key: b64('n1') }] };
      await k.publish(`${u}.1`, fresh);
      assert.equal(await k.remaining(`${u}.1`), 2);
      const [got] = await k.fetch(u);
      assert.equal(got!.identityKey, fresh.identityKey);
      assert.deepEqual(got!.signedPreKey, fresh.signedPreKey);
      assert.ok([500, 501].includes(got!.oneTimePreKey!.id));
    });
  });
}
