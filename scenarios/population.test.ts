import assert from 'node:assert/strict';
import { applyOverrides } from './engine/config.ts';
import { Population } from './population.ts';
import { loadScenario } from './registry.ts';

describe('Population', () => {
  async function population(devices: number, devicesPerUser: number): Promise<Population> {
    return new Population(applyOverrides(await loadScenario('group-fanout'), { devices, devicesPerUser }), 3, 't');
  }

  it('reads device and user ids back to their indexes, and nothing else', async () => {
    const p = await population(41, 2);
    for (let d = 0; d < 41; d++) assert.equal(p.deviceIndex(p.deviceId(d)), d);
    for (let u = 0; u < 21; u++) assert.equal(p.userIndex(p.userId(u)), u);
    assert.equal(p.deviceIndex('t-u20.2'), -1, 'past the population');
    for (const bad of ['t-u3', 't-u3.', 't-u.1', 't-u3.1x', 'x-u3.1', 't-u3.1.1', 'tt-u3.1', 't-u-3.1', '']) assert.equal(p.deviceIndex(bad), -1, bad);
    for (const bad of ['t-u', 't-u3.1', 't-u3x', 'x-u3', 'u3', '']) assert.equal(p.userIndex(bad), -1, bad);
  });

  it('owes a direct message to every device of the recipient and the sender\'s other devices', async () => {
    const p = await population(40, 2);
    // Device 5 is user 2's second device; user 7 has devices 14 and 15.
    assert.deepEqual(p.recipients(5, p.userId(7)), [14, 15, 4]);
    assert.deepEqual(p.recipients(4, p.userId(7)), [14, 15, 5]);
  });

  it('owes a message to oneself to one\'s other devices only, once each', async () => {
    const p = await population(40, 2);
    assert.deepEqual(p.recipients(5, p.userId(2)), [4]);
    const single = await population(40, 1);
    assert.deepEqual(single.recipients(5, single.userId(5)), []);
    assert.deepEqual(single.recipients(5, single.userId(9)), [9]);
  });

  it('leaves out devices past the population (a last user with fewer devices)', async () => {
    const p = await population(41, 2);
    assert.deepEqual(p.devicesOfUser(20), [40]);
    assert.deepEqual(p.recipients(0, p.userId(20)), [40, 1]);
  });

  it('owes a group message to each member\'s devices but the sending device', async () => {
    const p = await population(40, 2);
    const g = p.groups[0]!;
    const sender = g.members[0]! * 2;
    const want = g.members.flatMap((u) => p.devicesOfUser(u)).filter((d) => d !== sender);
    assert.deepEqual(p.recipients(sender, `g:${g.gid}`), want);
    assert.deepEqual(p.recipients(sender, 'g:nope'), []);
  });

  it('puts exactly the share of users in a timeline cohort, the same set for the same name and seed', async () => {
    const burst = await loadScenario('offline-burst');
    for (const seed of [1, 2, 3]) {
      const p = new Population(burst, seed, 't');
      const half = p.cohort('burst', 0.5);
      assert.equal(half.size, 20, `seed ${seed}: half of 40 users`);
      assert.deepEqual([...new Population(burst, seed, 'other').cohort('burst', 0.5)].sort(), [...half].sort());
      assert.equal([...half].filter((u) => p.inCohort(u, 'burst', 0.5)).length, 20);
    }
    const p = await population(40, 1);
    assert.equal(p.cohort('background', 0.05).size, 2);
    assert.equal(p.cohort('all', 1).size, 40);
  });
});
