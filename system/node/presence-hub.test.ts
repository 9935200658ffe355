import assert from 'node:assert/strict';
import { Limits } from './limits.ts';
import { partContext, settle, type PartContext } from '../testing/node-harness.ts';
import { PresenceHub } from './presence-hub.ts';

function hubOf(ctx: PartContext): PresenceHub {
  const limits = new Limits({
    clock: ctx.clock, registry: ctx.ports.registry, opts: ctx.opts, metrics: ctx.metrics,
    reply: ctx.reply, sendRaw: ctx.sendRaw, close: ctx.close,
  });
  return new PresenceHub(ctx, limits);
}

/** `device` signed in here and registered on this node, as the registry would tell a sender. */
async function registered(ctx: PartContext, device: string) {
  await ctx.ports.registry.heartbeat(ctx.opts.nodeId, 60_000);
  await ctx.ports.registry.put(device, ctx.opts.nodeId);
  return ctx.signedIn(device);
}

/** A hub whose node holds bob.1, subscribed to alice, with alice just come online here. */
async function aliceOnlineForBob() {
  const ctx = partContext();
  const hub = hubOf(ctx);
  const bob = await registered(ctx, 'bob.1');
  await ctx.ports.presence.subscribe('bob.1', ['alice']);
  hub.cameOnline('alice');
  return { ctx, hub, bob };
}

describe('PresenceHub on a context of its own', () => {
  it('relays typing only to devices signed in here and welcomed', () => {
    const ctx = partContext();
    const hub = hubOf(ctx);
    const bob = ctx.signedIn('bob.1');
    const carol = ctx.signedIn('carol.1');
    carol.state = 'authenticating';
    const typing = JSON.stringify({ t: 'typing', from: 'alice', conv: 'd:alice:bob' });
    hub.relay(['bob.1', 'carol.1', 'dave.1'], typing, 'typing');
    assert.deepEqual(ctx.of(bob.id), [{ t: 'typing', from: 'alice', conv: 'd:alice:bob' }]);
    assert.deepEqual(ctx.of(carol.id), []);
  });

  it('tells subscribers a local user came online at the next flush', async () => {
    const { ctx, hub, bob } = await aliceOnlineForBob();
    await settle();
    hub.flush();
    await settle();
    assert.deepEqual(ctx.of(bob.id).map((f) => f.t === 'presence' && [f.user, f.online]), [['alice', true]]);
  });

  it('drops the changes it holds when it flushes while the node sheds load', async () => {
    const { ctx, hub, bob } = await aliceOnlineForBob();
    ctx.level = 1;
    hub.flush();
    ctx.level = 0;
    hub.flush();
    await settle();
    assert.deepEqual(ctx.of(bob.id), []);
  });

  it('sends no typing while the node sheds load', async () => {
    const ctx = partContext();
    const hub = hubOf(ctx);
    const alice = ctx.signedIn('alice.1');
    const bob = await registered(ctx, 'bob.1');
    await ctx.ports.accounts.addDevice('bob', 'bob.1');
    ctx.level = 1;
    await hub.onTyping(alice, 'bob');
    assert.deepEqual(ctx.of(bob.id), []);
    ctx.level = 0;
    await hub.onTyping(alice, 'bob');
    assert.deepEqual(ctx.of(bob.id), [{ t: 'typing', from: 'alice', conv: 'd:alice:bob' }]);
  });
});
