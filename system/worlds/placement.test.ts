import assert from 'node:assert/strict';
import { firstChoice, pickNode, preferenceOrder } from './placement.ts';

describe('placement', () => {
  const nodes = ['ws://127.0.0.1:7001', 'ws://127.0.0.1:7002', 'ws://127.0.0.1:7003', 'ws://127.0.0.1:7004', 'ws://127.0.0.1:7005'];

  it('firstChoice is the head of the preference order, for every device', () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 5000; i++) {
      const device = `u${i}.d1`;
      const first = firstChoice(device, nodes);
      assert.equal(first, preferenceOrder(device, nodes)[0]);
      counts.set(first, (counts.get(first) ?? 0) + 1);
    }
    // Rendezvous hashing spreads devices over every node.
    assert.equal(counts.size, nodes.length);
    for (const n of counts.values()) assert.ok(n > 800 && n < 1200, `uneven spread: ${[...counts.values()]}`);
  });

  it('breaks a tie of weights by node name, as the preference order does', () => {
    assert.equal(firstChoice('u1.d1', ['b', 'b', 'a']), preferenceOrder('u1.d1', ['b', 'b', 'a'])[0]);
    assert.equal(firstChoice('u1.d1', ['n', 'n']), 'n');
  });

  it('pickNode walks the preference order by attempt and wraps around', () => {
    for (let i = 0; i < 200; i++) {
      const device = `u${i}.d2`;
      const order = preferenceOrder(device, nodes);
      for (let attempt = 0; attempt < 2 * nodes.length; attempt++) assert.equal(pickNode(device, nodes, attempt), order[attempt % nodes.length]);
    }
  });

  it('refuses an empty node list', () => {
    assert.throws(() => firstChoice('u1.d1', []), /no nodes/);
    assert.throws(() => pickNode('u1.d1', []), /no nodes/);
  });
});
