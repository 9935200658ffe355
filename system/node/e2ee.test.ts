import assert from 'node:assert/strict';
import type { ServerFrame } from '../protocol/frames.ts';
import { coreCluster, type CoreCluster } from '../testing/node-harness.ts';

type Err = Extract<ServerFrame, { t: 'error' }>;

const b64 = (bytes: number, fill = 1) => Buffer.alloc(bytes, fill).toString('base64url');
const bundle = (oneTime: number) => ({
  identityKey: b64(33),
  signedPreKey: { id: 1, key: b64(32), signature: b64(64) },
  oneTimePreKeys: Array.from({ length: oneTime }, (_, i) => ({ id: 100 + i, key: b64(32, i + 2) })),
});

/** Connects `devices` on node 0 and returns their connections by device id. */
async function online(c: CoreCluster, ...devices: string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const d of devices) out[d] = await c.connect(d);
  return out;
}

/** Signs `device` in once (so its user exists), then closes it. */
async function offline(c: CoreCluster, device: string): Promise<void> {
  const conn = await c.connect(device);
  c.nodes[0]!.node.onClose(conn);
  await c.settle();
}

describe('End-to-end encryption on the node (core, no sockets)', () => {
  describe('direct e2e send with bodies', () => {
    it('delivers each target device its own ciphertext, and the log keeps no device body', async () => {
      const c = await coreCluster();
      const on = await online(c, 'alice.1', 'alice.2', 'bob.1', 'bob.2');
      const t = c.nodes[0]!.transport;
      const bodies = { 'bob.1': 'Ym9iMQ', 'bob.2': 'Ym9iMg', 'alice.2': 'YWxpY2Uy' };
      await c.frame(on['alice.1']!, { t: 'send', cid: 'e1', to: 'bob', kind: 'e2e', bodies });
      const [ack] = t.take(on['alice.1']!, 'ack');
      assert.equal(ack?.cid, 'e1');
      for (const [device, body] of Object.entries(bodies)) {
        const msgs = t.take(on[device]!, 'msg');
        assert.deepEqual(msgs.map((m) => [m.mid, m.body, m.kind, m.from, m.conv]), [[ack!.mid, body, 'e2e', 'alice.1', 'd:alice:bob']], device);
      }
      assert.equal(t.take(on['alice.1']!, 'msg').length, 0, 'not the sending device');
      const [logged] = await c.ports.log.page('d:alice:bob', 0, 10);
      assert.equal((JSON.parse(logged!.frame) as { body: string }).body, '', 'the log keeps the send without any device ciphertext');
      // Each device acks its own copy: the sender's user gets one delivered receipt per recipient device.
      for (const d of ['bob.1', 'bob.2']) await c.frame(on[d]!, { t: 'recv', ids: [ack!.mid] });
      assert.deepEqual(t.take(on['alice.1']!, 'receipt').map((r) => r.by).sort(), ['bob.1', 'bob.2']);
    });

    it('keeps each offline device its own ciphertext in its inbox', async () => {
      const c = await coreCluster();
      const on = await online(c, 'alice.1');
      await offline(c, 'bob.1');
      await offline(c, 'bob.2');
      await c.frame(on['alice.1']!, { t: 'send', cid: 'e2', to: 'bob', kind: 'e2e', bodies: { 'bob.1': 'AAAA', 'bob.2': 'BBBB' } });
      assert.equal(c.nodes[0]!.transport.take(on['alice.1']!, 'ack').length, 1);
      for (const [d, body] of [['bob.1', 'AAAA'], ['bob.2', 'BBBB']]) {
        const [e] = await c.ports.inbox.page(d!, null, 10);
        assert.equal((JSON.parse(e!.frame) as { body: string }).body, body);
      }
    });

    it('answers devices_changed naming missing and stale devices, stores nothing, and takes the same cid again once fixed', async () => {
      const c = await coreCluster();
      const on = await online(c, 'alice.1', 'alice.2', 'bob.1', 'bob.2');
      const t = c.nodes[0]!.transport;
      const a = on['alice.1']!;
      await c.frame(a, { t: 'send', cid: 'e3', to: 'bob', kind: 'e2e', bodies: { 'bob.1': 'AAAA', 'bob.7': 'BBBB', 'carol.1': 'CCCC' } });
      const [err] = t.take(a, 'error') as Err[];
      assert.deepEqual(
        { code: err!.code, cid: err!.cid, retryable: err!.retryable, retryAfterMs: err!.retryAfterMs, missing: err!.missing, stale: err!.stale },
        { code: 'devices_changed', cid: 'e3', retryable: true, retryAfterMs: 0, missing: ['alice.2', 'bob.2'], stale: ['bob.7', 'carol.1'] },
      );
      assert.equal(t.take(a, 'ack').length, 0);
      assert.equal(await c.ports.sequencer.current('d:alice:bob'), 0, 'no seq taken');
      assert.deepEqual(await c.ports.log.page('d:alice:bob', 0, 10), []);
      for (const d of ['alice.2', 'bob.1', 'bob.2']) {
        assert.equal(await c.ports.inbox.count(d), 0, d);
        assert.equal(t.take(on[d]!, 'msg').length, 0, d);
      }
      await c.frame(a, { t: 'send', cid: 'e3', to: 'bob', kind: 'e2e', bodies: { 'bob.1': 'AAAA', 'bob.2': 'BBBB', 'alice.2': 'CCCC' } });
      const [ack] = t.take(a, 'ack');
      assert.equal(ack?.seq, 1);
      assert.equal(ack?.dup, undefined, 'the refused send left no dedup record');
      assert.deepEqual(t.take(on['bob.2']!, 'msg').map((m) => m.body), ['BBBB']);
    });

    it('answers devices_changed for a device listed but never signed in, and for a missing own device only', async () => {
      const c = await coreCluster();
      const on = await online(c, 'alice.1', 'alice.2', 'bob.1');
      await c.frame(on['alice.1']!, { t: 'send', cid: 'e4', to: 'bob', kind: 'e2e', bodies: { 'bob.1': 'AAAA' } });
      const [err] = c.nodes[0]!.transport.take(on['alice.1']!, 'error') as Err[];
      assert.deepEqual([err!.code, err!.missing, err!.stale], ['devices_changed', ['alice.2'], []]);
    });

    it('refuses a send naming an identity a device no longer has (reinstalled): devices_changed names it in changed', async () => {
      const c = await coreCluster();
      const on = await online(c, 'alice.1', 'bob.1');
      const t = c.nodes[0]!.transport;
      const a = on['alice.1']!;
      const old = { ...bundle(1), identityKey: b64(32, 7) };
      await c.frame(on['bob.1']!, { t: 'keys.publish', bundle: old });
      await c.frame(a, { t: 'send', cid: 'i1', to: 'bob', kind: 'e2e', bodies: { 'bob.1': 'AAAA' }, identities: { 'bob.1': old.identityKey } });
      assert.deepEqual(t.take(a, 'ack').map((k) => k.cid), ['i1'], 'the identity it was encrypted to is the published one');
      // Reinstalled: a new identity key.
      const fresh = { ...bundle(1), identityKey: b64(32, 9) };
      await c.frame(on['bob.1']!, { t: 'keys.publish', bundle: fresh });
      await c.frame(a, { t: 'send', cid: 'i2', to: 'bob', kind: 'e2e', bodies: { 'bob.1': 'BBBB' }, identities: { 'bob.1': old.identityKey } });
      const [err] = t.take(a, 'error') as Err[];
      assert.deepEqual([err!.code, err!.cid, err!.missing, err!.stale, err!.changed, err!.retryable], ['devices_changed', 'i2', [], [], ['bob.1'], true]);
      assert.equal(await c.ports.inbox.count('bob.1'), 1, 'nothing encrypted to the old identity was stored');
      await c.frame(a, { t: 'send', cid: 'i2', to: 'bob', kind: 'e2e', bodies: { 'bob.1': 'CCCC' }, identities: { 'bob.1': fresh.identityKey } });
      assert.deepEqual(t.take(a, 'ack').map((k) => k.cid), ['i1', 'i2'], 'the same cid goes through with the new identity');
    });

    it('refuses identities that name a device bodies does not, or are not keys', async () => {
      const c = await coreCluster();
      const on = await online(c, 'alice.1', 'bob.1');
      const a = on['alice.1']!;
      await c.frame(a, { t: 'send', cid: 'i3', to: 'bob', kind: 'e2e', bodies: { 'bob.1': 'AAAA' }, identities: { 'bob.2': b64(32) } });
      await c.frame(a, { t: 'send', cid: 'i4', to: 'bob', kind: 'e2e', bodies: { 'bob.1': 'AAAA' }, identities: { 'bob.1': 'short' } });
      await c.frame(a, { t: 'send', cid: 'i5', to: 'bob', body: 'hi', identities: { 'bob.1': b64(32) } });
      const errs = c.nodes[0]!.transport.take(a, 'error') as Err[];
      assert.deepEqual(errs.map((e) => [e.cid, e.code]), [['i3', 'bad_frame'], ['i4', 'bad_frame'], ['i5', 'bad_frame']]);
    });

    it('answers not_found for a user without devices, as any send', async () => {
      const c = await coreCluster();
      const on = await online(c, 'alice.1');
      await c.frame(on['alice.1']!, { t: 'send', cid: 'e5', to: 'nobody', kind: 'e2e', bodies: { 'nobody.1': 'AAAA' } });
      assert.equal((c.nodes[0]!.transport.take(on['alice.1']!, 'error')[0] as Err).code, 'not_found');
    });
  });

  describe('groups: group.devices and members versions', () => {
    async function team(c: CoreCluster) {
      const on = await online(c, 'alice.1', 'alice.2', 'bob.1', 'carol.1', 'carol.2', 'dave.1');
      await c.frame(on['alice.1']!, { t: 'group.create', name: 'team', gid: 'team', members: ['bob', 'carol'] });
      return on;
    }

    /** The team, with alice.1 holding its current version from group.devices. */
    async function teamAsAlice() {
      const c = await coreCluster();
      const on = await team(c);
      const t = c.nodes[0]!.transport;
      const a = on['alice.1']!;
      await c.frame(a, { t: 'group.devices', gid: 'team' });
      return { c, on, t, a, v1: t.take(a, 'group.devices')[0]!.version };
    }

    it('lists every device of every member with a version, to members only', async () => {
      const c = await coreCluster();
      const on = await team(c);
      const t = c.nodes[0]!.transport;
      await c.frame(on['bob.1']!, { t: 'group.devices', gid: 'team' });
      const [gd] = t.take(on['bob.1']!, 'group.devices');
      assert.deepEqual(gd!.devices.slice().sort(), ['alice.1', 'alice.2', 'bob.1', 'carol.1', 'carol.2']);
      assert.match(gd!.version, /^[A-Za-z0-9_-]{16}$/);
      await c.frame(on['alice.2']!, { t: 'group.devices', gid: 'team' });
      assert.equal(t.take(on['alice.2']!, 'group.devices')[0]!.version, gd!.version, 'the same member set has the same version');
      await c.frame(on['dave.1']!, { t: 'group.devices', gid: 'team' });
      await c.frame(on['dave.1']!, { t: 'group.devices', gid: 'nope' });
      assert.deepEqual((t.take(on['dave.1']!, 'error') as Err[]).map((e) => e.code), ['forbidden', 'not_found']);
    });

    it('takes a group e2e send at the current version and refuses the old one after a member left, storing nothing', async () => {
      const { c, on, t, a, v1 } = await teamAsAlice();
      await c.frame(a, { t: 'send', cid: 'g1', to: 'g:team', kind: 'e2e', body: 'c2stMQ', members: v1 });
      assert.equal(t.take(a, 'ack').length, 1);
      assert.deepEqual(t.take(on['carol.2']!, 'msg').map((m) => [m.body, m.kind]), [['c2stMQ', 'e2e']]);

      await c.frame(a, { t: 'group.remove', gid: 'team', users: ['carol'] });
      await c.frame(a, { t: 'send', cid: 'g2', to: 'g:team', kind: 'e2e', body: 'c2stMg', members: v1 });
      const [err] = t.take(a, 'error') as Err[];
      assert.deepEqual([err!.code, err!.cid, err!.retryable, err!.retryAfterMs], ['members_changed', 'g2', true, 0]);
      assert.equal(await c.ports.sequencer.current('g:team'), 1, 'no seq taken');
      assert.equal(t.take(on['bob.1']!, 'msg').length, 1, 'nothing new delivered');

      await c.frame(a, { t: 'group.devices', gid: 'team' });
      const [now] = t.take(a, 'group.devices').slice(-1);
      assert.notEqual(now!.version, v1);
      assert.ok(!now!.devices.includes('carol.1'));
      await c.frame(a, { t: 'send', cid: 'g2', to: 'g:team', kind: 'e2e', body: 'c2stMg', members: now!.version });
      const acks = t.take(a, 'ack');
      assert.deepEqual([acks.length, acks[1]!.seq, acks[1]!.dup], [2, 2, undefined]);
    });

    it("changes the version when a member's new device signs in, so the sender hears of it before that device gets a message it cannot read", async () => {
      const { c, on, t, a, v1 } = await teamAsAlice();
      const more = await online(c, 'bob.2');
      c.clock.advance(c.nodes[0]!.node.opts.directoryCacheMs + 1);
      await c.frame(a, { t: 'send', cid: 'g1', to: 'g:team', kind: 'e2e', body: 'c2stMQ', members: v1 });
      assert.deepEqual((t.take(a, 'error') as Err[]).map((e) => [e.code, e.cid]), [['members_changed', 'g1']]);
      assert.equal(t.take(more['bob.2']!, 'msg').length, 0, 'nothing reached the new device');
      await c.frame(a, { t: 'group.devices', gid: 'team' });
      const [now] = t.take(a, 'group.devices').slice(-1);
      assert.notEqual(now!.version, v1);
      assert.ok(now!.devices.includes('bob.2'));
      await c.frame(a, { t: 'send', cid: 'g1', to: 'g:team', kind: 'e2e', body: 'c2stMQ', members: now!.version });
      assert.equal(t.take(a, 'ack').length, 1);
      assert.equal(t.take(more['bob.2']!, 'msg').length, 1);
    });

    it('does not ask a non-e2e group send for a version', async () => {
      const c = await coreCluster();
      const on = await team(c);
      await c.frame(on['bob.1']!, { t: 'send', cid: 'p1', to: 'g:team', body: 'plain' });
      assert.equal(c.nodes[0]!.transport.take(on['bob.1']!, 'ack').length, 1);
    });
  });

  describe('keys.distribute', () => {
    it('stores a distribution for an offline member device, drains it on sign-in until acked, and names the stale devices', async () => {
      const c = await coreCluster();
      const on = await online(c, 'alice.1', 'alice.2', 'carol.1', 'dave.1');
      await offline(c, 'bob.1');
      const t = c.nodes[0]!.transport;
      const a = on['alice.1']!;
      await c.frame(a, { t: 'group.create', name: 'team', gid: 'team', members: ['bob', 'carol'] });
      const bodies = { 'bob.1': 'Ym9i', 'carol.1': 'Y2Fyb2w', 'alice.2': 'YTI', 'alice.1': 'c2VsZg', 'dave.1': 'ZGF2ZQ', 'bob.2': 'Ym9iMg' };
      await c.frame(a, { t: 'keys.distribute', cid: 'k1', gid: 'team', bodies });
      assert.deepEqual(t.take(a, 'keys.distributed'), [{ t: 'keys.distributed', cid: 'k1', stale: ['alice.1', 'bob.2', 'dave.1'] }]);
      const [live] = t.take(on['carol.1']!, 'skdm');
      assert.deepEqual({ ...live, id: undefined, ts: undefined }, { t: 'skdm', id: undefined, from: 'alice.1', gid: 'team', body: 'Y2Fyb2w', ts: undefined });
      assert.match(live!.id, /^[0-9a-f]{18}$/);
      assert.deepEqual(t.take(on['alice.2']!, 'skdm').map((s) => s.body), ['YTI'], "the sender's other device");
      assert.equal(t.take(on['dave.1']!, 'skdm').length, 0, 'not a member');
      assert.equal(await c.ports.inbox.count('dave.1'), 0);
      assert.equal(await c.ports.inbox.count('bob.1'), 1);
      assert.equal(c.ports.push.wakesOf('bob.1'), 0, 'a distribution wakes no one, as a receipt');

      const b = await c.connect('bob.1');
      const [drained] = t.take(b, 'skdm');
      assert.deepEqual([drained!.id, drained!.from, drained!.gid, drained!.body], [live!.id, 'alice.1', 'team', 'Ym9i']);
      await c.frame(b, { t: 'recv', ids: [drained!.id] });
      assert.deepEqual(t.take(b, 'drained'), [{ t: 'drained', count: 1 }], 'the drain page ends once acked');
      assert.equal(await c.ports.inbox.count('bob.1'), 0, 'acked with recv');
      assert.equal(t.take(on['alice.1']!, 'receipt').length, 0, 'an acked distribution sets off no receipt');
      await c.frame(on['carol.1']!, { t: 'recv', ids: [live!.id] });
      assert.equal(await c.ports.inbox.count('carol.1'), 0);
    });

    it('redelivers a distribution the bus lost to a device on another node', async () => {
      const c = await coreCluster(2);
      const a = await c.connect('alice.1', 0);
      const b = await c.connect('bob.1', 1);
      await c.frame(a, { t: 'group.create', name: 'team', gid: 'team', members: ['bob'] }, 0);
      let dropped = 0;
      c.ports.bus.setFilter((_node, env) => !(env.k === 'deliver' && env.item.kind === 'skdm' && dropped++ === 0));
      await c.frame(a, { t: 'keys.distribute', cid: 'k2', gid: 'team', bodies: { 'bob.1': 'Ym9i' } }, 0);
      assert.equal(c.nodes[0]!.transport.take(a, 'keys.distributed').length, 1);
      assert.equal(c.nodes[1]!.transport.take(b, 'skdm').length, 0, 'the envelope was lost');
      for (let i = 0; i < 4; i++) {
        c.clock.advance(1000);
        await c.settle();
      }
      assert.deepEqual(c.nodes[1]!.transport.take(b, 'skdm').map((s) => s.body), ['Ym9i']);
    });

    it('refuses a non-member and an unknown group with the cid, storing nothing', async () => {
      const c = await coreCluster();
      const on = await online(c, 'alice.1', 'bob.1', 'dave.1');
      await c.frame(on['alice.1']!, { t: 'group.create', name: 'team', gid: 'team', members: ['bob'] });
      await c.frame(on['dave.1']!, { t: 'keys.distribute', cid: 'x1', gid: 'team', bodies: { 'bob.1': 'Ym9i' } });
      await c.frame(on['dave.1']!, { t: 'keys.distribute', cid: 'x2', gid: 'nope', bodies: { 'bob.1': 'Ym9i' } });
      const errs = c.nodes[0]!.transport.take(on['dave.1']!, 'error') as Err[];
      assert.deepEqual(errs.map((e) => [e.code, e.cid]), [['forbidden', 'x1'], ['not_found', 'x2']]);
      assert.equal(await c.ports.inbox.count('bob.1'), 0);
    });

    it('answers unavailable with the cid when the inbox fails, and nothing is distributed', async () => {
      const c = await coreCluster();
      const on = await online(c, 'alice.1', 'bob.1');
      await c.frame(on['alice.1']!, { t: 'group.create', name: 'team', gid: 'team', members: ['bob'] });
      c.faults.inbox.failNext('put');
      await c.frame(on['alice.1']!, { t: 'keys.distribute', cid: 'f1', gid: 'team', bodies: { 'bob.1': 'Ym9i' } });
      const t = c.nodes[0]!.transport;
      assert.deepEqual((t.take(on['alice.1']!, 'error') as Err[]).map((e) => [e.code, e.cid, e.retryable]), [['unavailable', 'f1', true]]);
      assert.equal(t.take(on['alice.1']!, 'keys.distributed').length, 0);
      assert.equal(t.take(on['bob.1']!, 'skdm').length, 0);
    });
  });

  describe('keys.introduce', () => {
    it('stores an introduction for any current device of any user, drains it on sign-in until acked, and names the stale devices', async () => {
      const c = await coreCluster();
      const on = await online(c, 'alice.1', 'alice.2', 'carol.1');
      await offline(c, 'bob.1');
      const t = c.nodes[0]!.transport;
      const a = on['alice.1']!;
      const bodies = { 'bob.1': 'Ym9i', 'carol.1': 'Y2Fyb2w', 'alice.2': 'YTI', 'alice.1': 'c2VsZg', 'nobody.1': 'bm8', 'bob.2': 'Ym9iMg' };
      await c.frame(a, { t: 'keys.introduce', cid: 'i1', bodies });
      assert.deepEqual(t.take(a, 'keys.introduced'), [{ t: 'keys.introduced', cid: 'i1', stale: ['alice.1', 'bob.2', 'nobody.1'] }]);
      const [live] = t.take(on['carol.1']!, 'intro');
      assert.deepEqual({ ...live, id: undefined, ts: undefined }, { t: 'intro', id: undefined, from: 'alice.1', body: 'Y2Fyb2w', ts: undefined });
      assert.match(live!.id, /^[0-9a-f]{18}$/);
      assert.deepEqual(t.take(on['alice.2']!, 'intro').map((s) => s.body), ['YTI'], "the sender's other device");
      assert.equal(await c.ports.inbox.count('bob.1'), 1);
      assert.equal(c.ports.push.wakesOf('bob.1'), 0, 'an introduction wakes no one, as a receipt');

      const b = await c.connect('bob.1');
      const [drained] = t.take(b, 'intro');
      assert.deepEqual([drained!.id, drained!.from, drained!.body], [live!.id, 'alice.1', 'Ym9i']);
      await c.frame(b, { t: 'recv', ids: [drained!.id] });
      assert.deepEqual(t.take(b, 'drained'), [{ t: 'drained', count: 1 }], 'the drain page ends once acked');
      assert.equal(await c.ports.inbox.count('bob.1'), 0, 'acked with recv');
      assert.equal(t.take(a, 'receipt').length, 0, 'an acked introduction sets off no receipt');
      assert.equal(t.take(a, 'msg').length + t.take(b, 'msg').length, 0, 'no message in any conversation');
    });

    it('redelivers an introduction the bus lost to a device on another node', async () => {
      const c = await coreCluster(2);
      const a = await c.connect('alice.1', 0);
      const b = await c.connect('bob.1', 1);
      let dropped = 0;
      c.ports.bus.setFilter((_node, env) => !(env.k === 'deliver' && env.item.kind === 'intro' && dropped++ === 0));
      await c.frame(a, { t: 'keys.introduce', cid: 'i2', bodies: { 'bob.1': 'Ym9i' } }, 0);
      assert.equal(c.nodes[0]!.transport.take(a, 'keys.introduced').length, 1);
      assert.equal(c.nodes[1]!.transport.take(b, 'intro').length, 0, 'the envelope was lost');
      for (let i = 0; i < 4; i++) {
        c.clock.advance(1000);
        await c.settle();
      }
      assert.deepEqual(c.nodes[1]!.transport.take(b, 'intro').map((s) => s.body), ['Ym9i']);
    });

    it('answers unavailable with the cid when the inbox fails, and nothing is introduced', async () => {
      const c = await coreCluster();
      const on = await online(c, 'alice.1', 'bob.1');
      c.faults.inbox.failNext('put');
      await c.frame(on['alice.1']!, { t: 'keys.introduce', cid: 'f1', bodies: { 'bob.1': 'Ym9i' } });
      const t = c.nodes[0]!.transport;
      assert.deepEqual((t.take(on['alice.1']!, 'error') as Err[]).map((e) => [e.code, e.cid, e.retryable]), [['unavailable', 'f1', true]]);
      assert.equal(t.take(on['alice.1']!, 'keys.introduced').length, 0);
      assert.equal(t.take(on['bob.1']!, 'intro').length, 0);
    });
  });

  describe('keys.count and keys.fetch of several users', () => {
    it('counts the asking device\'s one-time pre-keys left', async () => {
      const c = await coreCluster();
      const on = await online(c, 'alice.1', 'bob.1');
      const t = c.nodes[0]!.transport;
      await c.frame(on['bob.1']!, { t: 'keys.count' });
      await c.frame(on['bob.1']!, { t: 'keys.publish', bundle: bundle(2) });
      await c.frame(on['bob.1']!, { t: 'keys.count' });
      await c.frame(on['alice.1']!, { t: 'keys.fetch', user: 'bob' });
      await c.frame(on['bob.1']!, { t: 'keys.count' });
      assert.deepEqual(t.take(on['bob.1']!, 'keys.count').map((k) => k.remaining), [0, 2, 1]);
    });

    it('fetches the bundles of several users at once, a user named twice once', async () => {
      const c = await coreCluster();
      const on = await online(c, 'alice.1', 'bob.1', 'bob.2', 'carol.1');
      for (const d of ['bob.1', 'bob.2', 'carol.1']) await c.frame(on[d]!, { t: 'keys.publish', bundle: bundle(1) });
      const t = c.nodes[0]!.transport;
      await c.frame(on['alice.1']!, { t: 'keys.fetch', users: ['bob', 'carol', 'bob', 'nobody'] });
      const [k] = t.take(on['alice.1']!, 'keys');
      assert.deepEqual(k!.users, ['bob', 'carol', 'nobody']);
      const got = k!.bundles as { device: string; oneTimePreKey?: unknown }[];
      assert.deepEqual(got.map((b) => b.device).sort(), ['bob.1', 'bob.2', 'carol.1']);
      assert.ok(got.every((b) => b.oneTimePreKey !== undefined), 'one one-time pre-key per device, handed out once');
      assert.equal(await c.ports.keys.remaining('bob.1'), 0);
    });

    it("answers a fetch of the asker's own user with its other devices' bundles, spending none of its own pre-keys", async () => {
      const c = await coreCluster();
      const on = await online(c, 'bob.1', 'bob.2');
      for (const d of ['bob.1', 'bob.2']) await c.frame(on[d]!, { t: 'keys.publish', bundle: bundle(2) });
      const t = c.nodes[0]!.transport;
      await c.frame(on['bob.1']!, { t: 'keys.fetch', users: ['bob'] });
      await c.frame(on['bob.1']!, { t: 'keys.fetch', user: 'bob' });
      // The first `keys` answered the publish.
      const answers = (t.take(on['bob.1']!, 'keys') as { bundles: { device: string }[] }[]).slice(1);
      assert.deepEqual(answers.map((k) => k.bundles.map((b) => b.device)), [['bob.2'], ['bob.2']]);
      assert.equal(await c.ports.keys.remaining('bob.1'), 2);
      assert.equal(await c.ports.keys.remaining('bob.2'), 0);
    });
  });
});
